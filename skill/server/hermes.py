"""The Hermes door: the MQTT protocol Rhasspy 2.5 satellites and other Hermes clients speak.

    hermes/nlu/query                        -> hermes/intent/<intent> | hermes/nlu/intentNotRecognized
    hermes/tts/say                          -> hermes/audioServer/<site>/playBytes/<id>, hermes/tts/sayFinished
    hermes/asr/startListening, hermes/audioServer/<site>/audioFrame (WAV chunks), hermes/asr/stopListening
                                            -> hermes/asr/textCaptured
    hermes/dialogueManager/startSession     -> hermes/dialogueManager/sessionStarted (its init text spoken) and
                                               hermes/asr/startListening; the hermes/asr/textCaptured of that
                                               session is answered in its conversation, spoken, and listened on
    hermes/dialogueManager/continueSession  -> its text spoken, the session listens on
    hermes/dialogueManager/endSession       -> its text spoken, hermes/dialogueManager/sessionEnded

Every question goes through the skill's pipelines like any other door's. Replies use the letter
case of the request: the protocol's camelCase ("siteId"), or snake_case ("site_id") for clients
that send it (rhasspy-hermes 0.6's command line does). Requests that start something (a query, a
say, a session, a listen) come through MQTT 5 shared subscriptions at QoS 1, so each reaches one
instance of a group; what follows them (audio frames, stop listening, a transcript, continue or end
a session) reaches every instance, and only the one holding that site or session acts. The broker
going away is retried with a back-off (1 s doubling to 30 s) and reported in /healthz.

With conversations in Redis (`[sessions] backend = "redis"`) the instances also share a ledger
(hermes_ledger.py) and lose nothing when one dies: every instance reads every request, and one with a
free hand takes it in Redis before answering; what an instance that dies had taken is answered by
another. Dialogue sessions live in Redis and every instance keeps every listening site's audio. Each
message is worked on in its own task, in order per site.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
import ssl
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from skill.app import Skill
from skill.audio.pcm import decode_wav, pcm_seconds
from skill.errors import ConfigError, SkillError
from skill.events import Answer, AudioQuery, TextQuery, Transcript, Understood
from skill.settings.mqtt import MqttSettings

from .hermes_ledger import Entry, Ledger
from .metrics import EngineStatus

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
MAX_AUDIO_S = 30.0  # an utterance longer than this is cut, as the other doors do
MAX_WORKING = 16  # messages worked on at once (each written down in the ledger first)
MAX_PENDING = 1000  # messages read and not yet answered; past this the door stops reading from the broker
MAX_SEEN = 10_000  # messages remembered for naming claims
REAP_EVERY_S = 1.0
_CAMEL = re.compile(r"(?<=[a-z])([A-Z])")
Handler = Callable[["_Request"], Awaitable[None]]


def _snake(value: Any) -> Any:
    if isinstance(value, dict):
        return {_CAMEL.sub(r"_\1", k).lower(): _snake(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake(v) for v in value]
    return value


@dataclass
class _Request:
    topic: str
    body: dict[str, Any]
    snake: bool  # answer in the request's letter case
    pcm: bytes = b""  # stop listening: the audio heard since the site started listening

    def get(self, camel: str, default: Any = None) -> Any:
        return self.body.get(camel, self.body.get(_CAMEL.sub(r"_\1", camel).lower(), default))

    @property
    def site(self) -> str:
        return str(self.get("siteId") or "default")


@dataclass
class _Listening:
    session: str
    frames: list[bytes] = field(default_factory=list)
    seconds: float = 0.0


class HermesDoor:
    def __init__(
        self, skill: Skill, settings: MqttSettings, status: EngineStatus, ledger: Ledger | None = None
    ) -> None:
        self._skill = skill
        self._settings = settings
        self._status = status  # what /healthz says about the broker connection
        self._ledger = ledger
        self._client: Any = None
        self._listening: dict[str, _Listening] = {}  # by site
        self._dialogues: dict[str, str] = {}  # session -> site, for sessions this instance manages
        self._working = asyncio.Semaphore(MAX_WORKING)
        self._pending = asyncio.Semaphore(MAX_PENDING)
        self._site_locks: dict[str, tuple[asyncio.Lock, int]] = {}  # and how many tasks use each
        self._tasks: set[asyncio.Task[None]] = set()
        # How often each message every instance receives has come, so that the same words said again
        # ("tell me more" twice in a session) are a new message, and all instances name it alike.
        self._seen: OrderedDict[str, int] = OrderedDict()
        # Requests that start something go to one instance of the group (shared subscriptions); what
        # follows them goes to every instance, and only the one holding that session or site acts.
        self._shared: dict[str, Handler] = {
            "hermes/nlu/query": self._nlu_query,
            "hermes/tts/say": self._tts_say,
            "hermes/dialogueManager/startSession": self._start_session,
        }
        self._everyone: dict[str, Handler] = {
            "hermes/dialogueManager/continueSession": self._continue_session,
            "hermes/dialogueManager/endSession": self._end_session,
            "hermes/asr/textCaptured": self._text_captured,
        }
        if settings.asr:
            # Shared, every instance hears the audio anyway; with a ledger every instance keeps it too,
            # so the one that answers (or a survivor) has it.
            listeners = self._everyone if ledger is not None else self._shared
            listeners["hermes/asr/startListening"] = self._start_listening
            self._everyone["hermes/asr/stopListening"] = self._stop_listening
        self._handlers = self._shared | self._everyone
        # Messages every instance receives that exactly one should act on (the others would otherwise
        # each answer once the dialogue lives in Redis).
        # With a ledger every instance reads every request (see _subscribe), and taking it in Redis picks the
        # one that answers; without one, starting requests reach one instance through the shared subscription.
        acting = self._handlers if ledger is not None else self._everyone
        self._one_acts = set(acting) - {"hermes/asr/startListening"}

    # --- connection ---------------------------------------------------------------------------

    def _make_client(self) -> Any:
        import aiomqtt

        tls = None
        if self._settings.tls:
            tls = ssl.create_default_context(cafile=str(self._settings.ca_file) if self._settings.ca_file else None)
        return aiomqtt.Client(
            self._settings.host,
            self._settings.port,
            username=self._settings.username,
            password=self._settings.password,
            identifier=f"b12-skill-{uuid.uuid4().hex[:8]}",
            protocol=aiomqtt.ProtocolVersion.V5,
            tls_context=tls,
            timeout=10,
        )

    def _where(self) -> str:
        return f"{self._settings.host}:{self._settings.port}"

    async def check(self) -> None:
        """Connect once at start-up: an unreachable broker or refused credentials stop the start."""
        try:
            import aiomqtt
        except ImportError:
            raise ConfigError("[mqtt] enabled = true needs the `aiomqtt` package (pip install aiomqtt)") from None
        try:
            async with self._make_client():
                pass
        except aiomqtt.MqttError as exc:
            raise ConfigError(f"[mqtt] cannot connect to the broker at {self._where()}: {exc}") from None

    async def run(self) -> None:
        """Serve until cancelled, reconnecting with a back-off when the broker goes away."""
        import aiomqtt

        backoff = FIRST_BACKOFF_S
        keeper = asyncio.create_task(self._keep_ledger()) if self._ledger is not None else None
        try:
            while True:
                try:
                    async with self._make_client() as client:
                        self._client = client
                        await self._subscribe(client)
                        self._status.mqtt, self._status.mqtt_error = "connected", None
                        backoff = FIRST_BACKOFF_S
                        log.info("Hermes door connected to %s", self._where())
                        async for message in client.messages:
                            await self._dispatch(str(message.topic), message.payload)
                except aiomqtt.MqttError as exc:
                    self._status.mqtt = "reconnecting"
                    self._status.mqtt_error = f"MQTT broker at {self._where()} unreachable: {exc}"
                    log.warning("%s; retrying in %.0f s", self._status.mqtt_error, backoff)
                finally:
                    self._client = None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            if keeper is not None:
                keeper.cancel()
            for task in list(self._tasks):
                task.cancel()
            if self._ledger is not None:
                with contextlib.suppress(Exception):
                    await self._ledger.close()

    async def _keep_ledger(self) -> None:
        """Beat the heartbeat, and answer what instances that stopped beating left unanswered."""
        from redis.exceptions import RedisError

        assert self._ledger is not None  # noqa: S101 - only started with a ledger
        while True:
            try:
                await self._ledger.beat()
                for entry in await self._ledger.orphans():
                    log.warning("answering %s left by an instance that stopped", entry.topic)
                    self._spawn(self._replay(entry), self._site_of_payload(entry.payload))
            except (RedisError, OSError) as exc:
                log.warning("Hermes ledger: Redis unreachable (%s)", exc)
            await asyncio.sleep(REAP_EVERY_S)

    @staticmethod
    def _site_of_payload(payload: bytes) -> str:
        with contextlib.suppress(ValueError, AttributeError):
            body = json.loads(payload)
            return str(body.get("siteId") or body.get("site_id") or "default")
        return "default"

    async def _subscribe(self, client: Any) -> None:
        # mosquitto 2.0 drops the messages of a shared subscription in flight to a member that dies (a
        # kill -9 test lost 1 of 60), so with a ledger every instance reads every request and holds it
        # until one has taken it: a request is never in the hands of one instance only.
        group = self._settings.share_group if self._ledger is None else ""
        for topic in self._shared:
            await client.subscribe(f"$share/{group}/{topic}" if group else topic, qos=1)
        for topic in self._everyone:
            await client.subscribe(topic, qos=1)
        if self._settings.asr:  # every instance sees the frames; the one listening keeps them
            await client.subscribe("hermes/audioServer/+/audioFrame", qos=0)

    async def _publish(self, topic: str, body: dict[str, Any] | bytes, snake: bool = False) -> None:
        if self._client is None:
            return
        payload = body if isinstance(body, bytes) else json.dumps(_snake(body) if snake else body)
        await self._client.publish(topic, payload, qos=1)

    # --- messages -----------------------------------------------------------------------------

    async def _dispatch(self, topic: str, payload: Any) -> None:
        """Read one message. What must keep its order with the audio (start and stop listening, frames)
        is done here; the rest is worked on in a task of its own, in order per site."""
        data = bytes(payload) if isinstance(payload, bytes | bytearray) else str(payload or "").encode()
        if topic.endswith("/audioFrame"):
            self._frame(topic.split("/")[2], data)
            return
        request = self._request(topic, data)
        if request is None:
            return
        if topic == "hermes/asr/startListening":
            session = str(request.get("sessionId") or uuid.uuid4().hex)
            self._listening[request.site] = _Listening(session)
            if self._ledger is not None:
                return  # every instance keeps the audio; nothing to answer yet
        if topic == "hermes/asr/stopListening":
            listening = self._listening.pop(request.site, None)
            if listening is None:
                return
            request.pcm = b"".join(listening.frames)
            request.body["sessionId"] = listening.session
            data = json.dumps(request.body).encode()  # written down with the session it was heard for
        claim = self._claim_key(topic, data) if self._ledger is not None and topic in self._one_acts else None
        await self._pending.acquire()
        self._spawn(self._work(request, data, claim), request.site, acquired=True)

    def _claim_key(self, topic: str, data: bytes) -> str:
        """The message's name for its claim: its content, and how many times that content came before
        (counted as read, in the broker's order, which every instance sees alike)."""
        base = hashlib.sha1(f"{topic}\n".encode() + data, usedforsecurity=False).hexdigest()
        n = self._seen.pop(base, 0)
        self._seen[base] = n + 1
        while len(self._seen) > MAX_SEEN:
            self._seen.popitem(last=False)
        return f"{base}:{n}"

    def _request(self, topic: str, data: bytes) -> _Request | None:
        if topic not in self._handlers:
            return None
        try:
            body = json.loads(data) if data else {}
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            log.warning("ignored %s: the payload is not a JSON object (%s)", topic, exc)
            return None
        request = _Request(topic, body, snake="site_id" in body or "session_id" in body)
        if self._settings.site_ids and request.site not in self._settings.site_ids:
            return None
        return request

    def _spawn(self, work: Awaitable[None], site: str, acquired: bool = False) -> None:
        lock, users = self._site_locks.get(site, (asyncio.Lock(), 0))
        self._site_locks[site] = (lock, users + 1)

        async def in_order() -> None:
            try:
                async with lock:
                    await work
            finally:
                if acquired:
                    self._pending.release()
                held, left = self._site_locks[site]
                if left > 1:
                    self._site_locks[site] = (held, left - 1)
                else:  # no one else waits on this site: forget its lock
                    del self._site_locks[site]

        task = asyncio.create_task(in_order())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _work(self, request: _Request, data: bytes, claim: str | None) -> None:
        from redis.exceptions import RedisError

        async with self._working:  # an instance with a free hand takes the next request: the work spreads
            taken = False
            if self._ledger is not None and claim is not None:
                try:
                    taken = await self._ledger.take(claim, request.topic, data, request.pcm or None)
                    if not taken:
                        return  # another instance answers this one
                except (RedisError, OSError) as exc:  # without Redis: answered (maybe twice), not kept
                    log.warning("Hermes ledger: Redis unreachable (%s)", exc)
            await self._handle(request)
        if taken and self._ledger is not None and claim is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._ledger.strike(claim)

    async def _replay(self, entry: Entry) -> None:
        """A request an instance that stopped had written down: answered here, then struck off."""
        request = self._request(entry.topic, entry.payload)
        if request is not None:
            request.pcm = entry.pcm or b""
            async with self._working:
                await self._handle(request)
        if self._ledger is not None:
            from redis.exceptions import RedisError

            with contextlib.suppress(RedisError, OSError):
                await self._ledger.strike(entry.id)

    async def _handle(self, request: _Request) -> None:
        try:
            await self._handlers[request.topic](request)
        except SkillError as exc:  # one bad request never stops the door
            log.warning("could not handle %s: %s", request.topic, exc.message)
        except (TypeError, ValueError, AttributeError) as exc:  # a field of the wrong type in a JSON payload
            log.warning("could not handle %s: %s", request.topic, exc)

    async def _nlu_query(self, r: _Request) -> None:
        text, session = str(r.get("input") or ""), r.get("sessionId")
        events = await self._skill.understanding.drain(TextQuery(session=session or "hermes-nlu", text=text))
        understood = next((e for e in events if isinstance(e, Understood)), None)
        base = {"input": text, "siteId": r.site, "id": r.get("id"), "sessionId": session}
        match = understood.result if understood is not None else None
        if match is None or match.kind != "match":
            await self._publish("hermes/nlu/intentNotRecognized", base, r.snake)
            return
        slots = [
            {"entity": name, "slotName": name, "rawValue": value, "value": {"kind": "Unknown", "value": value}}
            for name, value in match.slots.items()
        ]
        body = base | {"intent": {"intentName": match.intent, "confidenceScore": match.confidence}, "slots": slots}
        await self._publish(f"hermes/intent/{match.intent}", body, r.snake)

    async def _tts_say(self, r: _Request) -> None:
        request_id = str(r.get("id") or uuid.uuid4().hex)
        await self._say(r.site, str(r.get("text") or ""), request_id)
        await self._publish(
            "hermes/tts/sayFinished", {"id": request_id, "siteId": r.site, "sessionId": r.get("sessionId")}, r.snake
        )

    async def _say(self, site: str, text: str, request_id: str | None = None) -> None:
        if text.strip():
            speech = await self._skill.speak(text)
            await self._publish(f"hermes/audioServer/{site}/playBytes/{request_id or uuid.uuid4().hex}", speech.wav)

    # --- speech to text -----------------------------------------------------------------------

    async def _start_listening(self, r: _Request) -> None:
        """Nothing left to do: the site's buffer was opened when the message was read, in order with its audio."""

    def _frame(self, site: str, wav: bytes) -> None:
        listening = self._listening.get(site)
        if listening is None or listening.seconds >= MAX_AUDIO_S:
            return
        try:
            pcm = decode_wav(wav)
        except SkillError as exc:
            log.warning("ignored an audio frame from %s: %s", site, exc.message)
            return
        listening.frames.append(pcm)
        listening.seconds += pcm_seconds(pcm)

    async def _stop_listening(self, r: _Request) -> None:
        pcm, session = r.pcm, str(r.get("sessionId") or uuid.uuid4().hex)
        events = await self._skill.hearing.drain(AudioQuery(session=session, pcm=pcm))
        heard = [e for e in events if isinstance(e, Transcript) and e.final]
        text, confidence = (heard[-1].text, heard[-1].confidence) if heard else ("", 0.0)
        await self._publish(
            "hermes/asr/textCaptured",
            {
                "text": text,
                "likelihood": confidence,
                "seconds": round(pcm_seconds(pcm), 3),
                "siteId": r.site,
                "sessionId": session,
            },
            r.snake,
        )

    # --- dialogue -----------------------------------------------------------------------------

    async def _site_of(self, session: str) -> str | None:
        if session in self._dialogues or self._ledger is None:
            return self._dialogues.get(session)
        return await self._ledger.dialogue_site(session)

    async def _hold(self, session: str, site: str) -> None:
        self._dialogues[session] = site
        if self._ledger is not None:
            await self._ledger.hold_dialogue(session, site)

    async def _start_session(self, r: _Request) -> None:
        session = uuid.uuid4().hex
        await self._hold(session, r.site)
        await self._publish(
            "hermes/dialogueManager/sessionStarted",
            {"sessionId": session, "siteId": r.site, "customData": r.get("customData")},
            r.snake,
        )
        init = r.get("init") or {}
        await self._say(r.site, str(init.get("text") or ""))
        if init.get("type", "action") == "action":
            await self._listen(session, r.site, r.snake)
        else:  # a notification: said, and the session is over
            await self._ended(session, r.site, r.snake)

    async def _continue_session(self, r: _Request) -> None:
        session = str(r.get("sessionId") or "")
        site = await self._site_of(session)
        if site is not None:
            await self._say(site, str(r.get("text") or ""))
            await self._listen(session, site, r.snake)

    async def _end_session(self, r: _Request) -> None:
        session = str(r.get("sessionId") or "")
        site = await self._site_of(session)
        if site is not None:
            await self._say(site, str(r.get("text") or ""))
            await self._ended(session, site, r.snake)

    async def _text_captured(self, r: _Request) -> None:
        """What a site said in a dialogue session this instance holds (heard by any instance's recognizer,
        or by another ASR service): answered in that conversation, then the session listens on."""
        session = str(r.get("sessionId") or "")
        site = await self._site_of(session)
        if site is not None:
            await self._dialogue_turn(session, site, str(r.get("text") or ""), r.snake)

    async def _dialogue_turn(self, session: str, site: str, text: str, snake: bool) -> None:
        answer = await self._skill.ask(text, session)
        if isinstance(answer, Answer):
            await self._say(site, answer.text)
            if answer.end_session:
                await self._ended(session, site, snake)
                return
        await self._listen(session, site, snake)

    async def _listen(self, session: str, site: str, snake: bool) -> None:
        await self._publish("hermes/asr/startListening", {"siteId": site, "sessionId": session}, snake)

    async def _ended(self, session: str, site: str, snake: bool) -> None:
        self._dialogues.pop(session, None)
        if self._ledger is not None:
            await self._ledger.drop_dialogue(session)
        await self._skill.sessions.end(session)
        body = {"sessionId": session, "siteId": site, "termination": {"reason": "nominal"}}
        await self._publish("hermes/dialogueManager/sessionEnded", body, snake)


async def start_hermes(skill: Skill, settings: MqttSettings, status: EngineStatus) -> asyncio.Task[None]:
    """Check the broker (one-line errors), then serve in the background until the task is cancelled.
    With conversations in Redis, the instances also share a ledger of requests in hand there."""
    sessions = skill.settings.sessions
    ledger = Ledger(sessions.redis_url, sessions.redis_prefix) if sessions.backend == "redis" else None
    door = HermesDoor(skill, settings, status, ledger)
    await door.check()
    return asyncio.create_task(door.run(), name="hermes-door")
