"""GET /v1/stream: real WebSockets, real speech, the real recognizer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from server_support import T, heard, settings, wav_pcm

from skill.app import Skill
from skill.audio.pcm import decode_wav
from skill.errors import RecognitionError
from skill.server.run import Running, start_servers

pytestmark = pytest.mark.asyncio(loop_scope="module")
CHUNK = 3200  # 100 ms of 16 kHz int16


@pytest_asyncio.fixture(loop_scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as session:
        yield session


@pytest.fixture(scope="module")
def pcm16k(question_wav: bytes) -> bytes:
    return decode_wav(question_wav)


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any] | bytes:
    msg = await asyncio.wait_for(ws.receive(), T)
    if msg.type == aiohttp.WSMsgType.TEXT:
        return json.loads(msg.data)
    if msg.type == aiohttp.WSMsgType.BINARY:
        return bytes(msg.data)
    raise AssertionError(f"unexpected {msg.type}")


async def until(ws: aiohttp.ClientWebSocketResponse, kind: str) -> tuple[dict[str, Any], list[Any]]:
    """Messages up to and including the first of `kind` (which is returned separately)."""
    seen: list[Any] = []
    while True:
        msg = await receive(ws)
        seen.append(msg)
        if isinstance(msg, dict) and msg["type"] == kind:
            return msg, seen


async def send_audio(ws: aiohttp.ClientWebSocketResponse, pcm: bytes, step: int = CHUNK) -> None:
    for i in range(0, len(pcm), step):
        await asyncio.wait_for(ws.send_bytes(pcm[i : i + step]), T)


async def test_spoken_question_then_follow_up_on_one_connection(
    http: aiohttp.ClientSession, base: str, pcm16k: bytes, skill: Skill
) -> None:
    async with http.ws_connect(f"{base}/v1/stream?session=hall-speaker") as ws:
        ready = await receive(ws)
        assert isinstance(ready, dict) and ready == {
            "type": "ready",
            "session": "hall-speaker",
            "rate": 16000,
            "width": 2,
            "channels": 1,
        }
        await send_audio(ws, pcm16k)
        await ws.send_json({"type": "end"})
        answer, seen = await until(ws, "answer")
        kinds = [m["type"] for m in seen if isinstance(m, dict)]
        assert "partial" in kinds and kinds[-2:] == ["transcript", "answer"]
        assert heard(answer["transcript"]) and answer["session"] == "hall-speaker"
        start, _ = await until(ws, "audio-start")
        end, audio = await until(ws, "audio-end")
        pcm = b"".join(m for m in audio if isinstance(m, bytes))
        assert start["width"] == 2 and len(pcm) == start["bytes"] > 0
        # A follow-up on the same connection shares the session; a typed question works too.
        await ws.send_json({"type": "start", "speak": False})
        await ws.send_json({"type": "ask", "text": "repeat that"})
        again, _ = await until(ws, "answer")
        assert again["intent"] == "repeat" and again["session"] == "hall-speaker"
        assert answer["text"].split(".")[0] in again["text"]


async def test_other_formats_via_start_message(http: aiohttp.ClientSession, base: str, question_wav: bytes) -> None:
    pcm, rate = wav_pcm(question_wav)  # 22050 Hz as espeak-ng writes it
    async with http.ws_connect(f"{base}/v1/stream?speak=0") as ws:
        await receive(ws)
        await ws.send_json({"type": "start", "rate": rate, "width": 2, "channels": 1})
        await send_audio(ws, pcm, step=4411)  # odd sizes: frames split across messages
        await ws.send_json({"type": "end"})
        answer, _ = await until(ws, "answer")
        assert heard(answer["transcript"])


async def test_text_where_audio_is_expected(http: aiohttp.ClientSession, base: str, pcm16k: bytes) -> None:
    async with http.ws_connect(f"{base}/v1/stream?speak=0") as ws:
        await receive(ws)
        for bad in ("hello there", "[1, 2]", '{"type": "dance"}', '{"type": "start", "rate": 3}', "[" * 5000):
            await ws.send_str(bad)
            err = await receive(ws)
            assert isinstance(err, dict) and err["type"] == "error" and err["code"] == "bad_message"
        await ws.send_json({"type": "end"})  # end with no audio
        err = await receive(ws)
        assert isinstance(err, dict) and err["code"] == "bad_audio"
        await send_audio(ws, pcm16k)  # the connection still works
        await ws.send_json({"type": "end"})
        answer, _ = await until(ws, "answer")
        assert heard(answer["transcript"])


async def test_disconnect_mid_utterance_frees_the_decoder(
    http: aiohttp.ClientSession, base: str, pcm16k: bytes, running: Running, skill: Skill
) -> None:
    service = await asyncio.wait_for(skill.speech(), T)
    before = service.in_flight
    ws = await asyncio.wait_for(http.ws_connect(f"{base}/v1/stream?session=gone&speak=0"), T)
    await receive(ws)
    await send_audio(ws, pcm16k[: len(pcm16k) // 2])
    await asyncio.wait_for(ws.close(), T)
    for _ in range(100):
        if service.in_flight == before and running.metrics.active_streams == 0:
            break
        await asyncio.sleep(0.02)
    assert service.in_flight == before and running.metrics.active_streams == 0
    async with http.ws_connect(f"{base}/v1/stream?session=gone&speak=0") as ws2:  # session free again
        await receive(ws2)
        await send_audio(ws2, pcm16k)
        await ws2.send_json({"type": "end"})
        answer, _ = await until(ws2, "answer")
        assert heard(answer["transcript"])


async def test_limits_streams_idle_and_length(skill: Skill, pcm16k: bytes) -> None:
    tight = await asyncio.wait_for(
        start_servers(settings(max_streams=1, idle_timeout_s=0.5, max_audio_s=1.0, wyoming_enabled=False), skill), T
    )
    url = f"http://127.0.0.1:{tight.http_port}/v1/stream?speak=0"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
            async with http.ws_connect(url) as ws:
                await receive(ws)
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await asyncio.wait_for(http.ws_connect(url), T)
                assert refused.value.status == 503
                await send_audio(ws, pcm16k)  # ~3 s of audio: over the 1 s limit
                err, _ = await until(ws, "error")  # partial transcripts may come first
                assert err["code"] == "bad_audio" and "longer" in err["message"]
                await ws.send_json({"type": "end"})
                await ws.send_json({"type": "ask", "text": "help"})
                answer, _ = await until(ws, "answer")
                assert answer["intent"] == "help"
                err, _ = await until(ws, "error")  # then silence: the idle timeout closes it
                assert err["code"] == "timeout"
                assert (await asyncio.wait_for(ws.receive(), T)).type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSED,
                )
    finally:
        await asyncio.wait_for(tight.stop(), T)


async def test_same_session_twice_is_refused(http: aiohttp.ClientSession, base: str) -> None:
    async with http.ws_connect(f"{base}/v1/stream?session=dup&speak=0") as ws:
        await receive(ws)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await asyncio.wait_for(http.ws_connect(f"{base}/v1/stream?session=dup"), T)
        assert refused.value.status == 409


async def test_client_gone_while_the_answer_is_sent_is_no_error(
    http: aiohttp.ClientSession, base: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    for n in range(3):  # the drop lands at a different point of the reply each time
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as leaving:
            ws = await asyncio.wait_for(leaving.ws_connect(f"{base}/v1/stream?session=leaver{n}&speak=1"), T)
            await receive(ws)
            await ws.send_json({"type": "ask", "text": "can b12 make me ache"})
            await asyncio.sleep(0.05 * n)
            ws._response.connection.transport.abort()  # a closed tab: no close handshake
    await asyncio.sleep(0.5)
    assert not [r for r in caplog.records if r.levelname == "ERROR"], [r.getMessage() for r in caplog.records]
    async with http.ws_connect(f"{base}/v1/stream?session=stayer&speak=0") as ws2:  # still serving
        await receive(ws2)
        await ws2.send_json({"type": "ask", "text": "can b12 make me ache"})
        answer, _ = await until(ws2, "answer")
        assert answer["intent"]


async def test_cancels_and_bad_messages_do_not_keep_a_stream_slot(skill: Skill) -> None:
    # Eight connections sending a cancel every 20 s once held every stream slot; only audio and
    # questions keep a connection now, so such a client is closed as if it were silent.
    async def cancel(holder: aiohttp.ClientWebSocketResponse) -> None:
        await holder.send_json({"type": "cancel"})
        await holder.send_str("not json")

    await _holder_is_closed_and_its_slot_freed(skill, cancel, within_s=3.0)


async def _holder_is_closed_and_its_slot_freed(
    skill: Skill, hold: Callable[[aiohttp.ClientWebSocketResponse], Awaitable[None]], within_s: float
) -> None:
    """A client that keeps sending what `hold` sends (never real audio or a question) is closed for
    idleness within `within_s`, and the one stream slot is then free for the next client."""
    tight = await asyncio.wait_for(
        start_servers(settings(max_streams=1, idle_timeout_s=0.6, wyoming_enabled=False), skill), T
    )
    url = f"http://127.0.0.1:{tight.http_port}/v1/stream?speak=0"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
            async with http.ws_connect(url) as holder:
                await receive(holder)
                closed_at = None
                start = asyncio.get_running_loop().time()
                while closed_at is None and asyncio.get_running_loop().time() - start < within_s + 2:
                    if not holder.closed:
                        await hold(holder)
                    with contextlib.suppress(TimeoutError):
                        while True:  # read all that came (errors, answers), looking for the close
                            msg = await asyncio.wait_for(holder.receive(), 0.1)
                            if msg.type != aiohttp.WSMsgType.TEXT or json.loads(msg.data).get("code") == "timeout":
                                closed_at = asyncio.get_running_loop().time() - start
                                break
                assert closed_at is not None and closed_at < within_s
            async with http.ws_connect(url) as fresh:  # the slot is free for the next client
                await receive(fresh)  # ready
                await fresh.send_json({"type": "ask", "text": "help"})
                answer, _ = await until(fresh, "answer")
                assert answer["intent"] == "help"
    finally:
        await asyncio.wait_for(tight.stop(), T)


async def test_a_refused_utterance_gets_one_busy_error_not_one_per_frame(
    http: aiohttp.ClientSession, base: str, skill: Skill, pcm16k: bytes
) -> None:
    service = await asyncio.wait_for(skill.speech(), T)
    limit = service.settings.max_concurrent_decodes + service.settings.max_queued_decodes
    held = [service.open_stream() for _ in range(limit - service.in_flight)]  # the recognizer is full
    try:
        async with http.ws_connect(f"{base}/v1/stream?speak=0") as ws:
            await receive(ws)
            await send_audio(ws, pcm16k, step=640)  # ~150 frames of 20 ms
            await ws.send_json({"type": "end"})
            await ws.send_json({"type": "ask", "text": "help"})
            answer, seen = await until(ws, "answer")
            errors = [m for m in seen if isinstance(m, dict) and m["type"] == "error"]
            assert [e["code"] for e in errors] == ["busy"], errors
            assert answer["intent"] == "help"
            for stream in held:
                await stream.aclose()
            held = []
            await send_audio(ws, pcm16k)  # the next utterance is heard again
            await ws.send_json({"type": "end"})
            answer, _ = await until(ws, "answer")
            assert heard(answer["transcript"])
    finally:
        for stream in held:
            await stream.aclose()


async def test_a_speech_worker_killed_mid_utterance_gives_one_short_error_then_the_next_works(
    http: aiohttp.ClientSession, base: str, skill: Skill, pcm16k: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    service = await asyncio.wait_for(skill.speech(), T)
    half = len(pcm16k) // 2 // CHUNK * CHUNK
    async with http.ws_connect(f"{base}/v1/stream?speak=0") as ws:
        await receive(ws)
        await send_audio(ws, pcm16k[:half])
        await ws.send_json({"type": "ask", "text": "help"})  # the stream is open and decoding
        await until(ws, "answer")
        for pid in service.worker_pids:
            os.kill(pid, signal.SIGKILL)
        await send_audio(ws, pcm16k[half:])
        await ws.send_json({"type": "end"})
        await send_audio(ws, pcm16k)  # the next utterance, on a fresh worker
        await ws.send_json({"type": "end"})
        answer, seen = await until(ws, "answer")
    errors = [m for m in seen if isinstance(m, dict) and m["type"] == "error"]
    assert errors == [{"type": "error", "code": "recognition_failed", "message": RecognitionError.public}]
    assert heard(answer["transcript"])  # not the dead worker's half of the first question
    assert [m["type"] for m in seen if isinstance(m, dict)].count("answer") == 1
    detail = [r.getMessage() for r in caplog.records if r.getMessage().startswith("recognition_failed:")]
    assert detail and "exit code" in detail[0]  # the operator's log keeps what the client is not told


async def test_one_client_gets_its_share_of_streams_not_all(skill: Skill) -> None:
    shared = await asyncio.wait_for(
        start_servers(settings(max_streams=3, max_streams_per_client=1, wyoming_enabled=False), skill), T
    )
    url = f"http://127.0.0.1:{shared.http_port}/v1/stream?speak=0"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
            async with http.ws_connect(url) as first:
                await receive(first)
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await asyncio.wait_for(http.ws_connect(url), T)
                assert refused.value.status == 503
            async with http.ws_connect(url) as again:  # the share comes back when the stream ends
                await receive(again)
    finally:
        await asyncio.wait_for(shared.stop(), T)


async def test_every_message_on_the_wire_is_one_of_the_protocol_models(
    http: aiohttp.ClientSession, base: str, pcm16k: bytes
) -> None:
    from pydantic import BaseModel

    from skill.server.openapi import openapi_document
    from skill.server.ws_messages import CLIENT_MESSAGE, CLIENT_MODELS, SERVER_MESSAGE, SERVER_MODELS

    seen: set[str] = set()
    async with http.ws_connect(f"{base}/v1/stream") as ws:  # speaking on: audio-start/-end too
        await send_audio(ws, pcm16k)
        await ws.send_str(CLIENT_MESSAGE.validate_python({"type": "end"}).model_dump_json())
        await ws.send_json({"type": "dance"})
        await ws.send_json({"type": "ask", "text": "what is b12"})
        answers = 0
        while answers < 2 or "audio-end" not in seen or "error" not in seen:
            msg = await asyncio.wait_for(ws.receive(), T)
            if msg.type == aiohttp.WSMsgType.BINARY:
                continue
            parsed = SERVER_MESSAGE.validate_json(msg.data)  # strict: unknown fields or types fail
            assert json.loads(parsed.model_dump_json()) == json.loads(msg.data)  # and it round-trips
            seen.add(parsed.type)
            answers += parsed.type == "answer"
    assert {"partial", "transcript", "answer", "error", "audio-start", "audio-end"} <= seen
    for model in (*CLIENT_MODELS, *SERVER_MODELS):  # every model is in the published schema
        assert issubclass(model, BaseModel) and model.__name__ in openapi_document()["components"]["schemas"]


async def test_crumbs_of_audio_and_bare_ends_do_not_keep_a_stream_slot(skill: Skill) -> None:
    # Two-byte frames and "end" messages once reset the idle deadline as real audio does.
    async def crumbs(holder: aiohttp.ClientWebSocketResponse) -> None:
        await holder.send_bytes(b"\0\0")
        await holder.send_json({"type": "end"})

    await _holder_is_closed_and_its_slot_freed(skill, crumbs, within_s=4.0)


async def _real_time_question(base: str, pcm: bytes, address: str) -> tuple[str, Any]:
    """One speaker on its own address: the question in 20-ms frames at real-time pace, then its answer.
    ("refused", status) when the server is full, ("answered", transcript) or ("errors", [...])."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:
        try:
            ws = await http.ws_connect(f"{base}/v1/stream?speak=0")
        except aiohttp.WSServerHandshakeError as exc:
            return "refused", exc.status
        async with ws:
            await receive(ws)
            for i in range(0, len(pcm), 640):
                await ws.send_bytes(pcm[i : i + 640])
                await asyncio.sleep(0.02)
            await ws.send_json({"type": "end"})
            errors = []
            while True:
                msg = await asyncio.wait_for(ws.receive_json(), 60)
                if msg["type"] == "error":
                    errors.append(msg)
                elif msg["type"] == "answer":
                    return ("answered", msg["transcript"]) if not errors else ("errors", errors)


@pytest.mark.parametrize("speakers", [8, 16])
async def test_real_time_streams_up_to_twice_the_limit_are_each_answered_or_refused_once(
    base: str, pcm16k: bytes, speakers: int
) -> None:
    """The default limits (8 streams, 4 a client, 16 recognizer slots): eight speakers on four addresses are
    all answered; sixteen get eight answers and eight clean refusals at the door, never errors mid-question."""
    outcomes = await asyncio.gather(
        *(_real_time_question(base, pcm16k, f"127.0.0.{2 + n % 4}") for n in range(speakers))
    )
    answered = [what for kind, what in outcomes if kind == "answered"]
    assert all(heard(t) for t in answered), answered
    assert all(kind != "errors" for kind, _ in outcomes), outcomes
    assert all(what == 503 for kind, what in outcomes if kind == "refused"), outcomes
    assert len(answered) >= 8
