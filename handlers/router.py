"""Which handler answers which intent: the one table that ties intents to handlers."""

from __future__ import annotations

from collections.abc import Callable

from intents.results import IntentMatch, NotRecognized, Understanding

from . import conversation as conv
from . import knowledge, safety
from .context import Conversation, Outcome
from .knowledge_base import KnowledgeBase

Handler = Callable[[IntentMatch, Conversation, KnowledgeBase], Outcome]

SPECIAL: dict[str, Handler] = {
    "emergency": safety.emergency,
    "out_of_scope": safety.out_of_scope,
    "dose_question": safety.dose,
    "diagnose_me": safety.diagnose_me,
    "help": conv.help_,
    "greeting": conv.greeting,
    "thanks": conv.thanks,
    "acknowledge": conv.acknowledge,
    "about_me": conv.about_me,
    "repeat": conv.repeat,
    "doubt": conv.doubt,
    "stop": conv.stop,
    "goodbye": conv.goodbye,
    "cancel": conv.cancel,
    "tell_me_more": knowledge.tell_more,
    "why": knowledge.explain_why,
    "what_about": knowledge.what_about,
}


def handler_for(intent: str, kb: KnowledgeBase) -> Handler | None:
    if intent in SPECIAL:
        return SPECIAL[intent]
    return knowledge.answer if intent in kb.answers else None


def respond(understood: Understanding, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    if isinstance(understood, NotRecognized):
        return safety.not_recognized(understood, conversation, kb)
    handler = handler_for(understood.intent, kb)
    if handler is None:
        # The catalogue and the replies disagree; a test guards this, so treat it as not understood.
        return safety.not_recognized(
            NotRecognized(text=understood.text, best_guess=understood.intent), conversation, kb
        )
    return handler(understood, conversation, kb)
