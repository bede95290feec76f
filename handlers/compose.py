"""Shared by every handler: build the reply text from parts and end it with the reminder."""

from __future__ import annotations

from collections.abc import Iterable

from intents.results import IntentMatch, NotRecognized

from .context import Conversation, Outcome, Reply
from .knowledge_base import KnowledgeBase


def finish(
    parts: Iterable[str],
    understood: IntentMatch | NotRecognized,
    conversation: Conversation,
    kb: KnowledgeBase,
    *,
    facts: tuple[str, ...] = (),
    emergency: bool = False,
    end_session: bool = False,
    remember: bool = True,
    health: bool = True,
    **context: object,
) -> Outcome:
    """The reply, the reminder last on a health answer (in full the first time), and the next state."""
    body = " ".join(parts)
    text = body
    update: dict[str, object] = {
        "turns": conversation.turns + 1,
        "said": tuple(dict.fromkeys(conversation.said + facts)),
    }
    if health:
        text = f"{body} {kb.reminder_short if conversation.reminded else kb.reminder}"
        update["reminded"] = True
    intent = understood.intent if isinstance(understood, IntentMatch) else None
    reply = Reply(
        text=text,
        intent=intent,
        confidence=understood.confidence,
        facts=facts,
        emergency=emergency,
        end_session=end_session,
    )
    if remember:
        update |= {"last_body": body, "last_facts": facts, **context}
    return Outcome(reply=reply, conversation=conversation.model_copy(update=update))
