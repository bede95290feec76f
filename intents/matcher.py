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
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

from . import phrasings
from .catalog import Catalog, Route
from .frame import Part, RedFlag
from .normalize import SLOT_PREFIX, Normalizer, PhraseMap
from .reading import CUT_MARK, FrameReader, Reading
from .results import IntentMatch, NotRecognized, Understanding
from .safety import DOSE, EMERGENCY, OUT_OF_SCOPE
from .semantic import SemanticRedFlags

UNKNOWN_WEIGHT = 1.0  # an unseen word: evidence that the question is about something else
FUZZY_CUTOFF = 80  # rapidfuzz ratio needed to treat an unknown word as a mishearing
BETA2 = 2.0  # beta squared, chosen on tests/dev: questions may carry extra words
COMMAND_BETA2 = 0.1  # commands ("stop", "why") must be said almost alone
FUZZY_MIN_LEN = 4
B12_WORD = re.compile(r"\bb12\b")
ROUTE_CONFIDENCE = 0.75  # a part whose ask and subject fit a route is understood at least this well
UNKNOWN_EFFECT = "other_effects"  # a topic of safety.toml with no patterns: found by the matcher
# What a question read on its own, after an aside, gives the part it came from.
TAIL_FIELDS = ("subject", "subjects", "ask", "feature", "symptoms", "intent", "slots", "confidence")
EFFECT_WORDS = 4  # "can b12 jabs give you spots": the effect asked about is in the last few words
SAME_WORD = 90  # a snapped word this close to what was said is a misspelling of it, not another word


@dataclass(frozen=True)
class _Phrase:
    intent: str
    fixed: tuple[tuple[str, str], ...]


