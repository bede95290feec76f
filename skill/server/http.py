"""The HTTP front door: `create_app(settings, skill=None)` and the JSON / audio routes.

Routes: POST /v1/ask, POST /v1/listen, GET /v1/speech, GET /v1/stream (WebSocket, see ws.py),
POST /alexa, GET /healthz, GET /metrics, GET /openapi.json.

/v1/listen?speak=1 returns the spoken answer inside the JSON body as a base64 WAV
(`audio.wav_base64`): one response, one parser, no multipart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Literal

from aiohttp import WSCloseCode, web

from skill.app import Skill, build_skill
from skill.config import Settings
from skill.errors import InputError, SkillError
from skill.events import Answer, Failed
from skill.web import add_web_routes

from . import keys
from .alexa.handler import alexa_route
from .alexa.verify import CertFetcher, RequestVerifier
from .answer_audio import as_json_audio, speak
from .audio_in import decode_request_audio, parse_json, read_body, require_json
from .errors import status_for
from .limits import UTTERANCES, PerClient, RateLimiter, StreamSlots
from .metrics import EngineStatus, Metrics
from .middleware import boundary, error_response, guard
from .openapi import openapi_document
from .schemas import AskRequest, Health, ListenResult, session_id
from .ws import stream_route

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    skill: Skill | None = None,
    *,
    metrics: Metrics | None = None,
    cert_fetcher: CertFetcher | None = None,
    alexa_verifier: RequestVerifier | None = None,
) -> web.Application:
    """The app. With no `skill`, one is built at start-up and closed at shutdown (cleanup_ctx);
    a skill passed in belongs to the caller, who closes it."""
    server = settings.server
    app = web.Application(middlewares=[boundary, guard], client_max_size=server.max_body_bytes)
    app[keys.SETTINGS] = settings
    app[keys.METRICS] = metrics or Metrics()
    app[keys.ENGINES] = EngineStatus()
    app[keys.LIMITER] = RateLimiter(server.rate_per_minute, server.rate_burst)
    app[keys.STREAMS] = StreamSlots(server.max_streams)
    app[keys.PER_CLIENT] = PerClient()
    app[keys.ALEXA_VERIFIER] = alexa_verifier or RequestVerifier(
        fetcher=cert_fetcher, max_skew_s=server.alexa_max_skew_s
    )
    app.on_shutdown.append(_close_sockets)
    app.cleanup_ctx.append(_skill_ctx(skill))
    app.cleanup_ctx.append(_preload_ctx)
    app.router.add_post("/v1/ask", ask)
    app.router.add_post("/v1/listen", listen)
    app.router.add_get("/v1/speech", speech)
    app.router.add_get("/v1/stream", stream_route)
    if server.alexa_enabled:
        app.router.add_post("/alexa", alexa_route)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_route)
    app.router.add_get("/openapi.json", openapi)
    add_web_routes(app)  # the push-to-talk page at /
    return app


async def _close_sockets(app: web.Application) -> None:
    """Open WebSockets would hold shutdown for the whole grace period: tell them we are going away."""
    await asyncio.gather(
        *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in set(app[keys.STREAMS].sockets)),
        return_exceptions=True,
    )


def _skill_ctx(given: Skill | None):  # type: ignore[no-untyped-def]
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        if given is not None:
            app[keys.SKILL] = given
            yield
            return
        owned = await asyncio.to_thread(build_skill, app[keys.SETTINGS])  # ~0.7 s of loading data
        app[keys.SKILL] = owned
        try:
            yield
        finally:
            await owned.close()

    return ctx


async def _preload_ctx(app: web.Application) -> AsyncIterator[None]:
    """Load the recognizer and start the voice in the background, so the first spoken question is
    not slow and /healthz can say when they are ready; cancelled if the server stops first."""
    status, skill = app[keys.ENGINES], app[keys.SKILL]

    async def load_stt() -> None:
        try:
            await skill.speech()
            status.stt_loaded, status.stt_note = True, skill.engine_note
        except Exception as exc:  # reported by /healthz; requests get the error too
            log.exception("speech recognizer failed to load")
            status.stt_error = _public(exc, "failed to load (see the log)")

    async def load_tts() -> None:
        try:
            await skill.voice()
            status.tts_loaded = True
        except Exception as exc:
            log.exception("text-to-speech failed to start")
            status.tts_error = _public(exc, "failed to start (see the log)")

    tasks = [asyncio.create_task(load_stt(), name="preload-stt"), asyncio.create_task(load_tts(), name="preload-tts")]
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _public(exc: Exception, otherwise: str) -> str:
    """/healthz is unauthenticated: it names what failed, the log says why."""
    return (exc.public if isinstance(exc, SkillError) else None) or otherwise


def _answer_response(result: Answer | Failed) -> web.Response:
    if isinstance(result, Failed):
        return error_response(status_for(result.code), result.code, result.message)
    return web.Response(text=result.model_dump_json(), content_type="application/json")


async def ask(request: web.Request) -> web.Response:
    require_json(request)
    body = await read_body(request, request.app[keys.SETTINGS].server)
    query = parse_json(AskRequest, body)
    skill, metrics = request.app[keys.SKILL], request.app[keys.METRICS]
    with metrics.timed("answer"):
        result = await skill.ask(query.text, session_id(query.session))
    return _answer_response(result)


async def listen(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS].server
    skill, metrics = request.app[keys.SKILL], request.app[keys.METRICS]
    session = session_id(request.query.get("session"))
    body = await read_body(request, settings)
    with metrics.timed("decode"):
        pcm = await decode_request_audio(request, body, settings.max_audio_s)
    shares, client = request.app[keys.PER_CLIENT], request.remote or "unknown"
    share = shares.hold("listens", client, settings.max_listens_per_client)
    utterance = shares.hold(UTTERANCES, client, settings.max_utterances_per_client)
    with share, utterance, metrics.timed("recognize+answer"):
        result = await skill.listen(pcm, session)
    if isinstance(result, Failed):
        return _answer_response(result)
    audio = None
    if request.query.get("speak") in ("1", "true", "yes"):
        audio = as_json_audio(await speak(skill, metrics, result.text))
    out = ListenResult(transcript=result.transcript, answer=result, audio=audio)
    return web.Response(text=out.model_dump_json(), content_type="application/json")


async def speech(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS].server
    text = request.query.get("text", "").strip()
    if not text:
        raise InputError("?text= is required")
    if len(text) > settings.max_speech_chars:
        raise InputError(f"text is {len(text)} characters; the limit is {settings.max_speech_chars}")
    rate: int | None = None
    if "rate" in request.query:
        try:
            rate = int(request.query["rate"])
        except ValueError:
            raise InputError("?rate= must be an integer") from None
        if not 8000 <= rate <= 48000:
            raise InputError("?rate= must be between 8000 and 48000")
    share = request.app[keys.PER_CLIENT].hold(
        "speech requests", request.remote or "unknown", settings.max_speech_per_client
    )
    with share:
        spoken = await speak(request.app[keys.SKILL], request.app[keys.METRICS], text, rate)
    return web.Response(body=spoken.wav, content_type="audio/wav")


async def healthz(request: web.Request) -> web.Response:
    app = request.app
    skill, engines, metrics = app[keys.SKILL], app[keys.ENGINES], app[keys.METRICS]
    stt_in_flight = 0
    if engines.stt_loaded:
        stt_in_flight = (await skill.speech()).in_flight  # loaded: returns at once
    status: Literal["ok", "starting", "degraded"] = (
        "degraded"
        if engines.stt_error or engines.tts_error or skill.sessions.trouble or engines.mqtt == "reconnecting"
        else ("ok" if engines.stt_loaded and engines.tts_loaded else "starting")
    )
    health = Health(
        status=status,
        stt_loaded=engines.stt_loaded,
        stt_note=engines.stt_note,
        stt_error=engines.stt_error,
        tts_loaded=engines.tts_loaded,
        tts_error=engines.tts_error,
        in_flight_requests=metrics.in_flight - 1,  # not counting this one
        stt_in_flight=stt_in_flight,
        active_streams=len(app[keys.STREAMS]),
        max_streams=app[keys.STREAMS].limit,
        sessions=await skill.sessions.count(),
        sessions_backend=skill.sessions.name,
        sessions_error=skill.sessions.trouble,
        mqtt=engines.mqtt,
        mqtt_error=engines.mqtt_error,
        wyoming_connections=metrics.wyoming_connections,
    )
    return web.Response(text=health.model_dump_json(), content_type="application/json")


async def metrics_route(request: web.Request) -> web.Response:
    up = request.app[keys.SKILL].sessions.trouble is None
    return web.Response(text=request.app[keys.METRICS].render(up), content_type="text/plain", charset="utf-8")


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())


__all__ = ["create_app"]
