"""Every phrasing of the catalogue, expanded and normalized: what the matcher indexes, cached by content.

Expanding the templates takes about half a second of every start. The result depends only on the
intents, the slot words and the lexicon, so it is kept as JSON in the cache directory under a digest
of those; a start with the same data reads it back instead (an unreadable or stale file is rebuilt).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .catalog import Catalog
from .normalize import SLOT_PREFIX, Normalizer
from .templates import expand

log = logging.getLogger(__name__)

RECIPE = 1  # bump when expand_all changes what it returns for the same data
SlotKey = tuple[str, ...]
Entry = tuple[str, tuple[tuple[str, str], ...], frozenset[str]]  # intent, fixed slots, canonical tokens
Spot = Callable[[SlotKey, list[str]], list[str]]  # surface words -> the same with slot placeholders


_CODE = ("templates.py", "normalize.py", "phrasings.py")  # what turns the data into phrasings


def digest(catalog: Catalog) -> str:
    h = hashlib.sha256(f"recipe {RECIPE}\n".encode())
    for name in _CODE:  # a code change cannot leave a stale index behind
        h.update((Path(__file__).parent / name).read_bytes())
    for intent in catalog.intents:
        h.update(intent.model_dump_json().encode())
    h.update(json.dumps(catalog.slots, sort_keys=True).encode())
    h.update(catalog.lexicon.model_dump_json().encode())
    return h.hexdigest()[:24]


def expand_all(catalog: Catalog, norm: Normalizer, spot: Spot) -> tuple[dict[SlotKey, list[Entry]], set[str]]:
    """Per combination of slot types, each distinct phrasing's tokens; and every word the phrasings use."""
    raw: dict[SlotKey, list[Entry]] = defaultdict(list)
    vocab: set[str] = set()
    for intent in catalog.intents:
        key = tuple(sorted(intent.slots))
        for group in intent.groups():
            fixed = tuple(sorted(group.set.items()))
            seen: set[frozenset[str]] = set()
            for template in group.phrases:
                for sentence in expand(template):
                    sentence = sentence.replace("{", f" {SLOT_PREFIX}").replace("}", " ")
                    surface = norm.surface(sentence)
                    vocab.update(t for t in surface if not t.startswith(SLOT_PREFIX))
                    tokens = frozenset(norm.canonical(spot(key, surface)))
                    if tokens and tokens not in seen:
                        seen.add(tokens)
                        raw[key].append((intent.name, fixed, tokens))
    return dict(raw), vocab


def cached(
    catalog: Catalog, norm: Normalizer, spot: Spot, cache_dir: Path | None
) -> tuple[dict[SlotKey, list[Entry]], set[str]]:
    if cache_dir is None:
        return expand_all(catalog, norm, spot)
    path = cache_dir / "phrasings" / f"{digest(catalog)}.json"
    try:
        return _decode(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    raw, vocab = expand_all(catalog, norm, spot)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(_encode(raw, vocab)), encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:  # an unwritable cache only costs the time again next start
        log.warning("could not cache the expanded phrasings in %s: %s", path.parent, exc)
    return raw, vocab


def _encode(raw: dict[SlotKey, list[Entry]], vocab: set[str]) -> dict[str, Any]:
    tables = [
        {
            "key": list(key),
            "entries": [[name, [list(f) for f in fixed], sorted(tokens)] for name, fixed, tokens in rows],
        }
        for key, rows in raw.items()
    ]
    return {"recipe": RECIPE, "tables": tables, "vocab": sorted(vocab)}


def _decode(data: dict[str, Any]) -> tuple[dict[SlotKey, list[Entry]], set[str]]:
    if data["recipe"] != RECIPE:
        raise ValueError("made by another recipe")
    raw: dict[SlotKey, list[Entry]] = {}
    for table in data["tables"]:
        raw[tuple(table["key"])] = [
            (str(name), tuple((str(k), str(v)) for k, v in fixed), frozenset(map(str, tokens)))
            for name, fixed, tokens in table["entries"]
        ]
    return raw, set(map(str, data["vocab"]))
