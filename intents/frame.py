"""A question read as a typed frame: what it is about, what it asks, and what it says of symptoms.

The frame travels with the understanding to the handlers and out on the answer, so a test, a
reviewer or a bug report can see why an answer was chosen.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

Subject = Literal["absorption", "injection", "too_much", "oral", "deficiency", "b12"]
Ask = Literal[
    "tell_apart",
    "which_worse",
    "compare",
    "how_long",
    "why",
    "purpose",
    "self_treat",
    "stop",
    "ignore",
    "what_to_do",
    "worry",
    "diagnose",
    "symptoms",
    "relief",
    "what_is",
    "cause",
]
Who = Literal["me", "child", "older", "other", "pet"]
Severity = Literal["severe", "worsening", "persistent"]


class Part(BaseModel):
    """One question inside an utterance, and the intent it was understood as."""

    model_config = ConfigDict(frozen=True)

    text: str
    subject: Subject | None = None
    subjects: tuple[Subject, ...] = ()  # named in this part (the subject may be carried from the part before)
    ask: Ask | None = None
    feature: str | None = None  # what a comparison is about: cause, pain_type, onset, severity...
    symptoms: tuple[str, ...] = ()
    uncovered: tuple[str, ...] = ()  # topics outside the facts that this part names
    asks_uncovered: bool = False  # one of them is what it asks about, not context ("is ibuprofen ok")
    intent: str | None = None
    slots: dict[str, str] = {}
    confidence: float = 0.0


class RedFlag(BaseModel):
    model_config = ConfigDict(frozen=True)

    words: str
    kind: Literal["emergency", "poison", "pet"] = "emergency"
    like: str | None = None  # found by meaning: the spoken red-flag example it resembles


class QuestionFrame(BaseModel):
    """Everything the answer depends on besides the conversation."""

    model_config = ConfigDict(frozen=True)

    parts: tuple[Part, ...] = ()
    who: Who = "me"
    severity: tuple[Severity, ...] = ()
    red_flags: tuple[RedFlag, ...] = ()
    negated: tuple[str, ...] = ()  # red-flag words the person said they do not have, or asked about
    hypothetical: tuple[str, ...] = ()  # of those, conditions asked about ("can b12 cause fainting")
    uncovered: tuple[str, ...] = ()  # topics the fact base does not cover (names from safety.toml)

    @property
    def subject(self) -> Subject | None:
        return self.parts[0].subject if self.parts else None

    @property
    def ask(self) -> Ask | None:
        return self.parts[0].ask if self.parts else None

    @property
    def symptoms(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s for p in self.parts for s in p.symptoms))
