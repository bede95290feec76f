"""Match an utterance to an intent: safety rules first, then weighted word overlap.

Each expanded phrasing becomes a set of canonical tokens. An utterance is scored
against phrasings by weighted Dice overlap, where a token's weight is its inverse
frequency across intents (words every intent shares, like "b12", count little) and
words the skill has never seen count against the match. That makes the matcher
tolerant of missing and extra words, and misheard words are first snapped to the
nearest known word. Slot words are replaced by a placeholder before scoring, so one
phrasing serves every value.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from .catalog import Catalog
from .normalize import SLOT_PREFIX, Normalizer, PhraseMap
from .results import IntentMatch, NotRecognized, Understanding
from .safety import SafetyRules
from .templates import expand

UNKNOWN_WEIGHT = 0.6  # an unseen word: evidence that the question is about something else
FUZZY_CUTOFF = 82  # rapidfuzz ratio needed to treat an unknown word as a mishearing
FUZZY_MIN_LEN = 4


@dataclass(frozen=True)
class _Phrase:
    intent: str
    fixed: tuple[tuple[str, str], ...]
    weight: float
    tokens: frozenset[str]


class _SlotSpotter:
    """Finds slot words for one combination of slot types and swaps in placeholders."""

    def __init__(self, slot_types: tuple[str, ...], catalog: Catalog, norm: Normalizer) -> None:
        mapping: dict[str, str] = {}
        self.values: dict[str, tuple[str, str]] = {}
        for slot in slot_types:
            for value, words in catalog.slots[slot].items():
                for word in words:
                    key = " ".join(norm.surface(word))
                    marker = f"{SLOT_PREFIX}{slot}{len(self.values)}"
                    mapping[key] = marker
                    self.values[marker] = (slot, value)
        self._map = PhraseMap(mapping)

    def spot(self, surface: list[str]) -> tuple[list[str], dict[str, str]]:
        slots: dict[str, str] = {}
        conflicting: set[str] = set()
        out: list[str] = []
        for token in self._map.apply(surface):
            if token in self.values:
                slot, value = self.values[token]
                if slots.get(slot, value) != value:
                    conflicting.add(slot)  # "deficiency or injection": both sides, so no single value
                slots[slot] = value
                out.append(SLOT_PREFIX + slot)
            else:
                out.append(token)
        for slot in conflicting:
            del slots[slot]
        return out, slots


class Matcher:
    def __init__(self, catalog: Catalog, threshold: float = 0.5) -> None:
        self.threshold = threshold
        lex = catalog.lexicon
        self._norm = Normalizer(lex.fillers, lex.canonical)
        self._safety = SafetyRules(catalog.safety.red_flags, catalog.safety.out_of_scope)
        self._spotters: dict[tuple[str, ...], _SlotSpotter] = {}
        raw: dict[tuple[str, ...], list[tuple[str, tuple[tuple[str, str], ...], frozenset[str]]]] = defaultdict(list)
        surface_vocab: set[str] = set(self._norm.known_words())
        for intent in catalog.intents:
            key = tuple(sorted(intent.slots))
            spotter = self._spotters.setdefault(key, _SlotSpotter(key, catalog, self._norm))
            for group in intent.groups():
                fixed = tuple(sorted(group.set.items()))
                seen: set[frozenset[str]] = set()
                for template in group.phrases:
                    for sentence in expand(template):
                        sentence = sentence.replace("{", f" {SLOT_PREFIX}").replace("}", " ")
                        surface = self._norm.surface(sentence)
                        surface_vocab.update(t for t in surface if not t.startswith(SLOT_PREFIX))
                        tokens = frozenset(self._norm.canonical(spotter.spot(surface)[0]))
                        if tokens and tokens not in seen:
                            seen.add(tokens)
                            raw[key].append((intent.name, fixed, tokens))
        for key in self._spotters:
            for values in (catalog.slots[s] for s in key):
                for words in values.values():
                    for word in words:
                        surface_vocab.update(self._norm.surface(word))
        self._surface_vocab = sorted(surface_vocab)
        self._surface_set = frozenset(surface_vocab)
        self._idf = self._weights(raw)
        self._index: dict[tuple[str, ...], tuple[list[_Phrase], dict[str, list[int]]]] = {}
        for key, entries in raw.items():
            phrases = [
                _Phrase(name, fixed, sum(self._idf[t] for t in tokens), tokens) for name, fixed, tokens in entries
            ]
            inverted: dict[str, list[int]] = defaultdict(list)
            for n, phrase in enumerate(phrases):
                for token in phrase.tokens:
                    inverted[token].append(n)
            self._index[key] = (phrases, dict(inverted))
        self._correct = lru_cache(maxsize=4096)(self._nearest_word)

    @staticmethod
    def _weights(raw: dict[tuple[str, ...], list[tuple[str, tuple[tuple[str, str], ...], frozenset[str]]]]) -> dict[str, float]:
        intents_with: dict[str, set[str]] = defaultdict(set)
        names: set[str] = set()
        for entries in raw.values():
            for name, _, tokens in entries:
                names.add(name)
                for token in tokens:
                    intents_with[token].add(name)
        n = len(names)
        return {t: math.log(1 + n / len(owners)) for t, owners in intents_with.items()}

    def understand(self, text: str) -> Understanding:
        surface = [self._correct(t) for t in self._norm.surface(text)]
        surface_text = " ".join(surface)
        if not surface:
            return NotRecognized(text=surface_text)
        flagged = self._safety.check(surface_text)
        if flagged is not None:
            return flagged
        best: tuple[float, _Phrase | None, dict[str, str]] = (0.0, None, {})
        for key, spotter in self._spotters.items():
            tokens, slots = spotter.spot(surface)
            score, phrase = self._best_phrase(key, set(self._norm.canonical(tokens)))
            if phrase is not None and score > best[0]:
                best = (score, phrase, slots)
        score, phrase, slots = best
        if phrase is None or score < self.threshold:
            return NotRecognized(text=surface_text, best_guess=phrase.intent if phrase else None, confidence=round(score, 3))
        return IntentMatch(intent=phrase.intent, slots={**slots, **dict(phrase.fixed)}, confidence=round(score, 3), text=surface_text)

    def _best_phrase(self, key: tuple[str, ...], tokens: set[str]) -> tuple[float, _Phrase | None]:
        phrases, inverted = self._index[key]
        shared: dict[int, float] = defaultdict(float)
        utterance_weight = 0.0
        for token in tokens:
            weight = self._idf.get(token, UNKNOWN_WEIGHT)
            utterance_weight += weight
            for n in inverted.get(token, ()):
                shared[n] += weight
        best_score, best = 0.0, None
        for n, overlap in shared.items():
            phrase = phrases[n]
            score = 2 * overlap / (phrase.weight + utterance_weight)
            if score > best_score:
                best_score, best = score, phrase
        return best_score, best

    def _nearest_word(self, token: str) -> str:
        if token in self._surface_set or len(token) < FUZZY_MIN_LEN:
            return token
        found = process.extractOne(token, self._surface_vocab, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        return found[0] if found else token
