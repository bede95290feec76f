"""Answers to questions about B12 and aches, built from the facts each answer names."""

from __future__ import annotations

from intents.results import IntentMatch

from .compose import finish, sentences
from .context import Conversation, Outcome
from .knowledge_base import KnowledgeBase

MAX_MORE_PER_TURN = 2


def answer(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    slots = dict(match.slots)
    if "side" not in slots and conversation.side and _has_side_variants(kb, match.intent, slots):
        # "how long does that last" right after an answer about the shots means the shots.
        slots["side"] = conversation.side
    spec = kb.answers[match.intent].resolve(slots)
    more = tuple((f, "detail") for f in spec.facts) + tuple((f, "spoken") for f in spec.more if f not in spec.facts)
    parts = sentences(kb, spec.facts)
    if more:
        parts.append(kb.say.offer_more)
    return finish(
        parts,
        match,
        conversation,
        kb,
        facts=spec.facts,
        last_intent=match.intent,
        last_slots=slots,
        side=kb.side_of(spec.facts) or slots.get("side"),
        more=more,
        why=spec.why,
    )


def tell_more(understood: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    if conversation.last_intent is None:
        return finish([kb.say.no_context], understood, conversation, kb, remember=False)
    taken, rest = conversation.more[:MAX_MORE_PER_TURN], conversation.more[MAX_MORE_PER_TURN:]
    if not taken:
        return finish([kb.say.no_more], understood, conversation, kb, remember=False)
    parts = [getattr(kb.facts[fact], field) for fact, field in taken]
    if rest:
        parts.append(kb.say.offer_more)
    facts = tuple(dict.fromkeys(f for f, _ in taken))
    return finish(parts, understood, conversation, kb, facts=facts, more=rest)


def explain_why(understood: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    if conversation.last_intent is None:
        return finish([kb.say.no_context], understood, conversation, kb, remember=False)
    if not conversation.why:
        return finish([kb.say.no_why], understood, conversation, kb, remember=False)
    return finish(sentences(kb, conversation.why), understood, conversation, kb, facts=conversation.why)


def what_about(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    side = match.slots.get("side")
    last = conversation.last_intent
    target, slots = kb.what_about.get(side or "", "can_b12_cause_aches"), {}
    if side is not None and last is not None and _has_side_variants(kb, last, conversation.last_slots):
        target, slots = last, {**conversation.last_slots, "side": side}
    redirected = match.model_copy(update={"intent": target, "slots": slots})
    return answer(redirected, conversation.model_copy(update={"side": None}), kb)


def _has_side_variants(kb: KnowledgeBase, intent: str, slots: dict[str, str]) -> bool:
    spec = kb.answers.get(intent)
    while spec is not None:
        if "side" in spec.by_slot:
            return True
        spec = next(
            (variants[slots[s]] for s, variants in spec.by_slot.items() if slots.get(s) in variants),
            None,
        )
    return False
