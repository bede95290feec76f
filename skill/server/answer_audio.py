"""An answer's audio at the network doors: the one place they call the skill's text-to-speech, and its JSON form."""

from __future__ import annotations

import base64

from skill.app import Skill
from skill.tts import Speech

from .metrics import Metrics
from .schemas import SpokenAudio


async def speak(skill: Skill, metrics: Metrics, text: str, sample_rate: int | None = None) -> Speech:
    with metrics.timed("speak"):
        return await skill.speak(text, sample_rate)


def as_json_audio(speech: Speech) -> SpokenAudio:
    return SpokenAudio(sample_rate=speech.sample_rate, wav_base64=base64.b64encode(speech.wav).decode("ascii"))
