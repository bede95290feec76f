"""Which facts answer a question frame, and how much of them fits in a short spoken answer.

The ask picked the intent (intents/<locale>/frames.toml); here the symptoms named pick the facts
and the subject picks the side, severity vetoes every reassuring fact, and the sentences are cut
to the spoken budget: safety first, then one fact per part, then what cannot be covered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from intents.frame import Part, QuestionFrame

from .context import Conversation
from .knowledge_base import KnowledgeBase, Side

WORD_BUDGET = 50  # at most this many words before the reminder
MAX_PARTS = 2
# Intents whose answer is about symptoms, so the symptoms a question names choose its facts.
SYMPTOM_INTENTS = frozenset(
    {
        "can_b12_cause_aches",
        "deficiency_symptoms",
        "injection_aches",
        "injection_side_effects",
        "injection_worry",
        "injection_reasons",
        "why_deficiency_hurts",
    }
)
INJECTION_INTENTS = frozenset({"injection_aches", "injection_side_effects", "injection_worry", "injection_reasons"})
DEFICIENCY_INTENTS = frozenset({"deficiency_symptoms", "why_deficiency_hurts", "deficiency_worry"})


@dataclass(frozen=True)
class Sentence:
    text: str
    rank: int  # lower is said first when the budget is short
    fact: str | None = None


@dataclass
class Planned:
    """One part's answer: notes said before its facts, its facts, and what could follow."""

    notes: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)
    more: tuple[str, ...] = ()
    why: tuple[str, ...] = ()
    slots: dict[str, str] = field(default_factory=dict)
    wide: bool = False  # names two symptoms with facts of their own: two facts even beside another part


def side_of(part: Part) -> Side | None:
    if part.subject in ("deficiency", "injection"):
        return part.subject
    if part.subject == "absorption":
        return "deficiency"
    if part.intent in INJECTION_INTENTS:
        return "injection"
    if part.intent in DEFICIENCY_INTENTS:
        return "deficiency"
    return None


def plan_part(part: Part, conversation: Conversation, kb: KnowledgeBase, *, veto: bool) -> Planned:
    intent = part.intent or ""
    slots = dict(part.slots)
    if "side" not in slots and conversation.side and has_side_variants(kb, intent, slots, conversation.side):
        # "how long does that last" right after an answer about the shots means the shots.
        slots["side"] = conversation.side
    spec = kb.answers[intent].resolve(slots)
    planned = Planned(facts=list(spec.facts), more=spec.more, why=spec.why, slots=slots)
    if intent in SYMPTOM_INTENTS and "reason" not in slots:  # a named reason ("is it the potassium") wins
        _by_symptoms(part, kb, planned)
    named = [t for t in kb.terms if t in part.text]
    if named:
        pool = _unique([*planned.facts, *planned.more, *planned.why])
        saying = [f for f in pool if any(t in kb.facts[f].spoken.lower() for t in named)]
        planned.facts = _unique([*saying[:1], *planned.facts])
    if veto:
        kept = [f for f in planned.facts if not kb.facts[f].reassuring]
        fallback = "doctor.severe_side_effects" if side_of(part) == "injection" else "doctor.when"
        planned.facts = kept or [fallback]
    return planned


def _by_symptoms(part: Part, kb: KnowledgeBase, planned: Planned) -> None:
    told = [kb.symptoms[s] for s in part.symptoms if s in kb.symptoms]
    named = [s for s in told if not s.general]
    side = side_of(part)
    # "tell me more" after a question about cramps goes on about cramps: its side first, then the other.
    sides: tuple[Side, Side] = ("injection", "deficiency") if side == "injection" else ("deficiency", "injection")
    about = [f for one in sides for s in named for f in (*s.on(one), *s.why(one))]
    planned.more = tuple(_unique([*about, *planned.more]))
    # "can the shots cause cramps" ... "why would they do that": the reasons given for that symptom.
    planned.why = tuple(_unique([f for s in named for f in s.why(side or "deficiency")])) or planned.why
    if part.ask == "why":
        # "why do my legs ache after the jab": the reasons given for that symptom on that side.
        # A symptom with no reason given on that side: what the facts do say of it there.
        reasons = [f for s in (named or told) for f in (s.why(side or "deficiency") or s.on(side or "deficiency"))]
        if part.subject is None:
            # "why do my feet burn" (B12 unnamed): that it is a sign of low B12 first, then why.
            reasons = [f for s in named for f in s.on("deficiency")[:1]] + reasons
        if reasons:
            planned.facts = _unique(reasons + planned.facts)
        return
    if not named:
        if side is not None:  # "do my legs ache from the shots": an ache that only the side makes specific
            general = [f for s in told for f in s.on(side)]
            planned.facts = _unique(general + planned.facts)
        return
    if side is None:
        # "could my tingling be B12?": low B12's facts where they speak of it, else the shots'.
        found = _by_turns([s.deficiency or s.injection for s in named])
        planned.facts = found or planned.facts
        planned.wide = len({(s.deficiency or s.injection)[:1] for s in named} - {()}) > 1
        side = "deficiency" if any(s.deficiency for s in named) else "injection"
    else:
        own = _by_turns([s.on(side) for s in named])
        if own:
            planned.facts = own
            planned.wide = len({s.on(side)[0] for s in named if s.on(side)}) > 1
        else:
            other: Side = "injection" if side == "deficiency" else "deficiency"
            template = kb.say.symptom_not_deficiency if side == "deficiency" else kb.say.symptom_not_injection
            planned.notes = [template.format(label=named[0].label)]
            planned.facts = _unique([f for s in named for f in s.on(other)])[:1]
            return
    if part.ask in ("cause", "worry") and len(planned.facts) < 2:
        # "Could my tingling be B12?": the fact, then how to find out, or when a reaction needs a doctor.
        planned.facts.append("doctor.blood_test" if side == "deficiency" else "doctor.severe_side_effects")


