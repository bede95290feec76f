"""Red flags and out-of-scope topics, checked before any intent (rules in safety.toml)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .results import IntentMatch

EMERGENCY = "emergency"
OUT_OF_SCOPE = "out_of_scope"


class SafetyRules:
    def __init__(self, red_flags: Iterable[str], out_of_scope: Iterable[str]) -> None:
        self._red = _compile(red_flags)
        self._oos = _compile(out_of_scope)

    def check(self, surface_text: str) -> IntentMatch | None:
        """An emergency beats everything; an out-of-scope topic beats any intent."""
        for intent, pattern in ((EMERGENCY, self._red), (OUT_OF_SCOPE, self._oos)):
            found = pattern.search(surface_text)
            if found:
                return IntentMatch(intent=intent, slots={"trigger": found.group(0)}, confidence=1.0, text=surface_text)
        return None


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    # One alternation, each rule anchored at a word start so "rain" never fires inside "brain".
    return re.compile("|".join(rf"\b(?:{p})" for p in patterns))