class _PhraseTable:
    """All phrasings for one combination of slot types, with an inverted index token -> phrasings.

    Scoring an utterance is then a few vector operations over every phrasing at once; memory
    grows with the number of (token, phrasing) pairs, not with vocabulary times phrasings.
    """

    def __init__(
        self,
        entries: list[tuple[str, tuple[tuple[str, str], ...], frozenset[str]]],
        idf: dict[str, float],
        function: frozenset[str],
        commands: frozenset[str],
    ) -> None:
        self.phrases = [_Phrase(name, fixed) for name, fixed, _ in entries]
        # Commands weigh precision: "exit" inside a misheard question is not a request to stop.
        self.beta2 = np.array(
            [COMMAND_BETA2 if name in commands else BETA2 for name, _, _ in entries], dtype=np.float32
        )
        postings: dict[str, list[int]] = defaultdict(list)
        for n, (_, _, tokens) in enumerate(entries):
            for token in tokens:
                postings[token].append(n)
        self.postings = {token: np.array(rows, dtype=np.int32) for token, rows in postings.items()}
        self.function = function
        self.weight = np.array([sum(idf[t] for t in tokens) for _, _, tokens in entries], dtype=np.float32)
        self.has_topic = np.array([bool(tokens - function) for _, _, tokens in entries])

    def best(
        self,
        known: list[str],
        weights: list[float],
        unknown_weight: float,
    ) -> tuple[float, _Phrase | None]:
        hits = [
            (self.postings[t], w, t not in self.function)
            for t, w in zip(known, weights, strict=True)
            if t in self.postings
        ]
        if not hits:
            return 0.0, None
        size = len(self.phrases)
        overlap = np.zeros(size, dtype=np.float32)
        on_topic = np.zeros(size, dtype=bool)
        for rows, weight, topical in hits:
            overlap[rows] += weight  # a phrasing holds each token once, so no index repeats here
            if topical:
                on_topic[rows] = True
        # A phrasing with topic words must share one of them; sharing only "what is the" is no match.
        overlap[self.has_topic & ~on_topic] = 0.0
        utterance = float(sum(weights)) + unknown_weight
        # F-beta of phrase recall and utterance precision: beta > 1 forgives extra words
        # around a question ("my mum is seventy and ...") more than missing ones.
        scores = (1 + self.beta2) * overlap / (self.beta2 * self.weight + utterance)
        n = int(np.argmax(scores))
        return (float(scores[n]), self.phrases[n]) if scores[n] > 0 else (0.0, None)


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
    def __init__(self, catalog: Catalog, threshold: float = 0.5, cache_dir: Path | None = None) -> None:
        """`cache_dir`: where the expanded phrasings are kept between starts (None: expand every time)."""
        self.threshold = threshold
        self.semantic: SemanticRedFlags | None = None  # red flags by meaning, when no rule fires (set by the skill)
        lex = catalog.lexicon
        self._norm = Normalizer(lex.fillers, lex.canonical)
        self.reader = FrameReader(catalog)  # the semantic check reads clauses as the rules do
        self._routes = catalog.frames.routes
        self._slot_keys = {i.name: tuple(sorted(i.slots)) for i in catalog.intents}
        self._spotters = {key: _SlotSpotter(key, catalog, self._norm) for key in set(self._slot_keys.values())}
        raw, surface_vocab = phrasings.cached(
            catalog, self._norm, lambda key, surface: self._spotters[key].spot(surface)[0], cache_dir
        )
        surface_vocab |= set(self._norm.known_words())
        for key in self._spotters:
            for values in (catalog.slots[s] for s in key):
                for words in values.values():
                    for word in words:
                        surface_vocab.update(self._norm.surface(word))
        self._surface_vocab = sorted(surface_vocab)
        self._surface_set = frozenset(surface_vocab)
        self._idf = self._weights(raw)
        self._function = frozenset(self._norm.canonical(lex.function_words))
        # Words that deny or set aside, kept as heard in the corrected reading the safety rules see:
        # snapping "havent" to "have" or "nothing" to "thing" turned a denied red flag into a said one.
        neg = catalog.frames.negation
        self._denying = frozenset(
            w
            for phrase in (*neg.triggers, *neg.post_triggers, *neg.reported, *neg.reported_after)
            for w in phrase.split()
            if w.isalpha()
        )
        commands = frozenset(i.name for i in catalog.intents if i.family == "conversation")
        self._commands = commands
        self._index = {key: _PhraseTable(entries, self._idf, self._function, commands) for key, entries in raw.items()}
        self._correct = lru_cache(maxsize=4096)(self._nearest_word)

    @staticmethod
    def _weights(
        raw: dict[tuple[str, ...], list[tuple[str, tuple[tuple[str, str], ...], frozenset[str]]]],
    ) -> dict[str, float]:
        intents_with: dict[str, set[str]] = defaultdict(set)
        names: set[str] = set()
        for entries in raw.values():
            for name, _, tokens in entries:
                names.add(name)
                for token in tokens:
                    intents_with[token].add(name)
        n = len(names)
        return {t: math.log(1 + n / len(owners)) for t, owners in intents_with.items()}

    def understand(
        self, text: str, heard_also: Sequence[str] = (), score_routes: bool = False, topic: Part | None = None
    ) -> Understanding:
        """`heard_also`: what another recognition pass heard; only its red flags count. `score_routes`: a
        routed part's confidence is how well its words match a phrasing (for speech the recognizer doubts),
        not the fixed ROUTE_CONFIDENCE. `topic`: what the conversation's last answer was about, for a
        follow-up that names nothing itself (read from the same reading, not a second one)."""
        result, reading = self._understand(text, heard_also, score_routes)
        if topic is not None and reading is not None and self.wants_context(result):
            return self._in_context(reading, result, topic, score_routes)
        return result

    def _understand(
        self, text: str, heard_also: Sequence[str], score_routes: bool
    ) -> tuple[Understanding, Reading | None]:
        heard = self._norm.surface(text)
        surface = [self._correct(t) for t in heard]
        surface_text = " ".join(surface)
        if not surface:
            return NotRecognized(text=surface_text), None
        # Safety reads the words as said (numbers included, nothing snapped to a known word), then as corrected.
        corrected = [h if h in self._denying else c for h, c in zip(heard, surface, strict=True)]
        reading = self.reader.read(text, [" ".join(corrected)] if corrected != heard else [], heard_also)
        frame = reading.frame
        if not frame.red_flags and self.semantic is not None:
            found = self.semantic.find(text)
            if found is not None:
                # Who it happened to decides where help comes from, not which example it resembled
                # ("the baby put my tablets in her mouth" may sit nearest a dog that ate gummies).
                kind = "emergency"
                if found.kind != "emergency":
                    kind = {"child": "poison", "pet": "pet"}.get(frame.who, "emergency")
                flag = RedFlag(words=found.clause, kind=kind, like=found.like)  # type: ignore[arg-type]
                frame = frame.model_copy(update={"red_flags": (flag,)})
        if frame.red_flags:
            flag = frame.red_flags[0]
            slots = {"trigger": flag.words, "kind": flag.kind}
            return IntentMatch(intent=EMERGENCY, slots=slots, confidence=1.0, text=surface_text, frame=frame), reading
        # In a question of several parts, a topic named in one part holds back only that part ("how
        # often should i get my jabs and why do they make me ache": the why is still answered).
        several = len(frame.parts) > 1
        understood = [
            self._understand_part(
                p, r, self.reader.blocks(p.uncovered if several else frame.uncovered), score_routes, frame.hypothetical
            )
            for p, r in zip(frame.parts, reading.remainders, strict=True)
        ]
        parts = tuple(p for p, _ in understood)
        uncovered = tuple(dict.fromkeys((*frame.uncovered, *(t for p in parts for t in p.uncovered))))
        frame = frame.model_copy(update={"parts": parts, "uncovered": uncovered})
        answered = [p for p in parts if p.intent is not None]
        if answered:
            first = answered[0]
            return IntentMatch(
                intent=first.intent or "",
                slots=first.slots,
                confidence=first.confidence,
                text=surface_text,
                frame=frame,
            ), reading
        if frame.uncovered:
            intent = DOSE if frame.uncovered[0] == "dose" else OUT_OF_SCOPE
            slots = {"trigger": frame.uncovered[0]}
            return IntentMatch(intent=intent, slots=slots, confidence=1.0, text=surface_text, frame=frame), reading
        best = max(understood, key=lambda u: u[0].confidence, default=None)
        return NotRecognized(
            text=surface_text,
            best_guess=best[1] if best else None,
            confidence=best[0].confidence if best else 0.0,
            frame=frame,
        ), reading

    def wants_context(self, result: Understanding) -> bool:
        """A follow-up that names no subject of its own ("is that normal", "and sick?", "how do we find
        out"): what it is about is what the last answer was about."""
        frame = result.frame
        if not frame.parts or frame.red_flags or frame.uncovered or any(p.subject for p in frame.parts):
            return False
        if isinstance(result, IntentMatch):
            if result.intent in self._commands or result.intent in (EMERGENCY, OUT_OF_SCOPE, DOSE):
                return False
            return not frame.symptoms  # "my feet burn at night" is a question of its own
        return True

    def _in_context(self, reading: Reading, result: Understanding, topic: Part, score_routes: bool) -> Understanding:
        """`result` understood again with the subject of `topic` (the part the last answer answered), and
        its ask and symptoms where this question names none. One that finds no intent changes nothing."""
        parts = []
        before = result.frame.parts if len(result.frame.parts) == len(reading.frame.parts) else reading.frame.parts
        for part, remainder, was in zip(reading.frame.parts, reading.remainders, before, strict=True):
            if was.intent in self._commands:  # "...does that fit": a "why" of its own stays one
                parts.append(was)
                continue
            carried = part.model_copy(
                update={
                    "subject": topic.subject,
                    "subjects": topic.subjects,
                    "ask": part.ask or topic.ask,
                    "symptoms": part.symptoms or topic.symptoms,
                    "feature": part.feature or topic.feature,
                }
            )
            parts.append(self._understand_part(carried, remainder, False, score_routes)[0])
        answered = [p for p in parts if p.intent is not None]
        if not answered:
            return result
        first = answered[0]
        frame = result.frame.model_copy(update={"parts": tuple(parts)})
        return IntentMatch(
            intent=first.intent or "", slots=first.slots, confidence=first.confidence, text=result.text, frame=frame
        )

    def _understand_part(
        self,
        part: Part,
        remainder: str,
        uncovered: bool,
        score_routes: bool = False,
        asked_about: tuple[str, ...] = (),
        *,
        inner: bool = False,
    ) -> tuple[Part, str | None]:
        """The intent of one part: the route its ask and subject fit, else the phrasing it matches best."""
        heard = self._norm.surface(remainder)
        surface = [self._correct(t) for t in heard if t != CUT_MARK]
        # "can b12 shots cause blackouts": a condition asked about that no fact speaks of is a plain
        # "I don't know of a link", never the nearest fact; "...cause headaches" (no condition) goes on.
        names_condition = any(words in part.text for words in asked_about)
        if names_condition or (part.ask == "cause" and not part.symptoms and self._asks_of_the_unknown(heard)):
            # "can b12 jabs give you spots": asks about an effect the facts never mention.
            unknown = {"uncovered": (*part.uncovered, UNKNOWN_EFFECT), "asks_uncovered": True}
            return part.model_copy(update=unknown), None
        # Beside a topic the facts don't cover, only a part still grounded in B12 may be answered.
        blocked = part.asks_uncovered or (uncovered and not self._grounded(part, remainder))
        route = None if blocked else self._route(part, surface)
        if route is not None:
            spotted = self._spot(route.intent, surface)
            if route.intent == "compare":
                # "how do the shots compare": the part's own feature and side, unless the route fixes them.
                if part.feature:
                    spotted["feature"] = part.feature
                sides = {"deficiency", "injection"}.intersection(part.subjects)
                if len(sides) == 1:
                    spotted["side"] = sides.pop()
            update = {"intent": route.intent, "slots": {**spotted, **route.slots}}
            confidence = round(self._phrase(surface)[0], 3) if score_routes else ROUTE_CONFIDENCE
            return part.model_copy(update={**update, "confidence": confidence}), None
        score, phrase, slots = self._phrase(surface)
        if blocked or phrase is None or score < self.threshold:
            if not blocked and not inner:
                for tail, tail_part in self.reader.question_tails(remainder):
                    # A question that opens after a story or an aside: read it on its own.
                    carried = tail_part if tail_part.subject else tail_part.model_copy(update={"subject": part.subject})
                    found, _ = self._understand_part(carried, tail, False, score_routes, asked_about, inner=True)
                    if found.intent is not None:
                        update = {k: getattr(found, k) for k in TAIL_FIELDS}
                        update["symptoms"] = tuple(dict.fromkeys((*part.symptoms, *found.symptoms)))
                        return part.model_copy(update=update), None
            return part.model_copy(update={"confidence": round(score, 3)}), phrase.intent if phrase else None
        update = {"intent": phrase.intent, "slots": {**slots, **dict(phrase.fixed)}}
        return part.model_copy(update={**update, "confidence": round(score, 3)}), None

    def _grounded(self, part: Part, remainder: str) -> bool:
        """Beside a topic the facts don't cover, is what is left still a question of ours?

        It is if it names B12 or a side of it, asks about a B12 test, or only tells of symptoms that
        B12 facts describe ("i take metformin and my feet burn"); "does magnesium help cramps" is not.
        """
        if B12_WORD.search(remainder) or {"injection", "deficiency", "too_much", "absorption"} & set(part.subjects):
            return True
        if part.ask == "diagnose":
            return True
        telling = not self.reader.is_question(remainder)
        return telling and any(not self.reader.is_general(s) for s in part.symptoms)

    def _asks_of_the_unknown(self, heard: list[str]) -> bool:
        """Does "can b12 cause X" end on an X the skill knows nothing of? Something cut from it (a
        condition: "cause a stroke") or a word no phrasing has and that is not a near-spelling of one
        ("spots" is not "shots")."""
        tail = heard[-EFFECT_WORDS:]
        if CUT_MARK in tail:
            return True
        return any(
            t not in self._surface_set
            and t not in self._function
            and len(t) >= FUZZY_MIN_LEN
            and fuzz.ratio(t, self._correct(t)) < SAME_WORD
            for t in tail
        )

    def _spot(self, intent: str, surface: list[str]) -> dict[str, str]:
        return self._spotters[self._slot_keys[intent]].spot(surface)[1] if surface else {}

    def _phrase(self, surface: list[str]) -> tuple[float, _Phrase | None, dict[str, str]]:
        best: tuple[float, _Phrase | None, dict[str, str]] = (0.0, None, {})
        if not surface:
            return best
        for key, spotter in self._spotters.items():
            tokens, slots = spotter.spot(surface)
            score, phrase = self._best_phrase(key, set(self._norm.canonical(tokens)))
            if phrase is not None and score > best[0]:
                best = (score, phrase, slots)
        return best

    def _route(self, part: Part, surface: list[str]) -> Route | None:
        subject = part.subject or "none"
        for route in self._routes:
            if route.needs and not set(route.needs) <= self._spot(route.intent, surface).keys():
                continue
            if route.ask and (part.ask or "none") not in route.ask:
                continue
            if route.subject and subject not in route.subject:
                continue
            if route.both and not set(route.both) <= set(part.subjects):
                continue
            if route.feature and part.feature not in route.feature:
                continue
            if route.symptoms and not part.symptoms:
                continue
            return route
        return None

    def _best_phrase(self, key: tuple[str, ...], tokens: set[str]) -> tuple[float, _Phrase | None]:
        known = [t for t in tokens if t in self._idf]
        unknown_weight = UNKNOWN_WEIGHT * (len(tokens) - len(known))
        return self._index[key].best(known, [self._idf[t] for t in known], unknown_weight)

    def _nearest_word(self, token: str) -> str:
        if token in self._surface_set or len(token) < FUZZY_MIN_LEN:
            return token
        found = process.extractOne(token, self._surface_vocab, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
        return found[0] if found else token
