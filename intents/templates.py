"""Expand phrasing templates: `(a|b)` alternatives, `[x]` optional, `{slot}` kept as is.

A template is a compact way to write many phrasings; the matcher and the
speech language model both work on the expanded sentences.
"""

from __future__ import annotations

import itertools

from skill.errors import SkillError


class TemplateError(SkillError):
    code = "bad_template"


def expand(template: str, limit: int = 20000) -> list[str]:
    """Every sentence the template stands for, in a stable order (duplicates removed)."""
    parser = _Parser(template)
    alternatives = parser.parse_alternatives(end=None)
    out: dict[str, None] = {}
    for words in alternatives:
        sentence = " ".join(" ".join(words).split())
        out[sentence] = None
        if len(out) > limit:
            raise TemplateError(f"template expands to more than {limit} sentences: {template!r}")
    return list(out)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def parse_alternatives(self, end: str | None) -> list[list[str]]:
        """alternatives := sequence ('|' sequence)* ; stops before `end`."""
        options = [self.parse_sequence(end)]
        while self._peek() == "|":
            self.pos += 1
            options.append(self.parse_sequence(end))
        if end is not None:
            if self._peek() != end:
                raise TemplateError(f"missing {end!r} at {self.pos} in template {self.text!r}")
            self.pos += 1
        elif self.pos != len(self.text):
            raise TemplateError(f"unexpected {self.text[self.pos]!r} at {self.pos} in template {self.text!r}")
        return [seq for option in options for seq in option]

    def parse_sequence(self, end: str | None) -> list[list[str]]:
        """sequence := (word | group | optional)* ; returns every expansion of it."""
        parts: list[list[list[str]]] = []
        word: list[str] = []

        def flush() -> None:
            if word:
                parts.append([["".join(word)]])
                word.clear()

        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in "|)]" or ch == end:
                break
            if ch == "(":
                flush()
                self.pos += 1
                parts.append(self.parse_alternatives(end=")"))
            elif ch == "[":
                flush()
                self.pos += 1
                parts.append(self.parse_alternatives(end="]") + [[]])
            elif ch.isspace():
                flush()
                self.pos += 1
            else:
                word.append(ch)
                self.pos += 1
        flush()
        return [list(itertools.chain.from_iterable(combo)) for combo in itertools.product(*parts)]

    def _peek(self) -> str | None:
        return self.text[self.pos] if self.pos < len(self.text) else None
