"""Safety regressions: every red flag and out-of-scope question of the development sets stays caught.

(The held-out set in tests/heldout is only for measuring, never for tests or tuning.)
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from intents import IntentMatch, load_catalog
from intents.normalize import clean
from skill.app import Skill
from skill.corpus import pronunciations, spoken_sentences
from skill.stt.domain_model import build_domain_model

DEV = Path(__file__).parents[1] / "dev"
CASES = [c for f in sorted(DEV.glob("questions-*.toml")) for c in tomllib.loads(f.read_text(encoding="utf-8"))["case"]]


@pytest.mark.parametrize("text", [c["text"] for c in CASES if c["intent"] == "emergency"])
def test_red_flags_are_caught(skill: Skill, text: str) -> None:
    result = skill.matcher.understand(text)
    assert isinstance(result, IntentMatch) and result.intent == "emergency", result


REFUSALS = ("out_of_scope", "dose_question")


@pytest.mark.parametrize("text", [c["text"] for c in CASES if c["intent"] in ("out_of_scope", "fallback")])
def test_out_of_scope_questions_are_refused(skill: Skill, text: str) -> None:
    result = skill.matcher.understand(text)
    assert not isinstance(result, IntentMatch) or result.intent in REFUSALS, result


@pytest.mark.parametrize(
    "text",
    [
        "can b12 make me ache and i have chest pain",
        "tell me more about shots my throat is closing",
        "how much b12 should i take i took a whole bottle on purpose",
        "what is b12 my dad is not responding",
    ],
)
def test_a_red_flag_wins_whatever_else_is_asked(skill: Skill, text: str) -> None:
    result = skill.matcher.understand(text)
    assert isinstance(result, IntentMatch) and result.intent == "emergency"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("um uh can like b twelve make me ache", "can_b12_cause_aches"),  # fillers
        ("can be twelve make me ake", "can_b12_cause_aches"),  # misheard words
        ("b twelve shots sore", "injection_aches"),  # missing words
        ("do cobalamin injectons make you sore", "injection_aches"),
        ("what are the symptons of low b twelve", "deficiency_symptoms"),
    ],
)
def test_speech_to_text_noise_is_tolerated(skill: Skill, text: str, intent: str) -> None:
    result = skill.matcher.understand(text)
    assert isinstance(result, IntentMatch) and result.intent == intent, result


@pytest.mark.parametrize(
    "text",
    [
        "how much vitamin d should i take",
        "does b6 cause tingling",
        "can iron pills make my joints ache",
        "do statins cause muscle cramps",
        "is ibuprofen ok with b12 shots",
        "what foods have b12",
        "will it rain tomorrow",
        "magnesium for cramps",
    ],
)
def test_near_misses_are_refused(skill: Skill, text: str) -> None:
    result = skill.matcher.understand(text)
    assert isinstance(result, IntentMatch) and result.intent in REFUSALS, result


# --- the safety rules can be heard: the speech recognizer's vocabulary covers them -------------------


def _rule_words(pattern: str) -> set[str]:
    """The literal words (and word stems such as 'anaphyla') a rule is written with."""
    return set(re.findall(r"[a-z]{3,}", re.sub(r"\\[bwsd]", " ", pattern))) - {"ing", "ness"}


@pytest.mark.parametrize("example", load_catalog("en-us").safety.spoken_examples)
def test_spoken_red_flag_examples_are_emergencies(skill: Skill, example: str) -> None:
    result = skill.matcher.understand(example)
    assert isinstance(result, IntentMatch) and result.intent == "emergency", result


@pytest.mark.parametrize("example", load_catalog("en-us").safety.spoken_refusals)
def test_spoken_refusal_examples_are_refused(skill: Skill, example: str) -> None:
    result = skill.matcher.understand(example)
    assert isinstance(result, IntentMatch) and result.intent in REFUSALS, result


def test_every_red_flag_rule_has_a_spoken_example(skill: Skill) -> None:
    examples = [clean(e) for e in skill.catalog.safety.spoken_examples]  # as the safety rules read text
    rules = skill.catalog.safety.all_red_flags
    unheard = [p for p in rules if not any(re.search(rf"\b(?:{p})", e) for e in examples)]
    assert not unheard, f"red-flag rules with no spoken example: {unheard}"


def test_every_red_flag_word_is_in_the_speech_vocabulary(skill: Skill, tmp_path: Path) -> None:
    model = build_domain_model(
        spoken_sentences(skill.catalog, skill.knowledge), tmp_path, extra_pronunciations=pronunciations("en-us")
    )
    assert not model.missing_words, f"add pronunciations to intents/en-us/pronunciations.dict: {model.missing_words}"
    vocab = {w.replace("'", "") for w in model.words}
    words = {w for p in skill.catalog.safety.all_red_flags for w in _rule_words(p)}
    unheard = sorted(w for w in words if not any(v.startswith(w) for v in vocab))
    assert not unheard, f"red-flag words the recognizer cannot output (add spoken examples): {unheard}"


@pytest.mark.parametrize(
    ("heard", "also"),
    [
        # the other pass hears a red flag these words never mention: escalate
        ("can b12 lower your cholesterol", "can be twelve lower your heart attack"),
        ("my legs ache is it b12", "my legs ache she is not breathing"),
        # ...also one these words deny: Whisper heard espeak-ng's "she is having a seizure" in 12 dB pink
        # noise as "she didn't have a seizure" (a false alarm now and then is the price)
        ("she didn't have a seizure", "she is having a seizure"),
    ],
)
def test_a_red_flag_another_pass_heard_is_escalated_whatever_these_words_say(
    skill: Skill, heard: str, also: str
) -> None:
    result = skill.matcher.understand(heard, (also,))
    assert isinstance(result, IntentMatch) and result.intent == "emergency", result
