"""Endpointer and microphone plumbing, fed from fake sources (no sound card here)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from skill.audio.endpoint import Endpointer, NoSpeech, Utterance, capture_utterance
from skill.audio.mic import find_input_device, microphone_chunks
from skill.audio.pcm import decode_wav
from skill.audio.speech_frames import SpeechEnd
from skill.errors import AudioError

pytestmark = pytest.mark.asyncio
T = 5.0


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = tmp_path_factory.mktemp("ep") / "q.wav"
    subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(out), "what are the symptoms of b twelve deficiency"],
        check=True,
        timeout=30,
    )
    return decode_wav(out)


def quiet(seconds: float) -> bytes:
    # low-level noise, not digital zeros: a real room is never exactly silent
    return np.random.default_rng(1).normal(0, 30, int(16000 * seconds)).astype("<i2").tobytes()


async def chunks(pcm: bytes, size: int = 960) -> AsyncIterator[bytes]:
    for i in range(0, len(pcm), size):
        yield pcm[i : i + size]
        await asyncio.sleep(0)


async def test_utterance_ends_about_one_second_after_speech(speech: bytes) -> None:
    stream = quiet(1.0) + speech + quiet(5.0)
    ep = Endpointer(end_silence_s=1.0)
    result = await asyncio.wait_for(capture_utterance(chunks(stream), ep), T)
    assert isinstance(result, Utterance)
    assert ep.state == "ended"
    speech_s = len(speech) / 32000
    got_s = len(result.pcm) / 32000
    assert speech_s + 0.7 <= got_s <= speech_s + 0.3 + 1.6  # pre-roll + ~1 s of trailing quiet
    assert 0.6 <= result.speech_start_s <= 1.3


async def test_silence_times_out() -> None:
    ep = Endpointer(no_speech_timeout_s=2.0)
    result = await asyncio.wait_for(capture_utterance(chunks(quiet(5.0)), ep), T)
    assert isinstance(result, NoSpeech) and ep.state == "timeout"
    assert result.waited_s == pytest.approx(2.0, abs=0.05)


async def test_source_ending_mid_speech_returns_what_was_heard(speech: bytes) -> None:
    result = await asyncio.wait_for(capture_utterance(chunks(speech[: len(speech) // 2]), Endpointer()), T)
    assert isinstance(result, Utterance) and result.pcm


async def test_no_input_device_is_a_clear_error() -> None:
    fake_sd = SimpleNamespace(query_devices=lambda: [{"name": "hdmi", "max_input_channels": 0}])
    with pytest.raises(AudioError, match="no microphone found"):
        find_input_device(fake_sd)  # type: ignore[arg-type]
    with pytest.raises(AudioError, match="no microphone found"):
        await asyncio.wait_for(anext(microphone_chunks(sd=fake_sd)), T)  # type: ignore[arg-type]


async def test_no_portaudio_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    def broken(name: str) -> Any:
        raise OSError("PortAudio library not found")

    monkeypatch.setattr(importlib, "import_module", broken)
    with pytest.raises(AudioError, match="no microphone found: the PortAudio library"):
        await asyncio.wait_for(anext(microphone_chunks()), T)


async def test_microphone_chunks_cross_threads(speech: bytes) -> None:
    class FakeStream:
        def __init__(self, callback: Any, blocksize: int, **kw: Any) -> None:
            self.callback, self.blocksize, self.stopped = callback, blocksize, threading.Event()

        def start(self) -> None:
            def run() -> None:  # like PortAudio: calls back from its own thread
                for i in range(0, len(speech), self.blocksize * 2):
                    if self.stopped.is_set():
                        return
                    self.callback(speech[i : i + self.blocksize * 2], self.blocksize, None, None)

            threading.Thread(target=run, daemon=True).start()

        def stop(self) -> None:
            self.stopped.set()

        def close(self) -> None:
            pass

    fake_sd = SimpleNamespace(
        query_devices=lambda: [{"name": "USB mic", "max_input_channels": 1}],
        RawInputStream=FakeStream,
    )
    got = b""
    mic = microphone_chunks(device="usb", sd=fake_sd)  # type: ignore[arg-type]
    async for chunk in mic:
        got += chunk
        if len(got) >= len(speech) // 2:
            break
    await asyncio.wait_for(mic.aclose(), T)
    assert got == speech[: len(got)]


async def test_steady_white_noise_does_not_hold_the_mic_open() -> None:
    noise = np.random.default_rng(2).normal(0, 1000, 16000 * 10).astype("<i2").tobytes()
    ep = Endpointer(no_speech_timeout_s=3.0, max_utterance_s=30.0)
    await asyncio.wait_for(capture_utterance(chunks(noise), ep), T)
    assert ep.done  # either never started or ended once the floor caught up


async def test_speech_end_follows_the_last_speech_frame(speech: bytes) -> None:
    ends = SpeechEnd()
    ends.feed(quiet(0.5))
    assert ends.speech_end == 0 and ends.silence_s == 0.0
    for i in range(0, len(speech), 1000):  # odd chunk sizes: frames straddle chunks
        ends.feed(speech[i : i + 1000])
    ends.feed(quiet(1.0))
    assert 0.9 <= ends.silence_s <= 1.4  # the voice's own quiet tail counts as silence too
    assert ends.speech_end >= 16000 + len(speech) // 2  # speech went on past its middle


async def test_a_complete_question_ends_early_and_more_speech_cancels_that(speech: bytes) -> None:
    from skill.audio.endpoint import Endpointer

    def silence_until_end(complete_after_s: float | None, more_speech: bool = False) -> float:
        ep = Endpointer(end_silence_s=1.0, early_end_silence_s=0.4)
        ep.feed(speech)
        assert ep.state == "speech"
        fed = 0.0
        for _ in range(100):
            if complete_after_s is not None and fed >= complete_after_s:
                ep.complete, complete_after_s = True, None  # the caller says so once, from a settled partial
            if more_speech:
                ep.feed(speech)  # they go on talking: the early end no longer holds
                more_speech = False
            if ep.feed(quiet(0.1)) == "ended":
                return fed + 0.1
            fed += 0.1
        return fed

    # Measured from the end of the clip, which ends with a little quiet of its own.
    assert 0.7 <= silence_until_end(None) <= 1.1
    assert silence_until_end(0.3) <= 0.5
    assert silence_until_end(0.0, more_speech=True) >= 0.7
