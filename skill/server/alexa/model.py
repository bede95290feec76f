"""The Alexa interaction model (intents, sample utterances, slot types) generated from the intent data.

`interaction_model(catalog)` returns the JSON document; `main()` is the CLI entry the lead wires
as `b12-skill alexa-model [--out FILE] [--locale en-us] [--invocation NAME]`.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from intents import Catalog, load_catalog
from intents.templates import expand

from .names import alexa_intent_name, alexa_type_name, clean_sample, spell_digits

# Our conversation intents that Alexa requires as its own built-ins.
BUILTIN_FOR: dict[str, str] = {
    "help": "AMAZON.HelpIntent",
    "stop": "AMAZON.StopIntent",
    "cancel": "AMAZON.CancelIntent",
    "repeat": "AMAZON.RepeatIntent",
}
REQUIRED_BUILTINS = ("AMAZON.FallbackIntent", "AMAZON.NavigateHomeIntent")
QUERY_INTENT = "QueryIntent"  # carries the raw utterance in the slot "query"
QUERY_SAMPLES = ("ask {query}", "question {query}", "i have a question {query}", "tell me {query}")
DEFAULT_INVOCATION = "b twelve helper"


def intent_names(catalog: Catalog) -> dict[str, str]:
    """Alexa intent name -> our intent name, for every intent the model declares."""
    names = {alexa_intent_name(i.name): i.name for i in catalog.intents if i.name not in BUILTIN_FOR}
    names.update({builtin: ours for ours, builtin in BUILTIN_FOR.items()})
    return names


def samples_for(catalog: Catalog, intent_name: str, limit: int) -> list[str]:
    spec = next(i for i in catalog.intents if i.name == intent_name)
    out: dict[str, None] = {}
    for group in spec.groups():
        for template in group.phrases:
            expanded = expand(template)
            step = max(1, len(expanded) // 8)  # an even spread over each template's expansions
            for sentence in expanded[::step]:
                sample = clean_sample(sentence)
                if sample:
                    out[sample] = None
    return list(out)[:limit]


def interaction_model(catalog: Catalog, invocation: str = DEFAULT_INVOCATION, max_samples: int = 60) -> dict[str, Any]:
    seen: set[str] = set()  # Alexa rejects a sample utterance used by two intents
    intents: list[dict[str, Any]] = []
    for spec in catalog.intents:
        if spec.name in BUILTIN_FOR:
            continue
        samples = [s for s in samples_for(catalog, spec.name, max_samples) if s not in seen]
        seen.update(samples)
        intents.append(
            {
                "name": alexa_intent_name(spec.name),
                "slots": [{"name": slot, "type": alexa_type_name(slot)} for slot in spec.slots],
                "samples": samples,
            }
        )
    intents.append(
        {
            "name": QUERY_INTENT,
            "slots": [{"name": "query", "type": "AMAZON.SearchQuery"}],
            "samples": list(QUERY_SAMPLES),
        }
    )
    intents += [{"name": name, "samples": []} for name in (*BUILTIN_FOR.values(), *REQUIRED_BUILTINS)]
    types = [
        {
            "name": alexa_type_name(slot),
            "values": [
                {
                    "id": value,
                    "name": {"value": spell_digits(words[0]), "synonyms": [spell_digits(w) for w in words[1:]]},
                }
                for value, words in values.items()
            ],
        }
        for slot, values in catalog.slots.items()
    ]
    return {"interactionModel": {"languageModel": {"invocationName": invocation, "intents": intents, "types": types}}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="b12-skill alexa-model", description=__doc__.splitlines()[0])
    parser.add_argument("--locale", default="en-us")
    parser.add_argument("--invocation", default=DEFAULT_INVOCATION)
    parser.add_argument("--out", help="write to this file instead of stdout")
    args = parser.parse_args(argv)
    text = json.dumps(interaction_model(load_catalog(args.locale), args.invocation), indent=2) + "\n"
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
