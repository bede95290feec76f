"""Golden tests as data: tests/golden/en-us.toml, sentence -> intent and frame -> words the answer must
(and must not) contain, alarms, reminders and the spoken length."""

from __future__ import annotations

import asyncio
import tomllib
import uuid
from pathlib import Path
from typing import Any

import pytest

from handlers.plan import WORD_BUDGET
from skill.app import Skill
from skill.events import Answer

from .conftest import REMINDER, REMINDER_SHORT

GOLDEN = tomllib.loads((Path(__file__).parents[1] / "golden" / "en-us.toml").read_text(encoding="utf-8"))
NOT_HEALTH = {"help", "greeting", "thanks", "acknowledge", "stop", "goodbye", "cancel"}  # spoken without the reminder


def _intent(answer: Answer) -> str:
    return answer.intent or "fallback"


def _body(answer: Answer) -> str:
    return answer.text.removesuffix(REMINDER).removesuffix(REMINDER_SHORT).strip()


def _check_words(case: dict[str, Any], answer: Answer) -> None:
    text = answer.text.lower()
    for word in case.get("contains", []):
        assert word.lower() in text, (case["text"], answer.text)
    for word in case.get("not_contains", []):
        assert word.lower() not in text, (case["text"], answer.text)
    assert len(_body(answer).split()) <= WORD_BUDGET, answer.text


def _check_frame(case: dict[str, Any], answer: Answer) -> None:
    want = case.get("frame")
    if not want:
        return
    frame = answer.frame
    assert frame is not None
    got = {
        "subject": frame.subject,
        "ask": frame.ask,
        "who": frame.who,
        "symptoms": list(frame.symptoms),
        "uncovered": list(frame.uncovered),
        "severity": list(frame.severity),
        "negated": bool(frame.negated),
        "parts": len(frame.parts),
    }
    for key, value in want.items():
        if key == "symptoms":
            assert set(value) <= set(got[key]), (case["text"], key, got)
        else:
            assert got[key] == value, (case["text"], key, got)


@pytest.mark.parametrize("case", GOLDEN["case"], ids=lambda c: c["text"][:60] or "<empty>")
async def test_golden_case(skill: Skill, case: dict[str, Any]) -> None:
    answer = await asyncio.wait_for(skill.ask(case["text"], uuid.uuid4().hex), timeout=2)
    assert isinstance(answer, Answer), answer
    assert _intent(answer) == case["intent"], answer
    understood = skill.matcher.understand(case["text"])
    for slot, value in case.get("slots", {}).items():
        assert getattr(understood, "slots", {}).get(slot) == value, understood
    _check_words(case, answer)
    _check_frame(case, answer)
    assert answer.emergency == case.get("emergency", False)
    if _intent(answer) in NOT_HEALTH:
        assert not answer.text.endswith(REMINDER), answer.text
    else:
        assert answer.text.endswith(REMINDER), answer.text  # a first turn: the reminder in full
    if answer.emergency:
        assert answer.text.startswith(case.get("starts", "Call emergency services now")), answer.text


@pytest.mark.parametrize("conversation", GOLDEN["conversation"], ids=lambda c: c["name"])
async def test_golden_conversation(skill: Skill, conversation: dict[str, Any]) -> None:
    session = uuid.uuid4().hex
    reminded = False
    for turn in conversation["turns"]:
        answer = await asyncio.wait_for(skill.ask(turn["text"], session), timeout=2)
        assert isinstance(answer, Answer), answer
        assert _intent(answer) == turn["intent"], (turn["text"], answer)
        _check_words(turn, answer)
        if _intent(answer) not in NOT_HEALTH:
            assert answer.text.endswith(REMINDER_SHORT if reminded else REMINDER), (turn["text"], answer.text)
            reminded = True
        if answer.end_session:
            reminded = False  # a new conversation starts with the reminder in full
