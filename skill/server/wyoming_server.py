"""The Wyoming front door (Home Assistant's protocol, via the `wyoming` package).

One connection per request, as Home Assistant does it:
  describe                                   -> info (asr, tts, handle), answered at once
  transcribe, audio-start, audio-chunk*, audio-stop -> transcript
  synthesize                                 -> audio-start, audio-chunk*, audio-stop
  transcript (text to handle)                -> handled, or not-handled (context.conversation_id -> session)
Malformed input (a header that is not JSON, a payload shorter than announced, a silent peer)
gets an `error` event and the connection is closed; other connections carry on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import warnings
from typing import Any

# wyoming.audio imports the stdlib audioop, deprecated on Python 3.11-3.12 (the package falls back
# to its own copy on 3.13); the warning is theirs, not ours.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from wyoming.asr import Transcript as WyTranscript
    from wyoming.audio import AudioChunk as WyAudioChunk
    from wyoming.audio import AudioStart, AudioStop
    from wyoming.error import Error
    from wyoming.event import Event, async_write_event
    from wyoming.handle import Handled, NotHandled
    from wyoming.info import (
        AsrModel,
        AsrProgram,
        Attribution,
        Describe,
        HandleModel,
        HandleProgram,
        Info,
        TtsProgram,
        TtsVoice,
    )
    from wyoming.ping import Ping, Pong
    from wyoming.server import AsyncEventHandler, AsyncTcpServer
    from wyoming.tts import Synthesize

from intents.safety import OUT_OF_SCOPE
from skill.app import Skill
from skill.audio.pcm import PcmFormat
from skill.errors import AudioError, InputError, SkillError, public_message
from skill.events import AudioCancel, AudioChunk, AudioEnd, Failed, Transcript
from skill.settings.server import ServerSettings

from .answer_audio import speak
from .errors import RateLimited
from .limits import UTTERANCES, ClientShare, PerClient, RateLimiter
from .metrics import Metrics
from .schemas import session_id
from .streamed_audio import TooLong, Utterance, chunks

log = logging.getLogger(__name__)
LANGUAGES = ["en", "en-US"]
CHUNK_SAMPLES = 1024
VERSION = "0.1.0"


# What keeps a connection open: audio (at least MIN_PROGRESS_BYTES a chunk), its end, a text to speak or
# answer. Pings, describes, starts without audio and crumbs of audio alone do not (they held every slot).
PROGRESS = frozenset({"audio-chunk", "audio-stop", "synthesize", "transcript"})
# What counts against a client's request rate: a question to answer, words to speak, the end of an utterance.
CHARGED = frozenset({"transcript", "synthesize", "audio-stop"})
MIN_PROGRESS_BYTES = 320  # 10 ms of 16 kHz 16-bit mono
KNOWN_EVENTS = PROGRESS | {"describe", "ping", "transcribe", "audio-start"}
CONNECTIONS = "Wyoming connections"


class ProtocolError(Exception):
    """The peer broke the wire format; we say so in an error event and hang up."""


def build_info(skill: Skill) -> Event:
    """Built once per server: `describe` must be answered well within Home Assistant's 1 s."""
    attribution = Attribution(name="b12-skill", url="https://example.invalid/b12-skill")
    return Info(
        asr=[
            AsrProgram(
                name="b12-skill-stt",
                attribution=attribution,
                installed=True,
                version=VERSION,
                description="Offline speech recognition tuned to questions about vitamin B12 and aches",
                models=[
                    AsrModel(
                        name="b12-domain",
                        attribution=attribution,
                        installed=True,
                        version=VERSION,
                        description="domain language model",
                        languages=LANGUAGES,
                    )
                ],
            )
        ],
        tts=[
            TtsProgram(
                name="b12-skill-tts",
                attribution=attribution,
                installed=True,
                version=VERSION,
                description="espeak-ng voice",
                voices=[
                    TtsVoice(
                        name="en-us",
                        attribution=attribution,
                        installed=True,
                        version=None,
                        description="English (US)",
                        languages=LANGUAGES,
                    )
                ],
            )
        ],
        handle=[
            HandleProgram(
                name="b12-skill",
                attribution=attribution,
                installed=True,
                version=VERSION,
                description="Answers questions about vitamin B12 and aches, with a consult-a-doctor reminder",
                models=[
                    HandleModel(
                        name="b12-skill",
                        attribution=attribution,
                        installed=True,
                        version=VERSION,
                        description="B12 and aches",
                        languages=LANGUAGES,
                    )
                ],
            )
        ],
    ).event()


