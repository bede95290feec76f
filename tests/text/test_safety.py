"""Safety regressions: every red flag and out-of-scope question of the development sets stays caught.

(The held-out set in tests/heldout is only for measuring, never for tests or tuning.)
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from intents import IntentMatch
from skill.app import Skill

DEV = Path(__file__).parents[1] / "dev"
CASES = [c for f in sorted(DEV.glob("*.toml")) for c in tomllib.loads(f.read_text(encoding="utf-8"))["case"]]


@pytest.mark.parametrize("text", [c["text"] for c in CASES if c["intent"] == "emergency"])
def test_red_flags_are_caught(skill: Skill, text: str) -> None:
    result = skill.matcher.understand(text)
    assert isinstance(result, IntentMatch) and result.intent == "emergency", result


@pytest.mark.parametrize("text", [c["text"] for c in CASES if c["intent"] in ("out_of_scope", "fallback")])
def test_out_of_scope_questions_are_refused(skill: Skill, text: str) -> None:
    result = skill.matcher.understand(text)
    assert not isinstance(result, IntentMatch) or result.intent == "out_of_scope", result


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
    assert isinstance(result, IntentMatch) and result.intent == "out_of_scope", result
