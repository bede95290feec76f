"""The plainest matcher there is: nearest expanded phrasing by rapidfuzz string similarity.

Every template of intents/en-us/knowledge.toml and conversation.toml is expanded; a `{slot}` is
filled with one word per slot value (rotating through that value's words, so the list stays
small), and the phrasing remembers its intent and slot values. A question is answered by
`process.extractOne` over all phrasings with `scorer` and `score_cutoff`; below the cutoff it is
not recognized (a refusal). The only help from the skill's data: the B12 spellings of
lexicon.toml are written "b12" before matching, as the hassil baseline gets them as a rule.
No safety rules, no synonyms. Scorer and cutoff were chosen once on tests/dev (never on the
held-out set): token_set_ratio at 80 was the best of WRatio/token_set_ratio x 70..90 there.
"""

from __future__ import annotations

from rapidfuzz import fuzz, process, utils

from intents import Catalog
from intents.normalize import PhraseMap, clean
from intents.templates import expand

SCORER = fuzz.token_set_ratio
CUTOFF = 80.0


class RapidfuzzBaseline:
    name = "rapidfuzz nearest phrase"

    def __init__(self, catalog: Catalog, scorer=SCORER, cutoff: float = CUTOFF) -> None:  # type: ignore[no-untyped-def]
        self.scorer, self.cutoff = scorer, cutoff
        self._b12 = PhraseMap({form: "b12" for form in catalog.lexicon.canonical.get("b12", ())})
        phrases: dict[str, tuple[str, dict[str, str]]] = {}
        for intent in catalog.intents:
            for group in intent.groups():
                for template in group.phrases:
                    for n, sentence in enumerate(expand(template)):
                        for filled, slots in self._fill(catalog, sentence, intent.slots, n):
                            phrases.setdefault(utils.default_process(filled), (intent.name, {**slots, **group.set}))
        self.choices = list(phrases)
        self.labels = [phrases[c] for c in self.choices]

    @staticmethod
    def _fill(catalog: Catalog, sentence: str, slot_names: tuple[str, ...], n: int) -> list[tuple[str, dict[str, str]]]:
        out = [(sentence, {})]
        for slot in slot_names:
            marker = "{" + slot + "}"
            if marker not in sentence:
                continue
            out = [
                (s.replace(marker, words[n % len(words)]), {**filled, slot: value})
                for s, filled in out
                for value, words in catalog.slots[slot].items()
            ]
        return out

    def classify(self, text: str) -> tuple[str | None, dict[str, str]]:
        query = utils.default_process(" ".join(self._b12.apply(clean(text).split())))
        found = process.extractOne(query, self.choices, scorer=self.scorer, score_cutoff=self.cutoff, processor=None)
        if found is None:
            return None, {}
        return self.labels[found[2]]