async def read_event(
    reader: asyncio.StreamReader, settings: ServerSettings, wait_s: float | None = None
) -> Event | None:
    """Like wyoming.event.async_read_event, but bad input is an error (not a silent end of stream)
    and a peer that stops mid-event times out. `wait_s`: how long to wait for the next event."""
    wait_s = settings.idle_timeout_s if wait_s is None else wait_s
    try:
        line = await asyncio.wait_for(reader.readline(), max(wait_s, 0.0))
    except TimeoutError:
        raise ProtocolError(f"nothing done for {settings.idle_timeout_s:g} s; closing") from None
    except ValueError:  # over the reader's line limit
        raise ProtocolError("event header line is too long") from None
    if not line:
        return None
    try:
        header = json.loads(line)
    except (ValueError, RecursionError):
        raise ProtocolError("event header is not JSON (or nested too deep)") from None
    if not isinstance(header, dict) or not isinstance(header.get("type"), str):
        raise ProtocolError("event header must be a JSON object with a string 'type'")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise ProtocolError("event 'data' must be a JSON object")
    extra = await _read_exactly(reader, header, "data_length", settings)
    if extra:
        try:
            more = json.loads(extra)
        except (ValueError, RecursionError):
            raise ProtocolError("event data is not JSON (or nested too deep)") from None
        if not isinstance(more, dict):
            raise ProtocolError("event data must be a JSON object")
        data.update(more)
    payload = await _read_exactly(reader, header, "payload_length", settings)
    return Event(type=header["type"], data=data, payload=payload or None)


async def _read_exactly(
    reader: asyncio.StreamReader, header: dict[str, Any], field: str, settings: ServerSettings
) -> bytes:
    length = header.get(field)
    if length is None or length == 0:
        return b""
    if not isinstance(length, int) or length < 0 or length > settings.max_body_bytes:
        raise ProtocolError(f"{field} must be an integer between 0 and {settings.max_body_bytes}")
    try:
        return await asyncio.wait_for(reader.readexactly(length), settings.read_timeout_s)
    except asyncio.IncompleteReadError as exc:
        raise ProtocolError(f"{field} announced {length} bytes but only {len(exc.partial)} arrived") from None
    except TimeoutError:
        raise ProtocolError(
            f"{field} announced {length} bytes; they did not arrive within {settings.read_timeout_s:g} s"
        ) from None


