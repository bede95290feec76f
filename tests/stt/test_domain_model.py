from __future__ import annotations

import time
from pathlib import Path

from skill.stt.domain_model import build_domain_model, normalize
from skill.stt.pocketsphinx_engine import PocketsphinxEngine

SENTENCES = ["can b twelve make me ache", "what are the symptoms of b twelve deficiency"]


def test_normalize_spells_b12_and_drops_punctuation() -> None:
    assert normalize("Can B12 make me ache?") == ["can", "b", "twelve", "make", "me", "ache"]


def test_cache_is_keyed_by_sentences(tmp_path: Path) -> None:
    first = build_domain_model(SENTENCES, tmp_path)
    mtime = first.lm_path.stat().st_mtime_ns
    again = build_domain_model(SENTENCES, tmp_path)
    assert again.lm_path == first.lm_path
    assert again.lm_path.stat().st_mtime_ns == mtime  # reused, not rebuilt
    changed = build_domain_model([*SENTENCES, "tell me more"], tmp_path)
    assert changed.lm_path.parent != first.lm_path.parent
    assert "more" in changed.words
    assert "\\data\\" in changed.lm_path.read_text()


def test_dictionary_is_cut_to_corpus_words(tmp_path: Path) -> None:
    model = build_domain_model(SENTENCES, tmp_path)
    heads = {line.split()[0].split("(")[0] for line in model.dict_path.read_text().splitlines()}
    assert heads == set(model.words)
    assert {"twelve", "deficiency", "ache"} <= heads


def test_missing_words_are_reported_not_fatal(tmp_path: Path) -> None:
    model = build_domain_model(["can b twelve zqxjvbrtt me", "take 500 of it"], tmp_path)
    assert model.missing_words == ("500", "zqxjvbrtt")
    assert "zqxjvbrtt" not in model.words
    assert "can b twelve me" in model.sentences


def test_decoder_loads_fast(tmp_path: Path) -> None:
    model = build_domain_model(SENTENCES, tmp_path)
    start = time.perf_counter()
    PocketsphinxEngine(model)
    assert time.perf_counter() - start < 0.5
