"""NegEx-style negation: is a mention denied ("no chest pain", "my throat isn't swelling")?

A mention is negated when a trigger ("no", "don't have", "ruled out"...) comes before it in the
same clause, within a few words and not past a terminator ("but", "just"...), or inside it
("chest doesn't hurt"), or right after it ("...ruled out"), or the story goes on to say it is over
("...but hes fine now"). Pseudo-triggers that only look like
negation ("not sure if", "can't tell") never negate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .catalog import Negation


def _alternation(words: Iterable[str], end: str = r"\b") -> re.Pattern[str]:
    # Longest first, so "do not have" wins over "do not"; no words match nothing (an empty
    # alternation would match at every word boundary and deny every mention).
    alternatives = sorted(words, key=len, reverse=True)
    if not alternatives:
        return re.compile("(?!)")
    return re.compile(r"\b(?:" + "|".join(alternatives) + ")" + end)


class NegationScope:
    def __init__(self, spec: Negation) -> None:
        self._scope = spec.scope_words
        self._trigger = _alternation(spec.triggers)
        self._post = _alternation(spec.post_triggers)
        self._pseudo = _alternation(spec.pseudo)
        self._stop = _alternation(spec.terminators)
        self._if = _alternation(spec.hypothetical)
        self._condition = _alternation(spec.conditions, end="$")  # a mention that is wholly a condition
        self._reported = _alternation(spec.reported)
        self._reported_after = _alternation(spec.reported_after)
        self._reported_until = _alternation(spec.reported_until)
        self._resolved = _alternation(spec.resolved)
        self._resolved_words = spec.resolved_words
        self._question = _alternation(spec.resolved_until)

    def hypothetical(self, text: str, start: int, end: int) -> bool:
        """A condition asked about, not reported ("can low b12 cause a stroke")."""
        return self._asks_about(self._window(text, start), text[start:end])

    def negated(self, text: str, start: int, end: int, red_flag: bool = False) -> bool:
        """Whether text[start:end], a mention found in cleaned text, is denied by the words around it.
        A red flag is also not a report when it is told as a story, a supposition or something over."""
        window = self._window(text, start)
        if self._has_trigger(window):
            return True
        if self._asks_about(window, text[start:end]):
            return True  # "can low b12 cause a stroke"
        inner = text[start:end].split(maxsplit=1)
        if len(inner) == 2 and self._has_trigger(inner[1]):
            return True
        while end < len(text) and text[end].isalnum():  # "chest tight|ness i had in march..."
            end += 1
        following = " ".join(text[end:].split()[: self._scope])
        if self._post.match(following):  # right after it, a terminator inside may belong to the phrase
            return True  # ("chest pain checked and it was nothing")
        after = self._stop.split(following, maxsplit=1)[0]
        return self._post.search(after) is not None or (red_flag and self._is_reported(text, start, end, after))

    def _is_reported(self, text: str, start: int, end: int, after: str) -> bool:
        """`after`: the words right after the mention, up to a terminator (as `negated` read them)."""
        before = " ".join(text[:start].split()[-self._scope :])
        cut = [m.end() for m in self._reported_until.finditer(before)]
        # The mention's own words count too: "if my kid ever swallowed..." is matched from "kid".
        told = f"{before[cut[-1] :] if cut else before} {text[start:end]}"
        if self._reported.search(self._pseudo.sub(" ", told)):
            return True
        if self._reported_after.search(after):
            return True
        story = " ".join(text[end:].split()[: self._resolved_words])  # "...but hes fine now", past the "but"
        return self._resolved.search(self._question.split(story, maxsplit=1)[0]) is not None

    def _window(self, text: str, start: int) -> str:
        """The words before a mention, back to the nearest terminator, at most `scope_words` of them."""
        window = " ".join(text[:start].split()[-self._scope :])
        # "feel like my chest...": a terminator right after "like" goes on with the same clause.
        cut = [m.end() for m in self._stop.finditer(window) if not window[: m.start()].endswith("like ")]
        return window[cut[-1] :] if cut else window

    def _asks_about(self, window: str, mention: str) -> bool:
        return self._condition.match(mention) is not None and self._if.search(window) is not None

    def _has_trigger(self, window: str) -> bool:
        return self._trigger.search(self._pseudo.sub(" ", window)) is not None
