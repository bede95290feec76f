"""NegEx-style negation: is a mention denied ("no chest pain", "my throat isn't swelling")?

A mention is negated when a trigger ("no", "don't have", "ruled out"...) comes before it in the
same clause, within a few words and not past a terminator ("but", "just"...), or inside it
("chest doesn't hurt"), or right after it ("...ruled out"). Pseudo-triggers that only look like
negation ("not sure if", "can't tell") never negate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .catalog import Negation


def _alternation(words: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + "|".join(sorted(words, key=len, reverse=True)) + r")\b")


class NegationScope:
    def __init__(self, spec: Negation) -> None:
        self._scope = spec.scope_words
        self._trigger = _alternation(spec.triggers)
        self._post = _alternation(spec.post_triggers) if spec.post_triggers else None
        self._pseudo = _alternation(spec.pseudo) if spec.pseudo else None
        self._stop = _alternation(spec.terminators) if spec.terminators else None
        self._if = _alternation(spec.hypothetical) if spec.hypothetical else None
        self._condition = re.compile("(?:" + "|".join(spec.conditions) + r")$") if spec.conditions else None

    def negated(self, text: str, start: int, end: int) -> bool:
        """Whether text[start:end], a mention found in cleaned text, is denied by the words around it."""
        window = self._window(text, start)
        if self._has_trigger(window):
            return True
        if self._if is not None and self._condition is not None and self._condition.match(text[start:end]):
            if self._if.search(window):  # "can low b12 cause a stroke"
                return True
        inner = text[start:end].split(maxsplit=1)
        if len(inner) == 2 and self._has_trigger(inner[1]):
            return True
        if self._post is not None:
            after = " ".join(text[end:].split()[: self._scope // 2 + 1])
            if self._stop is not None:
                after = self._stop.split(after, maxsplit=1)[0]
            if self._post.search(after):
                return True
        return False

    def _window(self, text: str, start: int) -> str:
        """The words before a mention, back to the nearest terminator, at most `scope_words` of them."""
        window = " ".join(text[:start].split()[-self._scope :])
        if self._stop is not None:
            cut = [m.end() for m in self._stop.finditer(window)]
            if cut:
                window = window[cut[-1] :]
        return window

    def _has_trigger(self, window: str) -> bool:
        if self._pseudo is not None:
            window = self._pseudo.sub(" ", window)
        return self._trigger.search(window) is not None
