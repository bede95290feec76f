"""Answers to questions about B12 and aches, built from the facts each answer names."""

from __future__ import annotations

from collections.abc import Sequence

from intents.frame import Part
from intents.results import IntentMatch

from .compose import finish
from .context import Conversation, Outcome
from .knowledge_base import KnowledgeBase
from .plan import MAX_PARTS, Planned, Sentence, compose, fit, has_side_variants, plan_part

MAX_MORE_PER_TURN = 2


def answer(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    frame = match.frame
    at = next((n for n, p in enumerate(frame.parts) if p.intent == match.intent), None)
    base = frame.parts[at] if at is not None else Part(text=match.text)
    first = base.model_copy(update={"intent": match.intent, "slots": match.slots})
    others = [p for n, p in enumerate(frame.parts) if n != at and p.intent in kb.answers]
    veto = bool(frame.severity)
    planned = [plan_part(p, conversation, kb, veto=veto) for p in [first, *others][:MAX_PARTS]]
    if len(planned) < MAX_PARTS and any(p.intent == "why" for p in frame.parts if p is not base):
        # "...causing my pins and needles, how does that work": the why of what was just asked.
        # A reason already given in this conversation is not news: the next one, if any.
        told = {*planned[0].facts[:1], *conversation.said}
        planned.append(Planned(facts=[f for f in planned[0].why if f not in told]))
    chosen, more = compose(frame, planned, kb, conversation)
    parts = [s.text for s in chosen]
    facts = tuple(dict.fromkeys(s.fact for s in chosen if s.fact))
    return finish(
        parts,
        match,
        conversation,
        kb,
        facts=facts,
        last_intent=match.intent,
        last_slots=planned[0].slots,
        side=kb.side_of(facts) or planned[0].slots.get("side"),
        more=more,
        why=tuple(f for f in planned[0].why if f not in facts) or planned[0].why,  # a reason not yet given
        offered_more=conversation.offered_more or kb.say.offer_more in parts,
        topic=first if first.subject or first.symptoms else conversation.topic,
    )


def tell_more(understood: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    if conversation.last_intent is None:
        return finish([kb.say.no_context], understood, conversation, kb, remember=False)
    waiting = [f for f in conversation.more if f not in conversation.said]
    if not waiting:
        return finish([kb.say.no_more], understood, conversation, kb, remember=False)
    parts, facts = _next_facts(kb, waiting)
    rest = tuple(f for f in waiting if f not in facts)
    return finish(parts, understood, conversation, kb, facts=facts, more=rest)


def explain_why(understood: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    if conversation.last_intent is None:
        return finish([kb.say.no_context], understood, conversation, kb, remember=False)
    if not conversation.why:
        return finish([kb.say.no_why], understood, conversation, kb, remember=False)
    parts, facts = _next_facts(kb, conversation.why)
    return finish(parts, understood, conversation, kb, facts=facts)


def _next_facts(kb: KnowledgeBase, waiting: Sequence[str]) -> tuple[list[str], tuple[str, ...]]:
    """The first few waiting facts that fit one spoken answer, and their ids."""
    chosen = fit([Sentence(kb.facts[f].spoken, rank=1, fact=f) for f in waiting[:MAX_MORE_PER_TURN]])
    return [s.text for s in chosen], tuple(s.fact for s in chosen if s.fact)


def what_about(match: IntentMatch, conversation: Conversation, kb: KnowledgeBase) -> Outcome:
    side = match.slots.get("side")
    last = conversation.last_intent
    target, slots = kb.what_about.get(side or "", "can_b12_cause_aches"), {}
    if side is not None and last is not None and has_side_variants(kb, last, conversation.last_slots, side):
        target, slots = last, {**conversation.last_slots, "side": side}
    frame = match.frame.model_copy(update={"parts": ()})
    redirected = match.model_copy(update={"intent": target, "slots": slots, "frame": frame})
    return answer(redirected, conversation.model_copy(update={"side": None}), kb)
