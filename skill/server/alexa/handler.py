"""POST /alexa: verify, then turn Alexa's request types and intents into the skill's events."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from aiohttp import web

from intents import IntentMatch, NotRecognized
from skill.app import Skill
from skill.events import Answer, Failed, Understood

from .. import keys
from ..audio_in import parse_json, read_body, require_json
from ..errors import BadSignature
from ..schemas import SESSION_RE, session_id
from .envelope import Intent, RequestEnvelope, response_envelope
from .model import QUERY_INTENT, intent_names

log = logging.getLogger(__name__)

# Alexa built-ins that have no counterpart in our catalogue.
EXTRA_BUILTINS = {"AMAZON.NavigateHomeIntent": "stop"}
SORRY = "Sorry, I could not answer that just now. Please try again."


async def alexa_route(request: web.Request) -> web.Response:
    app = request.app
    settings = app[keys.SETTINGS].server
    require_json(request)
    body = await read_body(request, settings)
    envelope = parse_json(RequestEnvelope, body)
    if settings.alexa_verify:
        headers = {k: request.headers.get(k, "") for k in ("SignatureCertChainUrl", "Signature-256", "Signature")}
        await app[keys.ALEXA_VERIFIER].verify(headers, body, envelope.request.timestamp)
    if settings.alexa_skill_id and envelope.application_id() != settings.alexa_skill_id:
        raise BadSignature("the request is for a different skill id")
    reply = await dispatch(app[keys.SKILL], envelope)
    return web.json_response(reply)


async def dispatch(skill: Skill, envelope: RequestEnvelope) -> dict[str, Any]:
    raw = envelope.session.session_id if envelope.session else None
    session = session_id(_safe(raw), prefix="alexa:")
    kind = envelope.request.type
    if kind == "SessionEndedRequest":
        await skill.sessions.end(session)
        return {"version": "1.0", "response": {}}  # Alexa ignores any speech here
    if kind == "LaunchRequest":
        result = await _by_intent(skill, session, "greeting", {}, "")
    elif kind == "IntentRequest" and envelope.request.intent is not None:
        result = await _intent(skill, session, envelope.request.intent)
    else:
        result = await _not_recognized(skill, session, "")
    if isinstance(result, Failed):
        log.info("alexa request failed: %s %s", result.code, result.message)
        return response_envelope(SORRY, end_session=False, attributes={"session": session})
    attributes = {"session": session, "last_intent": result.intent, "facts": list(result.facts)}
    return response_envelope(result.text, end_session=result.end_session, attributes=attributes)


async def _intent(skill: Skill, session: str, intent: Intent) -> Answer | Failed:
    name = intent.name
    query = intent.slots.get("query")
    if name == QUERY_INTENT or (query is not None and query.value):
        text = (query.value if query else None) or ""
        return await skill.ask(text, session) if text.strip() else await _not_recognized(skill, session, "")
    if name == "AMAZON.FallbackIntent":
        return await _not_recognized(skill, session, "")
    ours = intent_names(skill.catalog).get(name) or EXTRA_BUILTINS.get(name)
    if ours is None:
        return await _not_recognized(skill, session, name)
    slots = {s.name: v for s in intent.slots.values() if (v := _slot_value(skill, s.name, s))}
    return await _by_intent(skill, session, ours, slots, " ".join(s.value or "" for s in intent.slots.values()))


def _slot_value(skill: Skill, slot: str, value: Any) -> str | None:
    """Our canonical slot value: Alexa's entity resolution id, else the spoken word looked up."""
    resolved = value.resolved_id()
    values = skill.catalog.slots.get(slot, {})
    if resolved in values:
        return str(resolved)
    spoken = (value.value or "").lower().strip()
    return next((key for key, words in values.items() if spoken == key or spoken in words), None)


async def _by_intent(skill: Skill, session: str, intent: str, slots: dict[str, str], text: str) -> Answer | Failed:
    match = IntentMatch(intent=intent, slots=slots, confidence=1.0, text=text or intent)
    return await skill.pipeline.final(Understood(session=session, result=match))


async def _not_recognized(skill: Skill, session: str, text: str) -> Answer | Failed:
    return await skill.pipeline.final(Understood(session=session, result=NotRecognized(text=text)))


def _safe(raw: str | None) -> str | None:
    """Alexa session ids ("amzn1.echo-api.session.<uuid>") fit our pattern; anything else is hashed."""
    if raw is None:
        return None
    return raw if SESSION_RE.match("alexa:" + raw) else hashlib.sha256(raw.encode()).hexdigest()[:32]
