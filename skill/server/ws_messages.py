"""The WebSocket's JSON messages as models: what a client may send, and everything the server sends.

Parsed and written only through these, so the protocol in ws.py's docstring, /openapi.json and the
wire cannot drift apart (a round-trip test holds them together).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from skill.events import Answer

from .schemas import ErrorBody


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- client -> server --------------------------------------------------------------------------


class StartMessage(_Message):
    """A new utterance, optionally in another audio format, and whether answers are spoken."""

    type: Literal["start"] = "start"
    rate: int = Field(default=16000, ge=8000, le=48000)
    width: int = Field(default=2, ge=1, le=4)
    channels: int = Field(default=1, ge=1, le=8)
    speak: bool | None = None
    speak_rate: int | None = Field(default=None, ge=8000, le=48000)


class EndMessage(_Message):
    type: Literal["end"] = "end"


class CancelMessage(_Message):
    type: Literal["cancel"] = "cancel"


class AskMessage(_Message):
    type: Literal["ask"] = "ask"
    text: str


ClientMessage = Annotated[StartMessage | EndMessage | CancelMessage | AskMessage, Field(discriminator="type")]
CLIENT_MESSAGE: TypeAdapter[StartMessage | EndMessage | CancelMessage | AskMessage] = TypeAdapter(ClientMessage)

# --- server -> client ----------------------------------------------------------------------------


class ReadyMessage(_Message):
    type: Literal["ready"] = "ready"
    session: str
    rate: int = 16000
    width: int = 2
    channels: int = 1


class PartialMessage(_Message):
    type: Literal["partial"] = "partial"
    text: str


class TranscriptMessage(_Message):
    """The final transcript of an utterance, sent before its answer."""

    type: Literal["transcript"] = "transcript"
    text: str


class AudioStartMessage(_Message):
    """Binary frames of int16 PCM follow, `bytes` in all, then audio-end."""

    type: Literal["audio-start"] = "audio-start"
    rate: int
    width: int = 2
    channels: int = 1
    bytes: int


class AudioEndMessage(_Message):
    type: Literal["audio-end"] = "audio-end"


ServerMessage = Annotated[
    ReadyMessage | PartialMessage | TranscriptMessage | Answer | ErrorBody | AudioStartMessage | AudioEndMessage,
    Field(discriminator="type"),
]
SERVER_MESSAGE: TypeAdapter[
    ReadyMessage | PartialMessage | TranscriptMessage | Answer | ErrorBody | AudioStartMessage | AudioEndMessage
] = TypeAdapter(ServerMessage)
CLIENT_MODELS = (StartMessage, EndMessage, CancelMessage, AskMessage)
CLIENT_TYPES = frozenset(str(m.model_fields["type"].default) for m in CLIENT_MODELS)
SERVER_MODELS = (ReadyMessage, PartialMessage, TranscriptMessage, Answer, ErrorBody, AudioStartMessage, AudioEndMessage)
