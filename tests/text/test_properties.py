"""Any text at all gets an answer that ends with the reminder (or, past the length limit, a clear error)."""

from __future__ import annotations

import asyncio
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.plan import WORD_BUDGET
from skill.app import Skill
from skill.events import Answer

from .conftest import REMINDER

WORDS = st.sampled_from(
    [
        "b12",
        "b twelve",
        "shots",
        "ache",
        "chest",
        "pain",
        "why",
        "um",
        "vitamin",
        "d",
        "iron",
        "tell",
        "me",
        "more",
        "how",
        "long",
        "deficiency",
        "dose",
        "🙂",
        "ñ",
        "\u200b",
        "\x00",
        "?",
        "12",
        "zzz",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=300), st.lists(WORDS, max_size=30).map(" ".join)))
def test_any_string_gets_an_answer_with_the_reminder(skill: Skill, text: str) -> None:
    answer = asyncio.run(asyncio.wait_for(skill.ask(text, uuid.uuid4().hex), 2))
    assert isinstance(answer, Answer)
    small_talk = ("help", "greeting", "thanks", "acknowledge", "stop", "goodbye", "cancel")
    if answer.intent in small_talk:  # carries no reminder
        assert REMINDER not in answer.text
    else:
        assert answer.text.endswith(REMINDER)
        assert answer.text.count(REMINDER) == 1
    assert len(answer.text.removesuffix(REMINDER).split()) <= WORD_BUDGET
