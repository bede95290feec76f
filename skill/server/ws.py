"""GET /v1/stream: a WebSocket carrying live audio in and the skill's events out.

Client -> server
  binary frames                 PCM audio, 16 kHz mono int16 unless a "start" message said otherwise
  {"type": "start", "rate": 16000, "width": 2, "channels": 1, "speak": true}   (all optional)
  {"type": "end"}               the utterance is over: recognize and answer it
  {"type": "cancel"}            drop the utterance in progress
  {"type": "ask", "text": "..."}  a typed question on the same session
Server -> client (JSON text frames, `type` first)
  ready {session, rate, width, channels}, partial {text}, transcript {text},
  answer {...the Answer model...}, error {code, message},
  audio-start {rate, width, channels, bytes} then binary frames of int16 PCM, then audio-end.
Every message is a model in ws_messages.py (and in /openapi.json); nothing is written by hand.
Every utterance and question on one connection shares its session, so follow-ups work.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ValidationError

from skill.app import Skill
from skill.audio.pcm import PcmFormat
from skill.errors import AudioError, SkillError, public_message
from skill.events import Answer, AudioCancel, AudioChunk, AudioEnd, Event, Failed, Transcript
from skill.settings.server import ServerSettings

from . import keys
from .answer_audio import speak
from .audio_in import validation_message
from .errors import RateLimited
from .limits import UTTERANCES, ClientShare
from .metrics import Metrics
from .schemas import ErrorBody, session_id
from .streamed_audio import TooLong, Utterance, chunks
from .ws_messages import (
    CLIENT_MESSAGE,
    CLIENT_TYPES,
    AudioEndMessage,
    AudioStartMessage,
    CancelMessage,
    EndMessage,
    PartialMessage,
    ReadyMessage,
    StartMessage,
    TranscriptMessage,
)

log = logging.getLogger(__name__)
AUDIO_FRAME_BYTES = 16384
MIN_PROGRESS_BYTES = 320  # 10 ms of 16 kHz 16-bit mono: less than this a frame does not count as progress


async def stream_route(request: web.Request) -> web.StreamResponse:
    app = request.app
    settings = app[keys.SETTINGS].server
    session = session_id(request.query.get("session") or request.query.get("device"))
    slots = app[keys.STREAMS]
    share = app[keys.PER_CLIENT].hold("streams", request.remote or "unknown", settings.max_streams_per_client)
    with share, slots.hold(session):  # refused with a JSON 503/409 before the upgrade when full or busy
        # "b12": the subprotocol the page names beside its token (a browser needs one chosen back).
        ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=settings.max_body_bytes, protocols=("b12",))
        await ws.prepare(request)
        slots.sockets.add(ws)
        metrics = app[keys.METRICS]
        metrics.active_streams += 1
        client = request.remote or "unknown"
        utterance = ClientShare(app[keys.PER_CLIENT], UTTERANCES, client, settings.max_utterances_per_client)
        # Each question asked on the connection counts against the client's request rate, as over HTTP.
        charge = functools.partial(app[keys.LIMITER].check, client)
        conversation = StreamConversation(ws, app[keys.SKILL], metrics, settings, session, utterance, charge)
        try:
            await conversation.run(speak_default=request.query.get("speak", "1") not in ("0", "false", "no"))
        except ConnectionResetError:  # the client left while we were sending (a closed browser tab)
            log.info("websocket %s: client went away mid-send", session)
        finally:
            metrics.active_streams -= 1
            slots.sockets.discard(ws)
            await conversation.abort()  # a client gone mid-utterance must not keep its decoder
            if not ws.closed:
                await ws.close()
    return ws


class StreamConversation:
    def __init__(
        self,
        ws: web.WebSocketResponse,
        skill: Skill,
        metrics: Metrics,
        settings: ServerSettings,
        session: str,
        utterance: ClientShare,
        charge: Callable[[], None],
    ) -> None:
        self.ws, self.skill, self.metrics, self.settings, self.session = ws, skill, metrics, settings, session
        self.utterance = utterance  # this client's share of the recognizer, held while an utterance is open
        self.charge = charge  # raises RateLimited when the client is over its request rate
        self.incoming = Utterance(settings.max_audio_s)
        self.speak_on = True
        self.speak_rate: int | None = None
        self._open = False  # an utterance is in progress in the recognizer

    async def run(self, speak_default: bool) -> None:
        self.speak_on = speak_default
        await self.send(ReadyMessage(session=self.session))
        loop = asyncio.get_running_loop()
        # Only audio, questions and ends keep the connection (and its stream slot): a client sending
        # nothing but cancels or bad messages is closed like a silent one.
        deadline = loop.time() + self.settings.idle_timeout_s
        while True:
            try:
                msg = await asyncio.wait_for(self.ws.receive(), max(deadline - loop.time(), 0.0))
            except TimeoutError:
                await self.error("timeout", f"nothing asked or said for {self.settings.idle_timeout_s:g} s; closing")
                return
            if msg.type == WSMsgType.BINARY:
                await self.audio(msg.data)
                if len(msg.data) >= MIN_PROGRESS_BYTES:  # crumbs of audio do not hold a stream slot
                    deadline = loop.time() + self.settings.idle_timeout_s
            elif msg.type == WSMsgType.TEXT:
                if await self.command(msg.data):
                    deadline = loop.time() + self.settings.idle_timeout_s
            else:  # CLOSE, CLOSING, CLOSED, ERROR (e.g. a frame over max_msg_size)
                if msg.type == WSMsgType.ERROR:
                    log.info("websocket %s ended: %s", self.session, self.ws.exception())
                return

    async def send(self, message: BaseModel) -> None:
        if not self.ws.closed:
            await self.ws.send_str(message.model_dump_json())

    async def error(self, code: str, message: str) -> None:
        self.metrics.error("ws", code)
        await self.send(ErrorBody(code=code, message=public_message(code, message)))

    async def command(self, text: str) -> bool:
        """Handle one text message; whether it was progress (an end of speech or a question)."""
        try:
            message = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested thousands deep
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.error(
                "bad_message", 'text frames must be JSON objects such as {"type": "end"}; send audio as binary frames'
            )
            return False
        kind = message["type"]
        try:
            command = CLIENT_MESSAGE.validate_python(message)
        except ValidationError as exc:
            known = kind in CLIENT_TYPES
            why = f"bad {kind} message: {validation_message(exc)}" if known else f"unknown message type {kind!r}"
            await self.error("bad_message", why)
            return False
        if isinstance(command, StartMessage):
            await self.start(command)
        elif isinstance(command, EndMessage):
            await self.end()  # the audio before it was the progress; ends alone do not keep a connection
        elif isinstance(command, CancelMessage):
            await self.abort()
        elif await self.charged():
            with self.metrics.timed("answer"):
                await self.deliver(await self.skill.ask(command.text, self.session))
            return True
        return False

    async def charged(self) -> bool:
        """Whether the client may ask one more question now; if not it is told, and nothing else is lost."""
        try:
            self.charge()
        except RateLimited as exc:
            await self.error(exc.code, exc.message)
            return False
        return True

    async def start(self, start: StartMessage) -> None:
        await self.abort()  # a new start begins a new utterance
        self.incoming.fmt = PcmFormat(sample_rate=start.rate, sample_width=start.width, channels=start.channels)  # type: ignore[arg-type]
        if start.speak is not None:
            self.speak_on = start.speak
        self.speak_rate = start.speak_rate

    async def audio(self, data: bytes) -> None:
        try:
            pcm = self.incoming.feed(data)
        except TooLong as exc:
            await self.abort()
            self.incoming.drop()
            await self.error(exc.code, exc.message)
            return
        except AudioError as exc:
            await self.error(exc.code, exc.message)
            return
        if not pcm:
            return
        try:
            self.utterance.take()
        except SkillError as exc:  # one error for the utterance; the rest of it is dropped
            self.incoming.drop()
            await self.error(exc.code, exc.message)
            return
        self._open = True
        with self.metrics.timed("recognize-chunk"):
            await self.relay(AudioChunk(session=self.session, pcm=pcm))

    async def end(self) -> None:
        if self.incoming.dropped:
            self._reset()
            return
        if self._open and not await self.charged():
            await self.abort()  # the final pass is the costly part: not run for a client over its rate
            return
        self._open = False
        with self.metrics.timed("recognize+answer"):
            await self.relay(AudioEnd(session=self.session))
        self._reset()

    async def relay(self, event: Event) -> None:
        async for out in self.skill.pipeline.run(event):
            if isinstance(out, Transcript) and not out.final:
                await self.send(PartialMessage(text=out.text))
            elif isinstance(out, Answer | Failed):
                if isinstance(out, Failed):
                    self._reset()  # the recognizer dropped its stream
                    if isinstance(event, AudioChunk):
                        # Refused or failed mid-utterance: one error, and the rest of this utterance is
                        # dropped (not one error per frame); the next "start" or "end" begins afresh.
                        self.incoming.drop()
                await self.deliver(out)

    async def deliver(self, result: Answer | Failed) -> None:
        if isinstance(result, Failed):
            await self.error(result.code, result.message)
            return
        if result.transcript is not None:
            await self.send(TranscriptMessage(text=result.transcript))
        await self.send(result)
        if self.speak_on:
            await self.send_speech(result.text)

    async def send_speech(self, text: str) -> None:
        try:
            spoken = await speak(self.skill, self.metrics, text, self.speak_rate)
        except SkillError as exc:
            await self.error(exc.code, exc.message)
            return
        pcm = spoken.pcm
        await self.send(AudioStartMessage(rate=spoken.sample_rate, bytes=len(pcm)))
        for piece in chunks(pcm, AUDIO_FRAME_BYTES):
            if self.ws.closed:
                return
            await self.ws.send_bytes(piece)
        await self.send(AudioEndMessage())

    async def abort(self) -> None:
        """Drop the utterance in progress (client cancelled, restarted, or went away)."""
        if self._open:
            await self.skill.pipeline.drain(AudioCancel(session=self.session))
        self._reset()

    def _reset(self) -> None:
        self._open = False
        self.utterance.give_back()
        self.incoming.reset()
