"""The sentences a speech recognizer's domain language model is built from.

Everything the skill can be asked (intent phrasings with slots filled, safety
examples) plus everything it says (fact texts), written as spoken words.
"""

from __future__ import annotations

import re

from handlers import KnowledgeBase
from intents import Catalog
from intents.catalog import DATA_DIR

_SPOKEN = {"num": "one thousand"}  # the matcher's number token, said as a number
_B12 = re.compile(r"\bb ?12\b")
_NOT_SPOKEN = re.compile(r"[^a-z' ]+")
_SENTENCE_END = re.compile(r"(?<=[.!?:;,])\s+")  # fact texts are split into short spoken phrases
# Red flags are rare in the corpus but must never be misheard: count them this many times.
# Spoken dev sets 2 and 3 (both voices, clean and 12 dB pink, 1,184 non-emergency and 200 emergency
# decodes): weight 10 missed 63 emergencies and raised 6 false ones; 30 missed 52 and raised 13.
# Right intents overall on dev-3 were no worse (espeak clean 62.0 -> 64.2%, the rest within 0.6).
SAFETY_WEIGHT = 30
# People start questions with "uh", "so", "well"... (the lexicon's fillers, which the matcher drops).
# Every FILLER_EVERY-th question phrasing is repeated with one in front, the fillers taken in turn,
# so the language model expects them at the start of a question instead of forcing a domain word.
FILLER_EVERY = 6


def spoken_sentences(catalog: Catalog, knowledge: KnowledgeBase) -> list[str]:
    questions = [s for s in dict.fromkeys(_as_spoken(t) for t in catalog.sentences()) if s]
    fillers = [f for f in (_as_spoken(f) for f in catalog.lexicon.fillers) if f]
    prefixed = [
        f"{fillers[(n // FILLER_EVERY) % len(fillers)]} {q}"
        for n, q in enumerate(questions)
        if fillers and n % FILLER_EVERY == 0
    ]
    said = [_as_spoken(part) for fact in knowledge.facts.values() for part in _SENTENCE_END.split(fact.spoken)]
    out = [s for s in dict.fromkeys(questions + prefixed + said) if s]  # questions are spoken form already
    for example in catalog.safety.spoken_examples:  # catalog.sentences() holds each once already
        out += [_as_spoken(example)] * (SAFETY_WEIGHT - 1)
    return out


def _as_spoken(text: str) -> str:
    # Apostrophes stay: the pronunciation dictionary spells "don't", not "dont".
    text = _B12.sub("b twelve", text.lower().replace("’", "'"))
    return " ".join(_SPOKEN.get(w, w) for w in _NOT_SPOKEN.sub(" ", text).split())


def pronunciations(locale: str) -> dict[str, str]:
    """Domain words the general pronunciation dictionary lacks (intents/<locale>/pronunciations.dict)."""
    path = DATA_DIR / locale / "pronunciations.dict"
    if not path.exists():
        return {}
    entries = (line.split(maxsplit=1) for line in path.read_text(encoding="utf-8").splitlines())
    return {parts[0]: parts[1].strip() for parts in entries if len(parts) == 2}
