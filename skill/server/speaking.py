"""Speaking answers at the edge: the one place the doors call the skill's text-to-speech."""

from __future__ import annotations

import base64
from typing import Protocol

from skill.app import Skill

from .errors import TtsUnavailable
from .metrics import Metrics
from .schemas import SpokenAudio


class SpeechLike(Protocol):
    wav: bytes
    sample_rate: int

    @property
    def pcm(self) -> bytes: ...


def can_speak(skill: Skill) -> bool:
    return hasattr(skill, "speak")


async def speak(skill: Skill, metrics: Metrics, text: str, sample_rate: int | None = None) -> SpeechLike:
    if not can_speak(skill):
        raise TtsUnavailable("text-to-speech is not available in this build")
    with metrics.timed("speak"):
        speech: SpeechLike = await skill.speak(text, sample_rate)  # type: ignore[attr-defined]
    return speech


def as_json_audio(speech: SpeechLike) -> SpokenAudio:
    return SpokenAudio(sample_rate=speech.sample_rate, wav_base64=base64.b64encode(speech.wav).decode("ascii"))
