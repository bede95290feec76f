"""The second line for red flags: a clause that means what a red flag means, in words no rule has.

Each clause of the question (split at punctuation and at `[semantic] splits`) is embedded and
compared with the spoken red-flag examples of safety.toml and with calm sentences (the catalogue's
own questions and the everyday symptoms of `[semantic] calm_examples`). A clause raises a flag when
its nearest red-flag example is close enough and clearly closer than anything calm. An embedding
cannot read "no" or "fine", so clauses that hold a negation trigger or a `skip` word are never read
here: the rules and their negation scope stay the only judges of those.

It runs only when no rule fired, and its flag names the example it resembled, so a reviewer can see
why it fired.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .catalog import Catalog, Negation, SemanticSpec
from .reading import FrameReader

Embed = Callable[[Sequence[str]], np.ndarray]

_PUNCTUATION = re.compile(r"[.?!;,:]+")
CALM = "calm"


def _words(words: Sequence[str]) -> re.Pattern[str]:
    alternatives = sorted(words, key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b") if alternatives else re.compile("(?!)")


@dataclass(frozen=True)
class SemanticFlag:
    clause: str
    like: str  # the spoken red-flag example it is closest to
    kind: str
    score: float


class SemanticRedFlags:
    def __init__(
        self,
        embed: Embed,
        prepare: Callable[[str], str],
        spec: SemanticSpec,
        negation: Negation,
        examples: Sequence[tuple[str, str]],
        red: np.ndarray,
        calm: np.ndarray,
    ) -> None:
        """`examples`: (sentence, kind) of every spoken red flag; `red`, `calm`: their embeddings and the
        calm sentences'. `embed` reads the clauses of each question; `prepare` cleans a clause as the rules
        read it (B12 spellings made one)."""
        if len(examples) != len(red) or not len(red) or not len(calm):
            raise ValueError("semantic red flags need one embedding per example and some calm sentences")
        self._embed = embed
        self._prepare = prepare
        self._spec = spec
        self._examples = tuple(examples)
        self._red = red
        self._calm = calm
        self._split = _words(spec.splits)
        self._story = _words(spec.story)
        self._skip = _words(
            [*negation.triggers, *negation.post_triggers, *negation.reported, *negation.reported_after, *spec.skip]
        )

    def clauses(self, text: str) -> list[str]:
        """The clauses worth reading: long enough, and with nothing that denies, reassures or asks why."""
        out: list[str] = []
        for piece in _PUNCTUATION.split(text):
            for clause in self._split.split(self._prepare(piece)):
                clause = " ".join(clause.split())
                if self._story.search(clause):
                    # "we watched a hospital drama last night and a lad had taken an overdose": the rest of
                    # the sentence is the story. The word rules still read it, with their own scope.
                    break
                if len(clause.split()) >= self._spec.min_words and not self._skip.search(clause):
                    out.append(clause)
        return list(dict.fromkeys(out))

    def find(self, text: str) -> SemanticFlag | None:
        clauses = self.clauses(text)
        if not clauses:
            return None
        vectors = self._embed(clauses)
        red = vectors @ self._red.T
        calm = (vectors @ self._calm.T).max(axis=1)
        best: SemanticFlag | None = None
        for i, clause in enumerate(clauses):
            j = int(red[i].argmax())
            score = float(red[i, j])
            if score >= self._spec.threshold and score - float(calm[i]) >= self._spec.margin:
                if best is None or score > best.score:
                    sentence, kind = self._examples[j]
                    best = SemanticFlag(clause=clause, like=sentence, kind=kind, score=round(score, 3))
        return best


RECIPE = 1  # bump when anchor_sentences changes what it returns (cached anchors are keyed by it)


def anchor_sentences(catalog: Catalog, reader: FrameReader, calm_per_template: int = 6) -> list[tuple[str, str]]:
    """(sentence, kind) of every spoken red-flag example, then (sentence, "calm") of the catalogue's own
    questions and `[semantic] calm_examples`: what a clause is compared with."""
    spec = catalog.safety.semantic
    examples: list[tuple[str, str]] = []
    for sentence in catalog.safety.spoken_examples:
        flags = reader.read(sentence).frame.red_flags
        examples.append((reader.prepare(sentence), flags[0].kind if flags else "emergency"))
    red = {s for s, _ in examples}
    extra = spec.calm_examples if spec else ()
    calm = dict.fromkeys(reader.prepare(s) for s in (*catalog.sentences(calm_per_template), *extra))
    return examples + [(s, CALM) for s in calm if s and s not in red]


def checker(
    catalog: Catalog, reader: FrameReader, embed: Embed, anchors: Sequence[tuple[str, str]], vectors: np.ndarray
) -> SemanticRedFlags | None:
    """The check for this catalogue from its anchors and their embeddings (None: no `[semantic]` table)."""
    spec = catalog.safety.semantic
    if spec is None:
        return None
    red = [i for i, (_, kind) in enumerate(anchors) if kind != CALM]
    calm = [i for i, (_, kind) in enumerate(anchors) if kind == CALM]
    examples = [anchors[i] for i in red]
    return SemanticRedFlags(embed, reader.prepare, spec, catalog.frames.negation, examples, vectors[red], vectors[calm])
