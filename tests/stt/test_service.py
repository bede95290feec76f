"""SpeechService: off the loop, bounded, timed out, recovering. Every await has a timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from fake_engine import FakeEngine

from skill.audio.pcm import decode_wav
from skill.errors import AudioError, OverloadedError, RecognitionError
from skill.settings.stt import SttSettings
from skill.stt.pocketsphinx_engine import PocketsphinxEngine
from skill.stt.service import SpeechService

pytestmark = pytest.mark.asyncio
T = 10.0  # generous per-await timeout: a real decode of a short question takes ~0.2 s


@pytest.fixture
def fake(tmp_path: Path) -> FakeEngine:
    return FakeEngine(tmp_path / "fake-control")


def settings(**kw: object) -> SttSettings:
    return SttSettings(**{"max_concurrent_decodes": 1, "max_queued_decodes": 1, **kw})  # type: ignore[arg-type]


async def test_transcribe_real_speech(ps_engine: PocketsphinxEngine, piper: Callable[[str], Path]) -> None:
    pcm = decode_wav(piper("how long does the pain last"))
    async with SpeechService(ps_engine, SttSettings()) as service:
        results = await asyncio.wait_for(asyncio.gather(*(service.transcribe(pcm) for _ in range(3))), T)
    assert {r.text for r in results} == {"how long does the pain last"}


async def test_stream_gives_partials_then_final(ps_engine: PocketsphinxEngine, piper: Callable[[str], Path]) -> None:
    pcm = decode_wav(piper("what are the symptoms of b twelve deficiency"))
    async with SpeechService(ps_engine, SttSettings()) as service:
        async with service.open_stream() as stream:
            partials = [
                p for i in range(0, len(pcm), 3200) if (p := await asyncio.wait_for(stream.feed(pcm[i : i + 3200]), T))
            ]
            final = await asyncio.wait_for(stream.finish(), T)
        assert service.in_flight == 0
    assert partials and final.text == "what are the symptoms of b twelve deficiency"


async def test_overload_is_refused_not_queued_forever(fake: FakeEngine) -> None:
    engine = fake
    engine.close_gate()
    async with SpeechService(engine, settings()) as service:
        running = [asyncio.ensure_future(service.transcribe(b"\0\0")) for _ in range(2)]
        await asyncio.sleep(0.05)
        with pytest.raises(OverloadedError):
            await asyncio.wait_for(service.transcribe(b"\0\0"), T)
        engine.open_gate()
        done = await asyncio.wait_for(asyncio.gather(*running), T)
        assert [r.text for r in done] == ["ok", "ok"]
        assert service.in_flight == 0


async def test_timeout_becomes_recognition_error_and_service_recovers(fake: FakeEngine) -> None:
    engine = fake
    engine.close_gate()
    async with SpeechService(engine, settings(decode_timeout_s=1.0, max_concurrent_decodes=2)) as service:
        with pytest.raises(RecognitionError, match="did not answer within"):
            await asyncio.wait_for(service.transcribe(b"\0\0"), T)
        engine.open_gate()
        result = await asyncio.wait_for(service.transcribe(b"\0\0"), T)
    assert result.text == "ok"


async def test_engine_exception_then_next_request_works(fake: FakeEngine) -> None:
    engine = fake
    engine.fail_next()
    async with SpeechService(engine, settings()) as service:
        with pytest.raises(RecognitionError, match="engine exploded"):
            await asyncio.wait_for(service.transcribe(b"\0\0"), T)
        assert (await asyncio.wait_for(service.transcribe(b"\0\0"), T)).text == "ok"
        assert service.in_flight == 0


async def test_ten_minutes_of_audio_is_refused(fake: FakeEngine) -> None:
    async with SpeechService(fake, settings(max_audio_s=60)) as service:
        with pytest.raises(AudioError, match="too long: 600.0 s"):
            await asyncio.wait_for(service.transcribe(bytes(2 * 16000 * 600)), T)
        stream = service.open_stream()
        with pytest.raises(AudioError, match="too long"):
            await asyncio.wait_for(stream.feed(bytes(2 * 16000 * 61)), T)
        await stream.aclose()
        assert service.in_flight == 0


async def test_event_loop_stays_responsive(ps_engine: PocketsphinxEngine, piper: Callable[[str], Path]) -> None:
    pcm = decode_wav(piper("can b twelve make me ache"))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async with SpeechService(ps_engine, SttSettings()) as service:
        task = asyncio.ensure_future(ticker())
        await asyncio.wait_for(service.transcribe(pcm * 4), T)
        task.cancel()
    assert ticks >= 3


async def test_a_stream_without_audio_frees_its_slot(ps_engine: PocketsphinxEngine) -> None:
    # The slot is bound by audio progress: a client that opens an utterance and goes quiet (or only
    # sends pings and cancels elsewhere) cannot keep the recognizer from everyone else.
    async with SpeechService(ps_engine, settings(stream_idle_s=0.3, max_queued_decodes=0)) as service:
        stream = service.open_stream()
        await asyncio.wait_for(stream.feed(b"\0\0" * 320), T)
        with pytest.raises(OverloadedError):
            service.open_stream()
        await asyncio.sleep(0.6)
        assert service.in_flight == 0
        with pytest.raises(RecognitionError, match=r"dropped \(no audio\)"):
            await asyncio.wait_for(stream.feed(b"\0\0" * 320), T)
        async with service.open_stream() as fresh:  # the freed slot serves the next utterance
            await asyncio.wait_for(fresh.feed(b"\0\0" * 1600), T)
            assert (await asyncio.wait_for(fresh.finish(), T)).text == ""


async def test_a_trickle_of_tiny_frames_cannot_hold_a_slot_for_long(ps_engine: PocketsphinxEngine) -> None:
    # One 20-ms frame every 0.2 s never looks idle, but audio slower than speech ends at the wall limit.
    async with SpeechService(ps_engine, settings(stream_idle_s=0.3, max_audio_s=0.6)) as service:
        stream = service.open_stream()
        with pytest.raises(RecognitionError, match="slower than it is spoken"):
            for _ in range(20):
                await asyncio.wait_for(stream.feed(b"\0\0" * 320), T)
                await asyncio.sleep(0.2)
        assert service.in_flight == 0


async def test_steady_audio_is_never_cut_by_the_watchdog(ps_engine: PocketsphinxEngine) -> None:
    async with SpeechService(ps_engine, settings(stream_idle_s=0.3)) as service:
        async with service.open_stream() as stream:
            for _ in range(8):  # 0.8 s of real-time audio, more than the idle limit in total
                await asyncio.wait_for(stream.feed(b"\0\0" * 1600), T)
                await asyncio.sleep(0.1)
            await asyncio.wait_for(stream.finish(), T)
        assert service.in_flight == 0
