"""The fact base and reply wording, loaded from handlers/data and checked against each other."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from skill.datafiles import read_toml
from skill.errors import ConfigError

DATA_DIR = Path(__file__).parent / "data"
Side = Literal["deficiency", "injection"]


class Fact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    section: str
    item: str | None = None
    spoken: str
    detail: str
    hedged: bool = False
    side: Side | None = None
    reassuring: bool = False  # "mild", "temporary", "a sign of healing": never for severe or lasting symptoms


class AnswerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    facts: tuple[str, ...] = ()
    more: tuple[str, ...] = ()
    why: tuple[str, ...] = ()
    by_slot: dict[str, dict[str, AnswerSpec]] = Field(default_factory=dict)

    def resolve(self, slots: dict[str, str]) -> AnswerSpec:
        """The most specific variant for these slot values; fields it leaves empty come from above."""
        for slot, variants in self.by_slot.items():
            variant = variants.get(slots.get(slot, ""))
            if variant is not None:
                inner = variant.resolve(slots)
                return AnswerSpec(
                    facts=inner.facts or self.facts,
                    more=inner.more or self.more,
                    why=inner.why or self.why,
                )
        return AnswerSpec(facts=self.facts, more=self.more, why=self.why)

    def fact_ids(self) -> set[str]:
        ids = set(self.facts) | set(self.more) | set(self.why)
        for variants in self.by_slot.values():
            for spec in variants.values():
                ids |= spec.fact_ids()
        return ids


class SymptomFacts(BaseModel):
    """What the facts say of one symptom, per side; `general` aches alone do not pick a side."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    general: bool = False
    deficiency: tuple[str, ...] = ()
    injection: tuple[str, ...] = ()
    why_deficiency: tuple[str, ...] = ()  # why low B12 brings it on, where a fact says
    why_injection: tuple[str, ...] = ()  # why the shots might

    def on(self, side: Side) -> tuple[str, ...]:
        return self.deficiency if side == "deficiency" else self.injection

    def why(self, side: Side) -> tuple[str, ...]:
        return self.why_deficiency if side == "deficiency" else self.why_injection


class Uncovered(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    about: str
    say: str | None = None  # said instead of the generic decline when this topic is the whole question
    say_in_part: bool = False  # ...and also beside an answered part (else the short decline there)


class Say(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    emergency: str
    emergency_poison: str
    emergency_pet: str
    severe: str
    out_of_scope: str
    refuse_only: str
    refuse_part: str
    symptom_not_deficiency: str
    symptom_not_injection: str
    dose: str
    thanks: str
    acknowledge: str
    about_me: str
    cant_diagnose: str
    fallback: str
    help: str
    greeting: str
    stop: str
    goodbye: str
    cancel: str
    offer_more: str
    nothing_to_repeat: str
    doubt: str
    no_more: str
    no_why: str
    no_context: str


class KnowledgeBase(BaseModel):
    """Facts by id, answers by intent, fixed wording, and the reminder every answer ends with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sections: dict[str, str]
    facts: dict[str, Fact]
    answers: dict[str, AnswerSpec]
    say: Say
    symptoms: dict[str, SymptomFacts]
    uncovered: dict[str, Uncovered]
    what_about: dict[str, str]  # side -> the intent that answers "what about <side>" without context
    terms: tuple[str, ...] = ()  # named in a question, the fact that says it is said first
    reminder: str  # in full on the first turn of a session
    reminder_short: str  # on every health answer after that

    @model_validator(mode="after")
    def _references_exist(self) -> KnowledgeBase:
        for fact in self.facts.values():
            if fact.section not in self.sections:
                raise ValueError(f"fact {fact.id!r} names unknown section {fact.section!r}")
        for intent, spec in self.answers.items():
            missing = spec.fact_ids() - self.facts.keys()
            if missing:
                raise ValueError(f"answer {intent!r} names unknown facts {sorted(missing)}")
        for name, symptom in self.symptoms.items():
            named = symptom.deficiency + symptom.injection + symptom.why_deficiency + symptom.why_injection
            missing = set(named) - self.facts.keys()
            if missing:
                raise ValueError(f"symptom {name!r} names unknown facts {sorted(missing)}")
        for target in self.what_about.values():
            if target not in self.answers:
                raise ValueError(f"what_about names unknown answer {target!r}")
        return self

    def side_of(self, fact_ids: tuple[str, ...]) -> Side | None:
        sides = {self.facts[f].side for f in fact_ids}
        return sides.pop() if len(sides) == 1 else None


def load_knowledge(reminder: str, reminder_short: str | None = None, data_dir: Path = DATA_DIR) -> KnowledgeBase:
    facts_doc = read_toml(data_dir / "facts.toml")
    replies = read_toml(data_dir / "replies.toml")
    try:
        facts = [Fact.model_validate(f) for f in facts_doc.get("fact", [])]
        by_id = {f.id: f for f in facts}
        if len(by_id) != len(facts):
            raise ConfigError(f"{data_dir / 'facts.toml'}: fact ids must be unique")
        return KnowledgeBase(
            sections=facts_doc.get("sections", {}),
            facts=by_id,
            answers=replies.get("answers", {}),
            say=replies.get("say", {}),
            symptoms=replies.get("symptoms", {}),
            uncovered=replies.get("uncovered", {}),
            what_about=replies.get("what_about", {}),
            terms=replies.get("terms", ()),
            reminder=reminder,
            reminder_short=reminder_short or reminder,
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"reply data in {data_dir}: {where}: {err['msg']}") from exc
