"""The pipeline's events: small immutable models with a `type` discriminator.

Every front door (CLI, HTTP, WebSocket, Wyoming, Alexa) turns its input into
these, and every sink consumes them, so the stages never know who is talking.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from handlers.context import Conversation
from intents.frame import QuestionFrame
from intents.results import IntentMatch, NotRecognized


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    session: str


class TextQuery(_Event):
    """A question as text (typed, or already transcribed elsewhere)."""

    type: Literal["text"] = "text"
    text: str


class AudioQuery(_Event):
    """One whole spoken question: 16 kHz mono 16-bit PCM."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    type: Literal["audio"] = "audio"
    pcm: bytes


class AudioChunk(_Event):
    """A piece of a spoken question arriving live (16 kHz mono 16-bit PCM)."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    type: Literal["audio-chunk"] = "audio-chunk"
    pcm: bytes


class AudioEnd(_Event):
    """The speaker stopped: recognize what the chunks said."""

    type: Literal["audio-end"] = "audio-end"


class AudioCancel(_Event):
    """The utterance in progress is abandoned (the client cancelled, restarted or went away):
    its recognizer stream is freed and nothing is answered."""

    type: Literal["audio-cancel"] = "audio-cancel"


class Transcript(_Event):
    """What the recognizer heard. Partial transcripts are for display only."""

    type: Literal["transcript"] = "transcript"
    text: str
    final: bool = True
    settled: bool = False  # a partial that is already the final pass's text (the speaker paused)
    confidence: float = 1.0
    in_domain: bool = True
    heard_also: tuple[str, ...] = ()  # what another recognition pass heard: checked for red flags too


class Understood(_Event):
    type: Literal["understood"] = "understood"
    result: Annotated[IntentMatch | NotRecognized, Field(discriminator="kind")]
    transcript: str | None = None
    conversation: Conversation | None = None  # the session as understanding read it (None: not read)


class Answer(_Event):
    """The reply: the contract shared by the CLI's --json, the HTTP API and the other doors."""

    type: Literal["answer"] = "answer"
    text: str
    intent: str | None
    confidence: float
    facts: tuple[str, ...] = ()
    emergency: bool = False
    end_session: bool = False
    transcript: str | None = None
    frame: QuestionFrame | None = None  # how the question was read: why this answer was chosen


class SpokenAnswer(_Event):
    """The answer as speech: a 16-bit mono WAV at the rate the consumer asked for."""

    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    type: Literal["speech"] = "speech"
    wav: bytes
    sample_rate: int
    duration: float


class Failed(_Event):
    """A request that could not be answered, with a stable code and a message naming the problem."""

    type: Literal["error"] = "error"
    code: str
    message: str


Event = Annotated[
    TextQuery
    | AudioQuery
    | AudioChunk
    | AudioEnd
    | AudioCancel
    | Transcript
    | Understood
    | Answer
    | SpokenAnswer
    | Failed,
    Field(discriminator="type"),
]