def compose(
    frame: QuestionFrame, planned: list[Planned], kb: KnowledgeBase, conversation: Conversation
) -> tuple[list[Sentence], tuple[str, ...]]:
    """The sentences to say (within the budget) and the facts left for "tell me more"."""
    candidates: list[Sentence] = []
    severe = any(s in ("severe", "worsening") for s in frame.severity)
    if severe:
        candidates.append(Sentence(kb.say.severe, rank=0))
    per_part = 1 if len(planned) > 1 else 2
    for plan in planned:
        candidates += [Sentence(n, rank=1) for n in plan.notes]
        # Two parts that land on the same fact: the second says its next one rather than repeat it.
        taken = {c.fact for c in candidates}
        fresh = [f for f in plan.facts if f not in taken][: 2 if plan.wide else per_part]
        for n, fact in enumerate(fresh):
            candidates.append(Sentence(kb.facts[fact].spoken, rank=1 if n == 0 else 3, fact=fact))
    # Declines are said in the order of the question: a declined part asked before the first answered
    # one comes first ("my level came back at 180, is that low, and what are the symptoms").
    first = next((n for n, p in enumerate(frame.parts) if p.intent), len(frame.parts))
    earlier = {t for p in frame.parts[:first] for t in p.uncovered}
    start = len(candidates) if severe else 0
    for topic in frame.uncovered[:2]:
        # Rank 0: kept before any fact when the budget is short, as a part left unsaid would read as answered.
        sentence = Sentence(refusal(kb, topic, alone=not planned), rank=0)
        if topic in earlier:
            candidates.insert(start, sentence)
            start += 1
        else:
            candidates.append(sentence)
    said = {s.fact for s in candidates if s.fact}
    if "persistent" in frame.severity and not severe and planned and "doctor.when" not in said:
        candidates.append(Sentence(kb.facts["doctor.when"].spoken, rank=2, fact="doctor.when"))
    left = [f for plan in planned for f in plan.facts] + [f for plan in planned for f in plan.more]
    if left and not conversation.offered_more:  # offered once a session, and only if it fits
        candidates.append(Sentence(kb.say.offer_more, rank=4))
    chosen = fit(candidates)
    told = {s.fact for s in chosen if s.fact} | set(conversation.said)
    more = tuple(f for f in dict.fromkeys(left) if f not in told)
    if not more:
        chosen = [s for s in chosen if s.text != kb.say.offer_more]
    return chosen, more


def refusal(kb: KnowledgeBase, topic: str, *, alone: bool) -> str:
    wording = kb.uncovered.get(topic)
    if wording is None:
        return kb.say.out_of_scope
    if wording.say and (alone or wording.say_in_part):
        return wording.say
    return (kb.say.refuse_only if alone else kb.say.refuse_part).format(about=wording.about)


def fit(candidates: list[Sentence], budget: int = WORD_BUDGET) -> list[Sentence]:
    """The highest-ranked sentences that fit the budget (the first always), in their original order."""
    keep: set[int] = set()
    used = 0
    for index in sorted(range(len(candidates)), key=lambda i: (candidates[i].rank, i)):
        words = len(candidates[index].text.split())
        if keep and used + words > budget:
            continue
        keep.add(index)
        used += words
    return [c for i, c in enumerate(candidates) if i in keep]


def has_side_variants(kb: KnowledgeBase, intent: str, slots: dict[str, str], side: str | None = None) -> bool:
    """Whether the answer to `intent` has a variant per side (for `side`, when one is named)."""
    spec = kb.answers.get(intent)
    while spec is not None:
        if "side" in spec.by_slot:
            return side is None or side in spec.by_slot["side"]
        spec = next(
            (variants[slots[s]] for s, variants in spec.by_slot.items() if slots.get(s) in variants),
            None,
        )
    return False


def _by_turns(lists: list[tuple[str, ...]]) -> list[str]:
    """Each symptom's first fact, then each one's second...: "numb feet and always exhausted" is
    answered for both before the word budget runs out."""
    return _unique([f for i in range(max(map(len, lists), default=0)) for facts in lists for f in facts[i : i + 1]])


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
