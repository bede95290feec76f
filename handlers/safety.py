"""Answers that protect the person: emergencies, doses, questions the skill must not answer."""

from __future__ import annotations

from intents.results import IntentMatch, NotRecognized

from .compose import finish
from .context import Conversation, Outcome
from .knowledge_base import KnowledgeBase
from .plan import refusal


def emergency(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    wording = {"poison": kb.say.emergency_poison, "pet": kb.say.emergency_pet}.get(
        match.slots.get("kind", ""), kb.say.emergency
    )
    return finish([wording], match, conversation, kb, emergency=True, last_intent=match.intent, more=(), why=())


def out_of_scope(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    topics = match.frame.uncovered
    parts = [refusal(kb, t, alone=True) for t in topics[:1]] or [kb.say.out_of_scope]
    return finish(parts, match, conversation, kb, last_intent=match.intent, more=(), why=())


def dose(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    return finish([kb.say.dose], match, conversation, kb, last_intent=match.intent, more=(), why=())


def diagnose_me(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    """ "Have I got low B12?": no diagnosis, and how one is made."""
    facts = ("doctor.blood_test",)
    return finish([kb.say.cant_diagnose, kb.facts["doctor.blood_test"].spoken], match, conversation, kb, facts=facts)


def not_recognized(understood: NotRecognized, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    # Keep the conversation as it was: a misheard turn must not wipe "tell me more".
    return finish([kb.say.fallback], understood, conversation, kb, remember=False)
