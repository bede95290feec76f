"""The synthesizer against the real engine (pyttsx3 + espeak-ng in a worker process)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
import time
import wave
from pathlib import Path

import pytest
from tts_helpers import within

from skill.errors import InputError, OutputError, OverloadedError, SynthesisError
from skill.tts import Synthesizer, TtsSettings, save_speech
from skill.tts.speech import Speech

pytestmark = [pytest.mark.asyncio, pytest.mark.filterwarnings("error")]

ANSWER = "Yes. Low B12 can cause nerve pain. Please check with your doctor."


def wav_info(data: bytes) -> tuple[int, int, int, int]:
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()


async def test_wav_is_valid_at_engine_rate(tts: Synthesizer) -> None:
    speech = await within(tts.synthesize(ANSWER))
    rate, channels, width, frames = wav_info(speech.wav)
    assert (rate, channels, width) == (22050, 1, 2)
    assert speech.sample_rate == 22050 and not speech.cached
    assert speech.duration == pytest.approx(frames / 22050)
    assert 2.5 < speech.duration < 8.0
    assert max(abs(s) for s in memoryview(speech.pcm).cast("h")) > 1000  # not silence


async def test_16_khz_for_smart_speakers(tts: Synthesizer) -> None:
    native = await within(tts.synthesize(ANSWER))
    speech = await within(tts.synthesize(ANSWER, sample_rate=16000))
    assert wav_info(speech.wav)[:3] == (16000, 1, 2)
    assert speech.duration == pytest.approx(native.duration, rel=0.03)


async def test_default_rate_from_settings(tmp_path: Path) -> None:
    async with Synthesizer(TtsSettings(cache_dir=tmp_path, sample_rate=16000)) as tts:
        speech = await within(tts.synthesize("Hello."))
    assert speech.sample_rate == 16000


@pytest.mark.parametrize("text", ["", "   ", "\U0001f642\U0001f44d", "\x00\x07"])
async def test_empty_text_is_input_error(tts: Synthesizer, text: str) -> None:
    with pytest.raises(InputError, match="nothing to say"):
        await within(tts.synthesize(text))


async def test_emoji_and_control_chars_say_the_clean_text(tts: Synthesizer) -> None:
    clean = await within(tts.synthesize("Yes, it can ache."))
    messy = await within(tts.synthesize("Yes\x07, \U0001f489it can\u200d ache. \U0001f642\U0001f3fd"))
    assert messy.cached and messy.wav == clean.wav  # same speech text, so the same audio


async def test_100_kb_text(tts: Synthesizer) -> None:
    text = ("Low B12 can cause nerve pain. " * 3500)[:100_000] + " Please check with your doctor."
    started = time.perf_counter()
    with pytest.raises(InputError, match="too long"):  # refused, never cut short
        await within(tts.synthesize(text))
    assert time.perf_counter() - started < 2.0
    # stream() speaks it piece by piece: the first audio comes at once, and it can be abandoned.
    chunks = tts.stream(text, sample_rate=16000, chunk_ms=100)
    first = await within(anext(chunks), 5)
    assert len(first) == 3200
    await within(chunks.aclose())
    assert (await within(tts.synthesize("Still fine."))).duration > 0.3


async def test_stream_matches_synthesize(tts: Synthesizer) -> None:
    async def collect() -> list[bytes]:
        return [c async for c in tts.stream(ANSWER, sample_rate=16000, chunk_ms=50)]

    fresh = await within(collect())
    assert all(len(c) == 1600 for c in fresh[:-1])
    speech = await within(tts.synthesize(ANSWER, sample_rate=16000))
    assert speech.cached and speech.pcm == b"".join(fresh)  # the stream filled the cache


async def test_unknown_voice_is_input_error_naming_it(tts: Synthesizer) -> None:
    with pytest.raises(InputError, match="klingon-xx"):
        await within(tts.synthesize("Hello.", voice="klingon-xx"))
    voices = await within(tts.voices())
    assert any(v.id == "gmw/en-us" for v in voices)
    assert (await within(tts.synthesize("Hello.", voice="en-gb-scotland"))).duration > 0.2


async def test_unwritable_output_path_is_output_error(tts: Synthesizer, tmp_path: Path) -> None:
    speech = await within(tts.synthesize("Hello."))
    for bad in (tmp_path / "no" / "such" / "dir" / "out.wav", tmp_path, Path("/proc/out.wav")):
        with pytest.raises(OutputError, match="cannot write speech"):
            save_speech(speech, bad)
    good = save_speech(speech, tmp_path / "out.wav")
    assert good.read_bytes() == speech.wav
    assert not list(tmp_path.glob("*.part"))  # noqa: ASYNC240 - a test, tmpfs


async def test_worker_killed_mid_sentence_then_recovers(tts: Synthesizer) -> None:
    pid = tts.worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # freeze it so the request is surely in flight when it dies
    task = asyncio.create_task(tts.synthesize(ANSWER + " One more time."))
    await asyncio.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    try:
        speech = await within(task)  # retried on a fresh worker
        assert speech.duration > 2.5
    except SynthesisError:
        pass  # also acceptable: failed clearly
    assert tts.worker_pid not in (None, pid)
    assert (await within(tts.synthesize("The next one works."))).duration > 0.5


async def test_hung_worker_is_killed_and_request_retried(tmp_path: Path) -> None:
    async with Synthesizer(TtsSettings(cache_dir=tmp_path, timeout_s=1.0)) as tts:
        pid = tts.worker_pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # a hang: alive but silent
        started = time.perf_counter()
        speech = await within(tts.synthesize("Are you there?"), 10)
        assert 1.0 <= time.perf_counter() - started < 5.0
        assert speech.duration > 0.5 and tts.worker_starts == 2


async def test_worker_that_keeps_dying_fails_clearly(tmp_path: Path) -> None:
    voice = {"id": "gmw/en-us", "name": "x", "languages": ["en-us"]}
    ready = json.dumps({"type": "ready", "voices": [voice], "sample_rate": 22050})
    script = f"import sys; print({ready!r}, flush=True); sys.stdin.readline(); sys.exit(3)"
    dying = [sys.executable, "-c", script]
    async with Synthesizer(TtsSettings(cache_dir=tmp_path), worker_command=dying) as tts:
        with pytest.raises(SynthesisError, match="exited"):
            await within(tts.synthesize("Hello."))
        assert tts.worker_starts == 2  # restarted once, then gave up


async def test_twenty_requests_at_once_each_get_their_own_audio(tmp_path: Path, tts: Synthesizer) -> None:
    texts = [" ".join(["apple"] * (i + 1)) + "." for i in range(20)]
    reference = [await within(tts.synthesize(t)) for t in texts]
    no_cache = TtsSettings(cache_dir=tmp_path / "other", cache_max_mb=0, memory_cache_mb=0)
    async with Synthesizer(no_cache) as fresh:
        # A correctness test, not a timed one: the bound only catches a hang.
        results: list[Speech] = await within(asyncio.gather(*(fresh.synthesize(t) for t in texts)), 60)
    durations = [s.duration for s in results]
    assert durations == sorted(durations) and len(set(durations)) == 20  # longer text, longer audio
    for got, want in zip(results, reference, strict=True):
        assert not got.cached
        assert got.duration == pytest.approx(want.duration, abs=0.01)


async def test_cache_hit_is_fast_and_identical(settings: TtsSettings, tts: Synthesizer) -> None:
    first = await within(tts.synthesize(ANSWER, sample_rate=16000))
    started = time.perf_counter()
    again = await within(tts.synthesize(ANSWER, sample_rate=16000))
    assert time.perf_counter() - started < 0.005
    assert again.cached and again.wav == first.wav
    async with Synthesizer(settings) as other:  # a new process reads the disk cache
        started = time.perf_counter()
        from_disk = await within(other.synthesize(ANSWER, sample_rate=16000))
        assert time.perf_counter() - started < 0.05
    assert from_disk.cached and from_disk.wav == first.wav


async def test_cancelled_request_never_leaks_its_audio_into_the_next(tts: Synthesizer) -> None:
    pid = tts.worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    abandoned = asyncio.create_task(tts.synthesize(" ".join(["long"] * 60) + "."))
    await asyncio.sleep(0.2)
    abandoned.cancel()  # barge-in: the caller gives up while the worker holds the request
    os.kill(pid, signal.SIGCONT)
    short = await within(tts.synthesize("Hi."))
    assert short.duration < 1.5 and tts.worker_pid == pid  # its own audio, same worker
    with pytest.raises(asyncio.CancelledError):
        await abandoned


async def test_too_many_waiting_is_overloaded(tmp_path: Path) -> None:
    settings = TtsSettings(cache_dir=tmp_path, max_queue=2, cache_max_mb=0, memory_cache_mb=0)
    async with Synthesizer(settings) as tts:
        results = await within(
            asyncio.gather(*(tts.synthesize(f"Number {i}.") for i in range(6)), return_exceptions=True)
        )
    assert any(isinstance(r, OverloadedError) for r in results)
    assert any(isinstance(r, Speech) for r in results)


async def test_close_does_not_wait_for_a_hung_request(tmp_path: Path) -> None:
    tts = Synthesizer(TtsSettings(cache_dir=tmp_path, timeout_s=30))
    await within(tts.start())
    pid = tts.worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    pending = asyncio.create_task(tts.synthesize("Hello."))
    await asyncio.sleep(0.2)
    await within(tts.close(), 2)
    with pytest.raises(SynthesisError, match="closed"):
        await within(pending, 2)
