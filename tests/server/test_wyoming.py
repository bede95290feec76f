"""The Wyoming door, driven by the `wyoming` package's own client the way Home Assistant does it:
a new connection per request."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import pytest
from server_support import QUESTION, T, heard, wav_pcm
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.event import Event, async_read_event, async_write_event
from wyoming.handle import Handled, NotHandled
from wyoming.info import Describe, Info
from wyoming.ping import Ping, Pong
from wyoming.tts import Synthesize

from skill.app import Skill
from skill.server.run import Running

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    return {"read_timeout_s": 0.5}  # so a peer that announces more payload than it sends times out fast


def client(running: Running) -> AsyncTcpClient:
    assert running.wyoming_port is not None
    return AsyncTcpClient("127.0.0.1", running.wyoming_port)


async def read(c: AsyncTcpClient) -> Event:
    event = await asyncio.wait_for(c.read_event(), T)
    assert event is not None, "server closed the connection"
    return event


async def test_describe_is_instant_and_advertises_everything(running: Running) -> None:
    start = time.perf_counter()
    async with client(running) as c:
        await asyncio.wait_for(c.write_event(Describe().event()), T)
        event = await read(c)
    elapsed = time.perf_counter() - start
    assert Info.is_type(event.type) and elapsed < 0.2  # Home Assistant gives up after 1 s
    info = Info.from_event(event)
    assert info.asr[0].installed and "en" in info.asr[0].models[0].languages
    assert info.handle[0].installed and info.tts[0].voices


async def transcribe(running: Running, pcm: bytes, rate: int) -> Event:
    async with client(running) as c:
        await asyncio.wait_for(c.write_event(Transcribe(language="en").event()), T)
        await asyncio.wait_for(c.write_event(AudioStart(rate=rate, width=2, channels=1).event()), T)
        step = 2048
        for i in range(0, len(pcm), step):
            chunk = AudioChunk(rate=rate, width=2, channels=1, audio=pcm[i : i + step])
            await asyncio.wait_for(c.write_event(chunk.event()), T)
        await asyncio.wait_for(c.write_event(AudioStop().event()), T)
        return await read(c)


async def test_transcribe(running: Running, question_wav: bytes) -> None:
    pcm, rate = wav_pcm(question_wav)
    event = await transcribe(running, pcm, rate)
    assert Transcript.is_type(event.type), event
    transcript = Transcript.from_event(event)
    assert heard(transcript.text) and transcript.language == "en"


async def test_synthesize(running: Running, skill: Skill) -> None:
    async with client(running) as c:
        await asyncio.wait_for(c.write_event(Synthesize(text="B12 helps nerves.").event()), T)
        start = await read(c)
        assert AudioStart.is_type(start.type)
        audio = b""
        while not AudioStop.is_type((event := await read(c)).type):
            assert AudioChunk.is_type(event.type)
            audio += AudioChunk.from_event(event).audio
    assert len(audio) > 1000 and AudioStart.from_event(start).width == 2


async def handle(running: Running, text: str, conversation: str | None) -> Event:
    async with client(running) as c:  # as Home Assistant's conversation agent does: one request per connection
        context = {"conversation_id": conversation} if conversation else None
        await asyncio.wait_for(c.write_event(Transcript(text=text, context=context, language="en").event()), T)
        return await read(c)


async def test_handle_with_follow_up_in_the_same_conversation(running: Running) -> None:
    first = await handle(running, "do b12 shots make you sore", "01HS6SP2XD1E5HEHVDZE8R2WMR")
    assert Handled.is_type(first.type)
    handled = Handled.from_event(first)
    assert handled.text and handled.text.endswith("please check with your doctor.")
    assert handled.context == {"conversation_id": "01HS6SP2XD1E5HEHVDZE8R2WMR"}
    again = Handled.from_event(await handle(running, "repeat that", "01HS6SP2XD1E5HEHVDZE8R2WMR"))
    assert again.text and handled.text.split(".")[0] in again.text
    other = await handle(running, "what's the weather like", None)
    assert NotHandled.is_type(other.type) and "B12" in (NotHandled.from_event(other).text or "")


async def raw(running: Running, data: bytes) -> Event | None:
    """Send raw bytes, then read what comes back with the package's own client reader."""
    async with client(running) as c:
        assert c._writer is not None
        c._writer.write(data)
        await asyncio.wait_for(c._writer.drain(), T)
        return await asyncio.wait_for(c.read_event(), T)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"this is not json\n", "not JSON"),
        (b"[1, 2, 3]\n", "JSON object"),
        (json.dumps({"type": "audio-chunk", "payload_length": "ten"}).encode() + b"\n", "payload_length"),
        (
            json.dumps(
                {"type": "audio-chunk", "data": {"rate": 16000, "width": 2, "channels": 1}, "payload_length": 1000}
            ).encode()
            + b"\n"
            + b"\0" * 10,
            "1000 bytes",
        ),
        (
            json.dumps(
                {"type": "audio-chunk", "data": {"rate": 3, "width": 2, "channels": 1}, "payload_length": 4}
            ).encode()
            + b"\n"
            + b"\0" * 4,
            "unsupported audio format",
        ),
        (json.dumps({"type": "synthesize", "data": {}}).encode() + b"\n", "malformed synthesize"),
    ],
)
async def test_bad_events_get_an_error_and_others_are_served(running: Running, data: bytes, says: str) -> None:
    event = await raw(running, data)  # short payloads: the server's read times out (read_timeout_s)
    assert event is not None and Error.is_type(event.type), event
    assert says in Error.from_event(event).text
    assert Handled.is_type((await handle(running, "can b12 make me ache", None)).type)


