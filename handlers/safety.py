"""Answers that protect the person: emergencies, doses, questions the skill must not answer."""

from __future__ import annotations

from intents.results import IntentMatch, NotRecognized

from .compose import finish
from .context import Conversation, Outcome
from .knowledge_base import KnowledgeBase


def emergency(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    return finish(
        [kb.say.emergency], match, conversation, kb, emergency=True, last_intent=match.intent, more=(), why=()
    )


def out_of_scope(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    return finish([kb.say.out_of_scope], match, conversation, kb, last_intent=match.intent, more=(), why=())


def dose(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    return finish([kb.say.dose], match, conversation, kb, last_intent=match.intent, more=(), why=())


def not_recognized(understood: NotRecognized, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    # Keep the conversation as it was: a misheard turn must not wipe "tell me more".
    return finish([kb.say.fallback], understood, conversation, kb, remember=False)
