"""What understanding returns: a match or an explicit not-recognized, never None."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .frame import QuestionFrame


class IntentMatch(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["match"] = "match"
    intent: str
    slots: dict[str, str] = Field(default_factory=dict)
    confidence: float
    text: str
    frame: QuestionFrame = QuestionFrame()


class NotRecognized(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Literal["not_recognized"] = "not_recognized"
    text: str
    best_guess: str | None = None
    confidence: float = 0.0
    frame: QuestionFrame = QuestionFrame()


Understanding = IntentMatch | NotRecognized
