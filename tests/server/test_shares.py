"""One client address's share of the recognizer spans every door that hears speech (WebSocket streams,
/v1/listen, Wyoming): the per-door shares add up to more than the recognizer's slots, this one does not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from server_support import T, heard, settings
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event
from wyoming.ping import Ping, Pong

from skill.app import Skill
from skill.audio.pcm import decode_wav
from skill.server.run import Running, start_servers

pytestmark = pytest.mark.asyncio(loop_scope="module")
SHARE = 2


@pytest_asyncio.fixture(loop_scope="module")
async def server(skill: Skill) -> AsyncIterator[Running]:
    running = await asyncio.wait_for(start_servers(settings(max_utterances_per_client=SHARE), skill), T)
    yield running
    await asyncio.wait_for(running.stop(), T)


def http_from(address: str) -> aiohttp.ClientSession:
    """A client on its own loopback address (all of 127/8 reaches a server on 127.0.0.1)."""
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=T))


async def listen(http: aiohttp.ClientSession, server: Running, wav: bytes) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{server.http_port}/v1/listen"
    async with http.post(url, data=wav, headers={"Content-Type": "audio/wav"}) as response:
        return response.status, await response.json()


async def open_utterance(http: aiohttp.ClientSession, server: Running, pcm: bytes) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(f"http://127.0.0.1:{server.http_port}/v1/stream?speak=0")
    assert (await ws.receive_json(timeout=T))["type"] == "ready"
    await ws.send_bytes(pcm[:16000])  # half a second: the utterance is open in the recognizer
    await ws.send_json({"type": "ask", "text": "help"})  # answered after the audio was taken
    assert (await ws.receive_json(timeout=T))["type"] == "answer"
    return ws


async def wyoming_errors(server: Running, pcm: bytes) -> list[Error]:
    """Errors for one utterance of three chunks, up to the pong of a ping sent after it."""
    assert server.wyoming_port is not None
    errors = []
    async with AsyncTcpClient("127.0.0.1", server.wyoming_port) as c:
        await c.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        for i in range(3):
            await c.write_event(
                AudioChunk(rate=16000, width=2, channels=1, audio=pcm[i * 3200 : (i + 1) * 3200]).event()
            )
        await c.write_event(AudioStop().event())
        await c.write_event(Ping(text="after").event())
        while True:
            event = await asyncio.wait_for(c.read_event(), T)
            assert event is not None
            if Pong.is_type(event.type):
                return errors
            if Error.is_type(event.type):
                errors.append(Error.from_event(event))


async def test_a_client_at_its_share_is_refused_at_every_door_and_others_are_not(
    server: Running, question_wav: bytes
) -> None:
    pcm = decode_wav(question_wav)
    async with http_from("127.0.0.1") as mine, http_from("127.0.0.2") as other:
        streams = [await open_utterance(mine, server, pcm) for _ in range(SHARE)]
        try:
            status, body = await listen(mine, server, question_wav)
            assert status == 503 and body["code"] == "busy" and "its share" in body["message"], body
            errors = await wyoming_errors(server, pcm)
            assert [e.code for e in errors] == ["busy"]  # once for the utterance, not once per chunk
            status, body = await listen(other, server, question_wav)  # another address still has room
            assert status == 200 and heard(body["transcript"]), body
            for ws in streams:  # utterances that end give their share back
                await ws.send_json({"type": "end"})
                while (await ws.receive_json(timeout=T))["type"] != "answer":
                    pass
        finally:
            for ws in streams:
                await ws.close()
        status, body = await listen(mine, server, question_wav)
        assert status == 200 and heard(body["transcript"]), body
        assert await wyoming_errors(server, pcm) == []


async def test_questions_over_the_websocket_and_wyoming_count_against_the_clients_rate(skill: Skill) -> None:
    """Three requests a burst, one a second after: a fourth and fifth question on an open WebSocket, or over
    Wyoming, get "rate_limited" (the rate used to be checked only at the upgrade), and the connection lives on."""
    tight = await asyncio.wait_for(start_servers(settings(rate_per_minute=60, rate_burst=3), skill), T)
    try:
        async with http_from("127.0.0.3") as http:
            ws = await http.ws_connect(f"http://127.0.0.1:{tight.http_port}/v1/stream?speak=0")
            async with ws:
                assert (await ws.receive_json(timeout=T))["type"] == "ready"  # the upgrade was request 1
                kinds = []
                for _ in range(4):
                    await ws.send_json({"type": "ask", "text": "what is b12"})
                    kinds.append((await ws.receive_json(timeout=T)).get("code", "answer"))
                assert kinds == ["answer", "answer", "rate_limited", "rate_limited"], kinds
        assert tight.wyoming_port is not None
        async with AsyncTcpClient("127.0.0.1", tight.wyoming_port) as c:  # another address: its own bucket
            replies = []
            for _ in range(5):
                await c.write_event(Event(type="transcript", data={"text": "what is b12"}))
                event = await asyncio.wait_for(c.read_event(), T)
                assert event is not None
                replies.append(Error.from_event(event).code if Error.is_type(event.type) else event.type)
        assert replies == ["handled"] * 3 + ["rate_limited"] * 2, replies
    finally:
        await asyncio.wait_for(tight.stop(), T)