class SkillEventHandler(AsyncEventHandler):
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        skill: Skill,
        settings: ServerSettings,
        metrics: Metrics,
        info: Event,
        shares: PerClient,
        limiter: RateLimiter,
    ) -> None:
        super().__init__(reader, writer)
        self.skill, self.settings, self.metrics, self.info = skill, settings, metrics, info
        self.shares, self.limiter = shares, limiter
        peer = writer.get_extra_info("peername")
        self.client = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        self._asr_session: str | None = None
        self._language: str | None = None
        self._incoming = Utterance(settings.max_audio_s)
        self._utterance = ClientShare(shares, UTTERANCES, self.client, settings.max_utterances_per_client)

    async def run(self) -> None:
        limit, share = self.settings.wyoming_max_connections, self.settings.wyoming_max_per_client
        # Refused at once with a reason, so one client opening connections in a loop cannot exhaust
        # the process (nor take every connection from the others); open ones are served as before.
        refusal = None
        if self.metrics.wyoming_connections >= limit:
            refusal = f"the skill is serving {limit} Wyoming connections, its limit; try again shortly"
        elif not self.shares.acquire(CONNECTIONS, self.client, share):
            refusal = f"this client already has {share} Wyoming connections open, its share; try again shortly"
        if refusal is not None:
            await self._error("busy", refusal)
            self.writer.close()
            return
        self.metrics.wyoming_connections += 1
        loop = asyncio.get_running_loop()
        # Only events that do something keep a connection: pings, describes and unknown events alone
        # do not (sixteen idle pingers used to hold every connection slot).
        deadline = loop.time() + self.settings.idle_timeout_s
        try:
            while True:
                try:
                    event = await read_event(self.reader, self.settings, deadline - loop.time())
                except ProtocolError as exc:
                    await self._error("bad_event", str(exc))
                    break
                if event is None or not await self.handle_event(event):
                    break
                crumb = event.type == "audio-chunk" and len(event.payload or b"") < MIN_PROGRESS_BYTES
                if event.type in PROGRESS and not crumb:
                    deadline = loop.time() + self.settings.idle_timeout_s
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the peer hung up; nothing to tell it
        finally:
            self.metrics.wyoming_connections -= 1
            self.shares.release(CONNECTIONS, self.client)
            await self.disconnect()
            self.writer.close()

    async def handle_event(self, event: Event) -> bool:
        # Metric labels from a fixed set: a client inventing event types cannot grow /metrics.
        self.metrics.request("wyoming", event.type if event.type in KNOWN_EVENTS else "other", 200)
        try:
            return await self._dispatch(event)
        except (KeyError, TypeError, ValueError) as exc:
            await self._error("bad_event", f"malformed {event.type} event: {exc}")
            return False
        except SkillError as exc:
            await self._error(exc.code, exc.message)
            return True

    async def _dispatch(self, event: Event) -> bool:
        if event.type in CHARGED:
            try:
                self.limiter.check(self.client)  # a question, a spoken answer or a final pass: one request
            except RateLimited:
                if AudioStop.is_type(event.type):
                    await self._cancel_asr()
                    self._incoming.reset()
                raise
        if Describe.is_type(event.type):
            await self.write_event(self.info)
        elif Ping.is_type(event.type):
            await self.write_event(Pong(text=event.data.get("text")).event())
        elif event.type == "transcribe":
            await self._begin_asr(event.data.get("language"))
        elif AudioStart.is_type(event.type):
            if self._asr_session is None:
                await self._begin_asr(None)  # audio with no transcribe first: still transcribe it
        elif WyAudioChunk.is_type(event.type):
            await self._audio(WyAudioChunk.from_event(event))
        elif AudioStop.is_type(event.type):
            await self._finish_asr()
        elif Synthesize.is_type(event.type):
            await self._synthesize(Synthesize.from_event(event))
        elif WyTranscript.is_type(event.type):
            await self._handle(WyTranscript.from_event(event))
        # Anything else is dropped, as the protocol asks of servers.
        return True

    async def _begin_asr(self, language: str | None) -> None:
        await self._cancel_asr()
        try:
            self._utterance.take()
        except SkillError:
            self._incoming.drop()  # one error for the utterance, not one per chunk
            raise
        self._asr_session = session_id(None, prefix="wyoming-asr:")
        self._language = language
        self._incoming.reset()

    async def _audio(self, chunk: WyAudioChunk) -> None:
        if self._incoming.dropped:
            return
        if self._asr_session is None:
            await self._begin_asr(None)
        assert self._asr_session is not None  # set just above; for the type checker
        try:
            fmt = PcmFormat(sample_rate=chunk.rate, sample_width=chunk.width, channels=chunk.channels)  # type: ignore[arg-type]
        except ValueError as exc:
            raise AudioError(f"unsupported audio format: {exc.errors()[0]['msg']}") from None  # type: ignore[attr-defined]
        try:
            pcm = self._incoming.feed(chunk.audio, fmt)
        except TooLong:
            await self._cancel_asr()
            self._incoming.drop()
            raise
        if not pcm:
            return
        with self.metrics.timed("recognize-chunk"):
            async for out in self.skill.hearing.run(AudioChunk(session=self._asr_session, pcm=pcm)):
                if isinstance(out, Failed):
                    # One error for the utterance, not one per chunk (a full recognizer refused every chunk).
                    self._end_asr()
                    self._incoming.drop()
                    raise _as_error(out)

    async def _finish_asr(self) -> None:
        if self._incoming.dropped:  # its error was already sent
            self._incoming.reset()
            return
        session = self._asr_session
        if session is None:
            raise AudioError("audio-stop came before any audio")
        self._end_asr()  # the recognizer's slot ends with this call, whatever it returns
        with self.metrics.timed("recognize-end"):
            async for out in self.skill.hearing.run(AudioEnd(session=session)):
                if isinstance(out, Failed):
                    raise _as_error(out)
                if isinstance(out, Transcript) and out.final:
                    await self.write_event(WyTranscript(text=out.text, language=self._language).event())

    async def _synthesize(self, request: Synthesize) -> None:
        if len(request.text) > self.settings.max_speech_chars:
            raise AudioError(f"text is {len(request.text)} characters; the limit is {self.settings.max_speech_chars}")
        spoken = await speak(self.skill, self.metrics, request.text)
        pcm, rate = spoken.pcm, spoken.sample_rate
        await self.write_event(AudioStart(rate=rate, width=2, channels=1).event())
        for piece in chunks(pcm, CHUNK_SAMPLES * 2):
            await self.write_event(WyAudioChunk(rate=rate, width=2, channels=1, audio=piece).event())
        await self.write_event(AudioStop().event())

    async def _handle(self, transcript: WyTranscript) -> None:
        if transcript.context is not None and not isinstance(transcript.context, dict):
            raise InputError("transcript 'context' must be a JSON object")
        if not isinstance(transcript.text, str):
            raise InputError("transcript 'text' must be a string")
        context = transcript.context or {}
        conversation = context.get("conversation_id") or context.get("device_id") or context.get("satellite_id")
        session = session_id(str(conversation) if conversation else None, prefix="wyoming:")
        with self.metrics.timed("answer"):
            result = await self.skill.ask(transcript.text, session)
        reply_context = {**context, "conversation_id": session.removeprefix("wyoming:")}
        if isinstance(result, Failed):
            said = public_message(result.code, result.message)
            await self.write_event(NotHandled(text=said, context=reply_context).event())
        elif result.intent in (None, OUT_OF_SCOPE):  # not ours to answer: the text says so, HA may fall back
            await self.write_event(NotHandled(text=result.text, context=reply_context).event())
        else:
            await self.write_event(Handled(text=result.text, context=reply_context).event())

    async def write_event(self, event: Event) -> None:
        # A peer that stops reading must not keep its connection, and what it holds, forever.
        try:
            await asyncio.wait_for(async_write_event(event, self.writer), self.settings.read_timeout_s)
        except TimeoutError:
            self.writer.transport.abort()
            raise ConnectionResetError(f"the peer took nothing for {self.settings.read_timeout_s:g} s") from None

    async def _error(self, code: str, text: str) -> None:
        self.metrics.error("wyoming", code)
        try:
            await self.write_event(Error(text=public_message(code, text), code=code).event())
        except ConnectionError:
            pass

    async def _cancel_asr(self) -> None:
        if self._asr_session is not None:
            await self.skill.hearing.drain(AudioCancel(session=self._asr_session))
        self._end_asr()

    def _end_asr(self) -> None:
        """The utterance is over for this connection: its session forgotten, its share given back."""
        self._asr_session = None
        self._utterance.give_back()

    async def disconnect(self) -> None:
        await self._cancel_asr()  # a peer gone mid-utterance must not keep its decoder


def _as_error(failed: Failed) -> SkillError:
    exc = SkillError(failed.message)
    exc.code = failed.code
    return exc


class WyomingServer(AsyncTcpServer):
    """The package's TCP server, plus the bound port (for port 0) and a stop that waits."""

    @property
    def bound_port(self) -> int:
        server = self._server
        if not isinstance(server, asyncio.Server):
            raise RuntimeError("the Wyoming server is not started")
        return int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        tasks = list(self._handlers)
        await super().stop()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        if self._server is not None:
            await self._server.wait_closed()


async def start_wyoming(
    skill: Skill, settings: ServerSettings, metrics: Metrics, shares: PerClient, limiter: RateLimiter
) -> WyomingServer:
    """`shares` and `limiter` are the HTTP doors' own: a client's share of the recognizer and its request
    rate span every door."""
    info = build_info(skill)
    server = WyomingServer(settings.effective_wyoming_host(), settings.wyoming_port)

    def factory(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> SkillEventHandler:
        return SkillEventHandler(
            reader, writer, skill=skill, settings=settings, metrics=metrics, info=info, shares=shares, limiter=limiter
        )

    await server.start(factory)
    return server
