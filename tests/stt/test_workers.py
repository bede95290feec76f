"""The service's worker processes, on real speech: loop lag, crash and hang recovery, determinism.
Every await has a timeout."""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from skill.audio.pcm import decode_wav
from skill.errors import RecognitionError
from skill.settings.stt import SttSettings
from skill.stt.base import FinalResult
from skill.stt.pocketsphinx_engine import PocketsphinxEngine
from skill.stt.service import SpeechService

pytestmark = pytest.mark.asyncio
T = 20.0
Synth = Callable[[str], Path]
QUESTIONS = [
    "can b twelve make me ache",
    "what are the symptoms of b twelve deficiency",
    "how long does the pain last",
    "does b twelve cause joint pain",
]
CHUNK = 3200  # 100 ms


def reaped(pid: int) -> bool:
    """True when `pid` is no child of ours any more (exited and waited for). Never blocks."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


async def stream_through(service: SpeechService, pcm: bytes) -> FinalResult:
    async with service.open_stream() as stream:
        for i in range(0, len(pcm), CHUNK):
            await asyncio.wait_for(stream.feed(pcm[i : i + CHUNK]), T)
        return await asyncio.wait_for(stream.finish(), T)


async def test_loop_lag_stays_low_with_four_streams(ps_engine: PocketsphinxEngine, piper: Synth) -> None:
    """Before (thread pool) the same load gave 167-310 ms max lag. The bound is p99 < 50 ms and
    max < 150 ms rather than max < 50 ms: on a shared 2-CPU machine the parent and two busy
    workers compete for cores, so one scheduler hiccup can exceed 50 ms without the loop ever
    running engine code (bench/stt_bench.py reports the max on a quiet machine)."""
    pcms = [decode_wav(piper(q)) for q in QUESTIONS]
    async with SpeechService(ps_engine, SttSettings(max_concurrent_decodes=2)) as service:
        await asyncio.wait_for(service.transcribe(pcms[0]), T)  # workers up: we measure decoding
        lags: list[float] = []

        async def ticker() -> None:
            while True:
                t0 = time.perf_counter()
                await asyncio.sleep(0.005)
                lags.append(time.perf_counter() - t0 - 0.005)

        tick = asyncio.create_task(ticker())
        try:
            for _ in range(2):
                results = await asyncio.wait_for(asyncio.gather(*(stream_through(service, p) for p in pcms)), 3 * T)
                assert [r.text for r in results] == QUESTIONS
        finally:
            tick.cancel()
            await asyncio.gather(tick, return_exceptions=True)
    lags.sort()
    p99 = lags[int(0.99 * (len(lags) - 1))]
    assert len(lags) > 50
    assert p99 < 0.050, f"p99 loop lag {p99 * 1000:.0f} ms (median {statistics.median(lags) * 1000:.1f})"
    assert lags[-1] < 0.150, f"max loop lag {lags[-1] * 1000:.0f} ms"


async def test_killed_worker_fails_its_stream_then_service_recovers(
    ps_engine: PocketsphinxEngine, piper: Synth
) -> None:
    pcm = decode_wav(piper(QUESTIONS[1]))
    async with SpeechService(ps_engine, SttSettings(max_concurrent_decodes=1)) as service:
        stream = service.open_stream()
        await asyncio.wait_for(stream.feed(pcm[:16000]), T)
        (pid,) = service.worker_pids
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(RecognitionError):
            await asyncio.wait_for(stream.feed(pcm[16000:32000]), T)
        with pytest.raises(RecognitionError, match="already finished"):
            await asyncio.wait_for(stream.finish(), T)
        assert service.in_flight == 0
        result = await asyncio.wait_for(service.transcribe(pcm), T)
        assert result.text == QUESTIONS[1]
        assert service.worker_pids and service.worker_pids != [pid]
        assert reaped(pid)  # not left as a zombie


async def test_hung_worker_is_killed_and_replaced(ps_engine: PocketsphinxEngine, piper: Synth) -> None:
    pcm = decode_wav(piper(QUESTIONS[2]))
    settings = SttSettings(max_concurrent_decodes=1, decode_timeout_s=1.0)
    async with SpeechService(ps_engine, settings) as service:
        await asyncio.wait_for(service.transcribe(pcm), T)
        (pid,) = service.worker_pids
        os.kill(pid, signal.SIGSTOP)  # alive but never answers
        with pytest.raises(RecognitionError, match="did not answer within 1 s"):
            await asyncio.wait_for(service.transcribe(pcm), T)
        assert (await asyncio.wait_for(service.transcribe(pcm), T)).text == QUESTIONS[2]
        assert pid not in service.worker_pids


async def test_same_audio_gives_the_same_result_every_time(
    ps_engine: PocketsphinxEngine, espeak: Synth, piper: Synth
) -> None:
    """espeak at 22 kHz is the hard case: before, its transcript changed with the dither seed and
    with whatever was decoded earlier (the first decode after loading differed most)."""
    target = decode_wav(espeak(QUESTIONS[1]))
    others = [decode_wav(piper(q)) for q in QUESTIONS] + [decode_wav(espeak(QUESTIONS[2]))]
    async with SpeechService(ps_engine, SttSettings(max_concurrent_decodes=1)) as service:
        first = [await asyncio.wait_for(service.transcribe(target), T) for _ in range(5)]
        for pcm in others:
            await asyncio.wait_for(service.transcribe(pcm), T)
        await stream_through(service, others[0])
        later = await asyncio.wait_for(service.transcribe(target), T)
        streamed = await stream_through(service, target)
    assert all(r == first[0] for r in first)  # text, words, confidence, alternatives
    assert later == first[0]
    assert streamed.text == first[0].text  # the stream's final pass sees the same whole utterance
    assert first[0].text == QUESTIONS[1]


async def test_close_leaves_no_processes(fake_engine_dir: Path) -> None:
    from fake_engine import FakeEngine

    service = SpeechService(FakeEngine(fake_engine_dir), SttSettings(max_concurrent_decodes=2))
    assert (await asyncio.wait_for(service.transcribe(b"\0\0"), T)).text == "ok"
    await asyncio.wait_for(asyncio.sleep(0.5), T)  # let the second worker come up too
    pids = service.worker_pids
    assert len(pids) == 2
    await asyncio.wait_for(service.aclose(), T)
    assert all(reaped(pid) for pid in pids)
    with pytest.raises(RecognitionError, match="closed"):
        await asyncio.wait_for(service.transcribe(b"\0\0"), T)


async def test_close_while_workers_are_starting(fake_engine_dir: Path) -> None:
    from fake_engine import FakeEngine

    service = SpeechService(FakeEngine(fake_engine_dir), SttSettings(max_concurrent_decodes=2))
    await asyncio.wait_for(service.aclose(), T)  # the warm-up is cancelled mid-start
    assert service.worker_pids == []


@pytest.fixture
def fake_engine_dir(tmp_path: Path) -> Path:
    return tmp_path / "fake-control"
