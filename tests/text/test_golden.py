"""Golden tests as data: tests/golden/en-us.toml, sentence -> intent -> words the answer must contain."""

from __future__ import annotations

import asyncio
import tomllib
import uuid
from pathlib import Path

import pytest

from skill.app import Skill
from skill.events import Answer

from .conftest import REMINDER

GOLDEN = tomllib.loads((Path(__file__).parents[1] / "golden" / "en-us.toml").read_text(encoding="utf-8"))
REFUSALS = {"fallback": None}


def _intent(answer: Answer) -> str:
    return answer.intent or "fallback"


def test_golden_set_is_large_enough() -> None:
    turns = sum(len(c["turns"]) for c in GOLDEN["conversation"])
    assert len(GOLDEN["case"]) + turns >= 150


@pytest.mark.parametrize("case", GOLDEN["case"], ids=lambda c: c["text"][:60] or "<empty>")
async def test_golden_case(skill: Skill, case: dict) -> None:
    answer = await asyncio.wait_for(skill.ask(case["text"], uuid.uuid4().hex), timeout=2)
    assert isinstance(answer, Answer), answer
    assert _intent(answer) == case["intent"], answer
    understood = skill.matcher.understand(case["text"])
    for slot, value in case.get("slots", {}).items():
        assert getattr(understood, "slots", {}).get(slot) == value, understood
    for word in case.get("contains", []):
        assert word.lower() in answer.text.lower(), answer.text
    assert answer.emergency == case.get("emergency", False)
    assert answer.text.endswith(REMINDER)
    if answer.emergency:
        assert answer.text.startswith("Call emergency services now")


@pytest.mark.parametrize("conversation", GOLDEN["conversation"], ids=lambda c: c["name"])
async def test_golden_conversation(skill: Skill, conversation: dict) -> None:
    session = uuid.uuid4().hex
    for turn in conversation["turns"]:
        answer = await asyncio.wait_for(skill.ask(turn["text"], session), timeout=2)
        assert isinstance(answer, Answer), answer
        assert _intent(answer) == turn["intent"], (turn["text"], answer)
        for word in turn.get("contains", []):
            assert word.lower() in answer.text.lower(), (turn["text"], answer.text)
        assert answer.text.endswith(REMINDER)
