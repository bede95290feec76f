"""The fact base covers the whole source, and data and code agree on every name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from handlers.knowledge_base import KnowledgeBase
from handlers.router import SPECIAL, handler_for
from intents import Catalog
from intents.templates import expand
from skill.app import Skill

SEED = Path(__file__).resolve().parents[2].parent / "shared" / "seed" / "b12-and-pain.txt"
HEDGES = (
    "some practitioners",
    "suggested",
    "claimed",
    "claim",
    "possibly",
    "may",
    "might",
    "according to the source",
    "source sees",
    "idea",
    "offered",
    "not an established",
    "not proven",
)


@pytest.fixture(scope="module")
def kb(skill: Skill) -> KnowledgeBase:
    return skill.knowledge


@pytest.fixture(scope="module")
def catalog(skill: Skill) -> Catalog:
    return skill.catalog


@pytest.fixture(scope="module")
def seed_lines() -> list[str]:
    assert SEED.exists(), f"source document not found at {SEED}"
    return [line.strip() for line in SEED.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_section_of_the_source_has_facts(kb: KnowledgeBase, seed_lines: list[str]) -> None:
    for section, heading in kb.sections.items():
        assert heading in seed_lines, f"section {section!r}: heading {heading!r} is not in the source"
        assert any(f.section == section for f in kb.facts.values()), f"section {section!r} has no facts"
    # Every heading-like line of the source (short, no final full stop, not a bullet or table row) is a section.
    headings = [ln for ln in seed_lines if len(ln) < 80 and not ln.endswith(".") and ln[0] not in "-|"]
    assert set(headings) <= set(kb.sections.values())


def test_every_bullet_of_the_source_is_a_fact(kb: KnowledgeBase, seed_lines: list[str]) -> None:
    items = {f.item for f in kb.facts.values()}
    bullets = [re.match(r"- ([^:]+):", ln).group(1) for ln in seed_lines if ln.startswith("- ")]  # type: ignore[union-attr]
    assert len(bullets) == 9
    for label in bullets:
        assert label in items, f"bullet {label!r} has no fact"


def test_every_cell_of_the_comparison_table_is_a_fact(kb: KnowledgeBase, seed_lines: list[str]) -> None:
    rows = [ln for ln in seed_lines if ln.startswith("|") and not ln.startswith("|---")]
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    items = {f.item for f in kb.facts.values()}
    assert len(rows) - 1 == 5
    for row in rows[1:]:
        feature = row.strip("|").split("|")[0].strip()
        for column in header[1:]:
            assert f"{feature} / {column}" in items, f"table cell {feature} / {column} has no fact"


def test_hedged_claims_stay_hedged(kb: KnowledgeBase) -> None:
    hedged = [f for f in kb.facts.values() if f.hedged]
    assert {"injection.healing_crisis", "reason.detox", "reason.nerve_regeneration"} <= {f.id for f in hedged}
    for fact in hedged:
        for text in (fact.spoken, fact.detail):
            assert any(h in text.lower() for h in HEDGES), f"{fact.id}: {text!r} lost its hedge"


def test_facts_are_not_copied_from_the_source(kb: KnowledgeBase, seed_lines: list[str]) -> None:
    source = " ".join(seed_lines).lower()
    for fact in kb.facts.values():
        words = fact.spoken.lower().rstrip(".").split()
        # No run of 12 words is taken over verbatim.
        for i in range(len(words) - 11):
            assert " ".join(words[i : i + 12]) not in source, f"{fact.id} copies the source"


def test_no_fact_gives_a_dose(kb: KnowledgeBase) -> None:
    for fact in kb.facts.values():
        assert not re.search(r"\d+\s*(mg|mcg|micrograms?|milligrams?|iu)\b", fact.spoken + fact.detail, re.I), fact.id


def test_every_intent_has_a_handler_and_every_answer_an_intent(kb: KnowledgeBase, catalog: Catalog) -> None:
    names = set(catalog.intent_names())
    for name in names:
        assert handler_for(name, kb) is not None, f"intent {name!r} has no handler"
    assert set(kb.answers) <= names, set(kb.answers) - names
    assert {"emergency", "out_of_scope"} | names >= set(SPECIAL)


def test_every_slot_in_a_phrasing_is_declared_and_has_values(catalog: Catalog) -> None:
    for intent in catalog.intents:
        for group in intent.groups():
            for template in group.phrases:
                for sentence in expand(template):
                    for slot in re.findall(r"\{(\w+)\}", sentence):
                        assert slot in intent.slots, (intent.name, template)
                        assert catalog.slots[slot], slot


def test_slot_values_in_answers_exist(kb: KnowledgeBase, catalog: Catalog) -> None:
    for intent, spec in kb.answers.items():
        for slot, variants in spec.by_slot.items():
            values = set(catalog.slots.get(slot, {})) or {
                "cause",
                "pain_type",
                "onset",
                "associated_symptoms",
                "severity",
            }
            assert set(variants) <= values, (intent, slot, set(variants) - values)


def test_no_answer_says_the_wake_phrase_or_a_stop_phrase(kb: KnowledgeBase) -> None:
    # Hands-free keeps listening while an answer plays (barge-in): the skill must not interrupt itself.
    from skill.config import Settings

    handsfree = Settings().handsfree
    phrases = [handsfree.wake_phrase, *handsfree.stop_phrases]
    texts = [f.spoken for f in kb.facts.values()] + [f.detail for f in kb.facts.values()]
    texts += list(kb.say.model_dump().values()) + [kb.reminder]
    for text in texts:
        words = " " + re.sub(r"[^a-z ]", " ", text.lower()) + " "
        for phrase in phrases:
            assert f" {phrase} " not in words, (phrase, text)
