"""Fuzzing every door's parser against the real server (bounded, so it fits the test command).

Whatever arrives (JSON of any shape, mangled WAV headers, WebSocket frames, Wyoming events), the
answer is an answer or a clean error that names the problem: never a 5xx, never a traceback in the
log, and the next good request is served.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import wave
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_support import T
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.info import Describe, Info

from skill.server.run import Running

pytestmark = pytest.mark.asyncio(loop_scope="module")
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples every run: a failure here is reproducible
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
ASK_LIKE = st.fixed_dictionaries(
    {}, optional={"text": JSON | st.text(max_size=200), "session": JSON | st.text(max_size=80)}
)


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info is not None or r.levelno >= logging.ERROR]


async def still_serving(http: aiohttp.ClientSession, base: str) -> None:
    async with http.post(f"{base}/v1/ask", json={"text": "can b12 make me ache"}) as resp:
        assert resp.status == 200 and (await resp.json())["intent"] == "can_b12_cause_aches"


def small_wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\1" * 1600)
    return out.getvalue()


WAV = small_wav()


@FUZZ
@given(body=st.one_of(JSON.map(json.dumps), ASK_LIKE.map(json.dumps), st.text(max_size=300)).map(str.encode))
async def test_ask_bodies(running: Running, base: str, body: bytes, caplog: pytest.LogCaptureFixture) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
        async with http.post(f"{base}/v1/ask", data=body, headers={"Content-Type": "application/json"}) as resp:
            assert resp.status in (200, 400, 413, 415), (body[:100], resp.status)
            reply = await resp.json()
            assert resp.status == 200 or (reply["type"] == "error" and reply["code"] and reply["message"])
        await still_serving(http, base)
    assert tracebacks(caplog) == []


@FUZZ
@given(
    edits=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.integers(0, len(WAV)),
)
async def test_wav_headers(
    running: Running, base: str, edits: list[tuple[int, int]], cut: int, caplog: pytest.LogCaptureFixture
) -> None:
    data = bytearray(WAV)
    for at, value in edits:
        data[at] = value
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
        headers = {"Content-Type": "audio/wav"}
        async with http.post(f"{base}/v1/listen", data=bytes(data[:cut]), headers=headers) as resp:
            assert resp.status in (200, 400, 413, 415), resp.status
            reply = await resp.json()
            assert resp.status == 200 or reply["code"] in ("bad_audio", "bad_input", "too_large")
        await still_serving(http, base)
    assert tracebacks(caplog) == []


@FUZZ
@given(
    frames=st.lists(
        st.one_of(
            st.binary(max_size=700),
            JSON.map(json.dumps),
            st.fixed_dictionaries(
                {"type": st.sampled_from(["start", "end", "cancel", "ask"])},
                optional={
                    "text": JSON,
                    "rate": JSON,
                    "width": JSON,
                    "channels": JSON,
                    "speak": JSON,
                },
            ).map(json.dumps),
            st.text(max_size=100),
        ),
        min_size=1,
        max_size=6,
    )
)
async def test_websocket_messages(
    running: Running, base: str, frames: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
        async with http.ws_connect(f"{base}/v1/stream?speak=0") as ws:
            assert (await asyncio.wait_for(ws.receive_json(), T))["type"] == "ready"
            for frame in frames:
                if isinstance(frame, bytes):
                    await ws.send_bytes(frame)
                else:
                    await ws.send_str(frame)
            await ws.send_json({"type": "cancel"})
            await ws.send_json({"type": "ask", "text": "what is b12"})
            while True:  # errors and partials may come first; the question is still answered
                msg = await asyncio.wait_for(ws.receive(), T)
                assert msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), msg
                if msg.type == aiohttp.WSMsgType.TEXT:
                    reply = json.loads(msg.data)
                    assert reply["type"] != "error" or (reply["code"] and reply["message"])
                    if reply["type"] == "answer" and reply["intent"] == "what_is_b12":
                        break
    assert tracebacks(caplog) == []


@FUZZ
@given(
    header=st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                [
                    "transcript",
                    "transcribe",
                    "audio-start",
                    "audio-chunk",
                    "audio-stop",
                    "synthesize",
                    "describe",
                    "ping",
                    "made-up",
                ]
            )
            | st.text(max_size=20)
        },
        optional={"data": JSON, "data_length": st.integers(-2, 40), "payload_length": st.integers(-2, 40)},
    ),
    tail=st.binary(max_size=80),
)
async def test_wyoming_events(
    running: Running, header: dict[str, Any], tail: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    assert running.wyoming_port is not None
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", running.wyoming_port), T)
    try:
        writer.write(json.dumps(header).encode() + b"\n" + tail)
        await writer.drain()
        writer.write_eof()
        while True:  # whatever comes back is events the protocol knows, or the end
            event = await asyncio.wait_for(async_read_event(reader), T)
            if event is None:
                break
            assert event.type and (not Error.is_type(event.type) or Error.from_event(event).text)
    except ConnectionError:
        pass
    finally:
        writer.close()
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", running.wyoming_port), T)
    try:
        await async_write_event(Describe().event(), writer)
        reply = await asyncio.wait_for(async_read_event(reader), T)
        assert isinstance(reply, Event) and Info.is_type(reply.type)
    finally:
        writer.close()
    assert tracebacks(caplog) == []
