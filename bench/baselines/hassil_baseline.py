"""Home Assistant's `hassil` given this skill's intents as hassil templates.

The templates in intents/en-us/knowledge.toml and conversation.toml already use hassil's syntax
(`(a|b)`, `[x]`, `{slot}`), so they are passed over unchanged, built into hassil's `Intents`
structure in memory (no YAML file):

- `{slot}` lists come from slots.toml as `in` -> `out` values (the word said -> the slot value);
- a `[[intent.group]]` with `set = {...}` becomes an intent data block with fixed `slots`;
- the word `b12` becomes the expansion rule `<b12>`, whose alternatives are the B12 spellings in
  lexicon.toml (what a person writing hassil templates would do), and the lexicon's fillers
  become hassil `skip_words`.

Nothing else of the skill is used: no synonym folding, no safety rules (hassil has none), no
mishearing correction. The installed hassil (3.x) has no fuzzy matching, so this is
`recognize_best`: a sentence either fits a template exactly (after skip words) or is not
recognized. Not recognized counts as a refusal.
"""

from __future__ import annotations

import re
from typing import Any

from hassil import Intents, recognize_best

from intents import Catalog

B12_RULE = "b12"
_B12_WORD = re.compile(r"(?<![\w<])b12(?![\w>])")


def to_hassil_dict(catalog: Catalog) -> dict[str, Any]:
    """The catalogue as the dict `hassil.Intents.from_dict` reads (the YAML layout, in memory)."""
    intents: dict[str, Any] = {}
    for intent in catalog.intents:
        data = []
        for group in intent.groups():
            sentences = [_B12_WORD.sub(f"<{B12_RULE}>", t) for t in group.phrases]
            block: dict[str, Any] = {"sentences": sentences}
            if group.set:
                block["slots"] = dict(group.set)
            data.append(block)
        intents[intent.name] = {"data": data}
    lists = {
        slot: {"values": [{"in": word, "out": value} for value, words in values.items() for word in words]}
        for slot, values in catalog.slots.items()
    }
    spellings = sorted(set(catalog.lexicon.canonical.get("b12", ())) | {"b12"}, key=len, reverse=True)
    return {
        "language": "en",
        "intents": intents,
        "lists": lists,
        "expansion_rules": {B12_RULE: "(" + "|".join(spellings) + ")"},
        "skip_words": list(catalog.lexicon.fillers),
    }


class HassilBaseline:
    name = "hassil (exact templates)"

    def __init__(self, catalog: Catalog) -> None:
        self.intents = Intents.from_dict(to_hassil_dict(catalog))

    def classify(self, text: str) -> tuple[str | None, dict[str, str]]:
        """(intent name or None when not recognized, slot values)."""
        result = recognize_best(text, self.intents)
        if result is None:
            return None, {}
        return result.intent.name, {k: str(e.value) for k, e in result.entities.items()}
