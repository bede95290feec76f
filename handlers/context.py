"""What a handler sees and returns: the conversation so far, and the reply with the next state."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from intents.frame import Part

from .knowledge_base import Side


class Conversation(BaseModel):
    """One session's memory, replaced (never mutated) after every turn."""

    model_config = ConfigDict(frozen=True)

    id: str
    turns: int = 0
    last_intent: str | None = None
    last_slots: dict[str, str] = {}
    topic: Part | None = None  # what the last answer was about, for a follow-up that names nothing itself
    side: Side | None = None
    last_body: str | None = None  # the last reply without the reminder, for "repeat"
    last_facts: tuple[str, ...] = ()
    more: tuple[str, ...] = ()  # facts "tell me more" can still add, in order
    why: tuple[str, ...] = ()
    said: tuple[str, ...] = ()  # every fact said in this session: never offered again as "more"
    reminded: bool = False  # the full reminder has been said
    offered_more: bool = False  # "say tell me more" has been offered (once a session)


class Reply(BaseModel):
    """A handler's answer. `text` ends with the reminder on every health answer."""

    model_config = ConfigDict(frozen=True)

    text: str
    intent: str | None
    confidence: float
    facts: tuple[str, ...] = ()
    emergency: bool = False
    end_session: bool = False


class Outcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    reply: Reply
    conversation: Conversation
