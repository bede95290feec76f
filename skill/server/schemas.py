"""The HTTP API's bodies as pydantic models, and session ids shared by every door."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from skill.errors import InputError
from skill.events import Answer, Failed
from skill.sessions import SessionStore

SESSION_RE = re.compile(r"^[A-Za-z0-9._:@-]{1,128}$")
SESSION_PATTERN = SESSION_RE.pattern


class AskRequest(BaseModel):
    """POST /v1/ask. `session` (or a device id) makes follow-ups ("why?", "tell me more") work."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1)
    session: str | None = Field(default=None, pattern=SESSION_PATTERN)


class SpokenAudio(BaseModel):
    """The spoken answer inside a JSON body: a complete 16-bit mono WAV, base64-encoded."""

    model_config = ConfigDict(frozen=True)

    content_type: Literal["audio/wav"] = "audio/wav"
    sample_rate: int
    wav_base64: str


class ListenResult(BaseModel):
    """POST /v1/listen: what was heard, the answer, and (with ?speak=1) the answer spoken."""

    model_config = ConfigDict(frozen=True)

    type: Literal["listen"] = "listen"
    transcript: str | None
    answer: Answer
    audio: SpokenAudio | None = None


class ErrorBody(BaseModel):
    """Every refused request: a stable code and a message naming the problem (never a traceback)."""

    model_config = ConfigDict(frozen=True)

    type: Literal["error"] = "error"
    code: str
    message: str


class Health(BaseModel):
    model_config = ConfigDict(frozen=True)

    status: Literal["ok", "starting", "degraded"]
    stt_loaded: bool
    stt_note: str
    stt_error: str | None
    tts_loaded: bool
    tts_error: str | None
    in_flight_requests: int
    stt_in_flight: int
    active_streams: int
    max_streams: int
    sessions: int
    sessions_backend: str  # "memory" or "redis"
    sessions_error: str | None  # set while the shared store is unreachable: answers, but no follow-ups
    mqtt: str  # the Hermes door: "off", "connected" or "reconnecting"
    mqtt_error: str | None
    wyoming_connections: int


def session_id(raw: str | None, prefix: str = "") -> str:
    """A caller's session/device/conversation id (checked), or a fresh one.

    Front doors whose ids live in their own namespace (Alexa, Wyoming) pass a prefix so that
    their ids cannot collide with ids that HTTP/WebSocket clients choose.
    """
    if raw is None or raw == "":
        return prefix + SessionStore.new_id()
    candidate = prefix + raw
    if not SESSION_RE.match(candidate):
        raise InputError("session id must be 1-128 characters of letters, digits and . _ : @ -")
    return candidate


__all__ = ["Answer", "AskRequest", "ErrorBody", "Failed", "Health", "ListenResult", "SpokenAudio", "session_id"]