async def test_peer_hanging_up_mid_payload_does_not_hurt(running: Running, skill: Skill) -> None:
    service = await asyncio.wait_for(skill.speech(), T)
    before = service.in_flight
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", running.wyoming_port), T)
    chunk = AudioChunk(rate=16000, width=2, channels=1, audio=b"\0\1" * 3200).event()
    header = {"type": chunk.type, "data": chunk.data, "payload_length": len(chunk.payload or b"")}
    writer.write(json.dumps(header).encode() + b"\n" + (chunk.payload or b""))  # one good chunk: a stream opens
    writer.write(json.dumps(header).encode() + b"\n" + b"\0" * 100)  # then a truncated one
    await asyncio.wait_for(writer.drain(), T)
    writer.close()
    for _ in range(100):
        if service.in_flight == before:
            break
        await asyncio.sleep(0.02)
    assert service.in_flight == before
    assert Handled.is_type((await handle(running, QUESTION, None)).type)


async def test_connections_over_the_limit_are_refused_with_a_reason(skill: Skill) -> None:
    from server_support import settings

    from skill.server.run import start_servers

    capped = await asyncio.wait_for(start_servers(settings(wyoming_max_connections=2), skill), T)
    try:
        held = [client(capped), client(capped)]
        for c in held:
            await asyncio.wait_for(c.connect(), T)
            await asyncio.wait_for(c.write_event(Describe().event()), T)
            assert Info.is_type((await read(c)).type)
        async with client(capped) as extra:
            refused = await read(extra)
            assert Error.is_type(refused.type) and Error.from_event(refused).code == "busy"
        await held[0].disconnect()
        for _ in range(50):  # the server sees the hang-up
            if capped.metrics.wyoming_connections < 2:
                break
            await asyncio.sleep(0.02)
        async with client(capped) as again:  # a freed slot is usable at once
            await asyncio.wait_for(again.write_event(Describe().event()), T)
            assert Info.is_type((await read(again)).type)
        await held[1].disconnect()
    finally:
        await capped.stop()


async def test_pings_alone_do_not_keep_a_connection(skill: Skill) -> None:
    await _holder_is_closed(skill, [Ping(text="still here").event()])


async def test_a_peer_that_stops_reading_is_dropped(running: Running) -> None:
    """Describes asked in a loop and never read: the server's writes back up, and after read_timeout_s
    (0.5 s here) of that it drops the peer instead of waiting on it for ever."""
    assert running.wyoming_port is not None
    before = running.metrics.wyoming_connections
    reader, writer = await asyncio.open_connection("127.0.0.1", running.wyoming_port)
    ask = json.dumps({"type": "describe"}).encode() + b"\n"
    try:
        with pytest.raises(ConnectionError):
            for _ in range(2_000_000):  # far more info events than any socket buffer holds
                writer.write(ask * 100)
                await asyncio.wait_for(writer.drain(), T)
    finally:
        writer.transport.abort()
    for _ in range(100):
        if running.metrics.wyoming_connections == before:
            break
        await asyncio.sleep(0.02)
    assert running.metrics.wyoming_connections == before


async def test_invented_event_types_do_not_grow_the_metrics(running: Running, base: str) -> None:
    import aiohttp

    async with client(running) as c:
        for n in range(10_000):  # the count
            await c.write_event(Event(type=f"made-up-{n}", data={}))
        await c.write_event(Ping(text="done").event())
        assert Pong.is_type((await read(c)).type)
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as response:
        text = await response.text()
    assert "made-up" not in text and 'route="other"' in text
    assert len(text.encode()) < 20_000


