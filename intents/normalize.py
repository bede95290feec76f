"""Turn speech-to-text output (or typed text) into the tokens the matcher compares.

Two passes, both driven by lexicon.toml:
- `surface`: lower case, punctuation and apostrophes gone, fillers dropped, every
  spelling of B12 made "b12", numbers made "num". Safety rules and slot spotting
  read this form, because they need the words as said.
- `canonical`: synonyms folded to one token and plurals trimmed, for scoring.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

_APOSTROPHES = re.compile(r"['’‘`]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven thirteen fourteen fifteen twenty thirty "
    "forty fifty sixty seventy eighty ninety hundred thousand million".split()
)
SLOT_PREFIX = "slotx"


def clean(text: str) -> str:
    """Lower case ASCII words and digits separated by single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _APOSTROPHES.sub("", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(_NON_WORD.sub(" ", text).split())


class PhraseMap:
    """Longest-match replacement of word sequences in a token list."""

    def __init__(self, mapping: Mapping[str, str | None]) -> None:
        self._map: dict[tuple[str, ...], str | None] = {}
        for phrase, target in mapping.items():
            key = tuple(clean(phrase).split())
            if key:
                self._map[key] = target
        # Phrase lengths by first word, longest first: most words start no phrase and cost one lookup.
        lengths: dict[str, set[int]] = {}
        for key in self._map:
            lengths.setdefault(key[0], set()).add(len(key))
        self._lengths = {word: sorted(ns, reverse=True) for word, ns in lengths.items()}

    def apply(self, tokens: Sequence[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for n in self._lengths.get(tokens[i], ()):
                key = tuple(tokens[i : i + n])
                if len(key) == n and key in self._map:
                    target = self._map[key]
                    if target is not None:
                        out.append(target)
                    i += n
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out

    def words(self) -> set[str]:
        return {w for key in self._map for w in key}


class Normalizer:
    def __init__(self, fillers: Iterable[str], canonical: Mapping[str, Iterable[str]]) -> None:
        b12_forms = {form: "b12" for form in canonical.get("b12", ())}
        self._first = PhraseMap({**{f: None for f in fillers}, **b12_forms})
        self._second = PhraseMap(
            {form: target for target, forms in canonical.items() if target != "b12" for form in forms}
        )

    def surface(self, text: str) -> list[str]:
        tokens = self._first.apply(clean(text).split())
        return ["num" if t.isdigit() or t in _NUMBER_WORDS else t for t in tokens]

    def canonical(self, tokens: Sequence[str]) -> list[str]:
        return [_stem(t) for t in self._second.apply(tokens)]

    def known_words(self) -> set[str]:
        """Every surface word the lexicon itself understands."""
        return self._first.words() | self._second.words()


def _stem(token: str) -> str:
    # Only plural "s": enough to make "cramps" meet "cramp" without a stemming library.
    if token.startswith(SLOT_PREFIX) or len(token) <= 4 or token.endswith(("ss", "us", "is")):
        return token
    return token[:-1] if token.endswith("s") else token
