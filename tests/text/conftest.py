"""One skill (catalogue, matcher, fact base) shared by the text-path tests: it takes ~0.7 s to build."""

from __future__ import annotations

import pytest

from skill.app import Skill, build_skill
from skill.config import Settings

REMINDER = Settings().skill.reminder
REMINDER_SHORT = Settings().skill.reminder_short


@pytest.fixture(scope="session")
def skill() -> Skill:
    return build_skill(Settings())