@pytest.mark.parametrize(
    ("data", "says"),
    [
        # a transcript whose context is not an object (it used to end in AttributeError)
        (json.dumps({"type": "transcript", "data": {"text": "hi", "context": ["a"]}}).encode() + b"\n", "context"),
        (json.dumps({"type": "transcript", "data": {"text": "hi", "context": "kitchen"}}).encode() + b"\n", "context"),
        (json.dumps({"type": "transcript", "data": {"text": 5}}).encode() + b"\n", "text"),
        # data nested 10,000 deep (RecursionError in the JSON reader)
        (b'{"type": "describe", "data": ' + b"[" * 10000 + b"]" * 10000 + b"}\n", "nested too deep"),
    ],
)
async def test_odd_events_get_a_clean_error(running: Running, data: bytes, says: str) -> None:
    event = await raw(running, data)
    assert event is not None and Error.is_type(event.type), event
    assert says in Error.from_event(event).text
    assert Handled.is_type((await handle(running, "can b12 make me ache", None)).type)


async def test_one_client_gets_its_share_of_connections_not_all(skill: Skill) -> None:
    from server_support import settings

    from skill.server.run import start_servers

    shared = await asyncio.wait_for(start_servers(settings(wyoming_max_per_client=1), skill), T)
    try:
        assert shared.wyoming_port is not None
        async with AsyncTcpClient("127.0.0.1", shared.wyoming_port) as first:
            await first.write_event(Describe().event())
            assert Info.is_type((await read(first)).type)
            async with AsyncTcpClient("127.0.0.1", shared.wyoming_port) as second:
                event = await read(second)
                assert Error.is_type(event.type) and "its share" in Error.from_event(event).text
        for _ in range(40):  # released once the server has seen the first one close
            async with AsyncTcpClient("127.0.0.1", shared.wyoming_port) as later:
                await later.write_event(Describe().event())
                if Info.is_type((await read(later)).type):
                    break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the client's share did not come back")
    finally:
        await asyncio.wait_for(shared.stop(), T)


async def test_a_refused_utterance_gets_one_error_not_one_per_chunk(
    running: Running, skill: Skill, question_wav: bytes
) -> None:
    service = await asyncio.wait_for(skill.speech(), T)
    limit = service.settings.max_concurrent_decodes + service.settings.max_queued_decodes
    held = [service.open_stream() for _ in range(limit - service.in_flight)]  # the recognizer is full
    pcm, rate = wav_pcm(question_wav)
    try:
        async with client(running) as c:
            await c.write_event(Transcribe(language="en").event())
            await c.write_event(AudioStart(rate=rate, width=2, channels=1).event())
            for i in range(0, len(pcm), 2048):
                await c.write_event(AudioChunk(rate=rate, width=2, channels=1, audio=pcm[i : i + 2048]).event())
            await c.write_event(AudioStop().event())
            await c.write_event(Describe().event())
            seen = []
            while not seen or not Info.is_type(seen[-1].type):
                seen.append(await read(c))
            errors = [Error.from_event(e) for e in seen if Error.is_type(e.type)]
            assert len(errors) == 1 and errors[0].code == "busy", [e.type for e in seen]
        for stream in held:
            await stream.aclose()
        held = []
        assert Transcript.is_type((await transcribe(running, pcm, rate)).type)  # the next one is heard
    finally:
        for stream in held:
            await stream.aclose()


@pytest.mark.parametrize("holder", ["starts", "crumbs"])
async def test_starts_and_crumbs_of_audio_do_not_keep_a_connection(skill: Skill, holder: str) -> None:
    start = AudioStart(rate=16000, width=2, channels=1).event()
    if holder == "starts":
        await _holder_is_closed(skill, [Transcribe().event(), start])
    else:
        await _holder_is_closed(skill, [AudioChunk(rate=16000, width=2, channels=1, audio=b"\0\0").event()], [start])


async def _holder_is_closed(skill: Skill, each_round: list[Event], first: Sequence[Event] = ()) -> None:
    """A client that sends `first`, then `each_round` again and again (nothing that does anything), is
    closed for idleness within 3 s."""
    from server_support import settings

    from skill.server.run import start_servers

    tight = await asyncio.wait_for(start_servers(settings(idle_timeout_s=0.6), skill), T)
    try:
        assert tight.wyoming_port is not None
        began = asyncio.get_running_loop().time()
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", tight.wyoming_port), T)
        said = None
        try:
            for event in first:
                await async_write_event(event, writer)
            while asyncio.get_running_loop().time() - began < 5.0:
                for event in each_round:
                    await async_write_event(event, writer)
                try:
                    reply = await asyncio.wait_for(async_read_event(reader), 0.1)
                except TimeoutError:
                    continue
                if reply is None:
                    said = "closed"
                    break
                if Error.is_type(reply.type) and "nothing done" in Error.from_event(reply).text:
                    said = Error.from_event(reply).text
                    break
                await asyncio.sleep(0.1)  # a reply (a pong): pace the next round
        except ConnectionError:  # closed between two events
            said = "closed"
        finally:
            writer.close()
        assert said is not None, f"a client sending only {[e.type for e in each_round]} kept its connection"
        assert asyncio.get_running_loop().time() - began < 3.0
    finally:
        await asyncio.wait_for(tight.stop(), T)
