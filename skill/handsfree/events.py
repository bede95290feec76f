"""What the hands-free loop reports: small frozen models with a `type`, for the log and the page."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from skill.events import Answer

State = Literal["idle", "listening", "thinking", "speaking", "follow-up"]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)


class StateChanged(_Event):
    type: Literal["state"] = "state"
    state: State


class WakeHeard(_Event):
    type: Literal["wake"] = "wake"
    phrase: str


class Partial(_Event):
    type: Literal["partial"] = "partial"
    text: str


class Heard(_Event):
    """The final transcript of one question."""

    type: Literal["heard"] = "heard"
    text: str


class NothingHeard(_Event):
    """Listening ended without a question (silence, or noise that decoded to nothing)."""

    type: Literal["nothing-heard"] = "nothing-heard"


class Answered(_Event):
    type: Literal["answered"] = "answered"
    answer: Answer


class BargeIn(_Event):
    """Playback was stopped because the user spoke `phrase` over it."""

    type: Literal["barge-in"] = "barge-in"
    phrase: str


class Trouble(_Event):
    """A question could not be answered or spoken; the loop goes on."""

    type: Literal["trouble"] = "trouble"
    code: str
    message: str


HandsFreeEvent = Annotated[
    StateChanged | WakeHeard | Partial | Heard | NothingHeard | Answered | BargeIn | Trouble,
    Field(discriminator="type"),
]
