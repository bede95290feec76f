"""The expanded phrasings are cached by content: the same index every start, and rebuilt when stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from intents import Matcher, load_catalog, phrasings
from intents.catalog import Catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def _tables(m: Matcher) -> dict[tuple[str, ...], list[tuple[str, tuple[tuple[str, str], ...]]]]:
    return {key: [(p.intent, p.fixed) for p in table.phrases] for key, table in m._index.items()}


def test_a_cached_start_builds_the_same_index(catalog: Catalog, tmp_path: Path) -> None:
    fresh = Matcher(catalog)
    first, second = Matcher(catalog, cache_dir=tmp_path), Matcher(catalog, cache_dir=tmp_path)
    assert len(list((tmp_path / "phrasings").glob("*.json"))) == 1
    for m in (first, second):
        assert _tables(m) == _tables(fresh)
        assert m._surface_vocab == fresh._surface_vocab and m._idf == fresh._idf
    for text in ("can b12 make me ache", "what about the tablets", "stop", "do b twelve jabs hurt"):
        assert second.understand(text) == fresh.understand(text)


def test_the_second_start_does_not_expand_the_templates(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Matcher(catalog, cache_dir=tmp_path)

    def refuse(*_: object) -> None:
        raise AssertionError("expanded again")

    monkeypatch.setattr(phrasings, "expand_all", refuse)
    assert Matcher(catalog, cache_dir=tmp_path).understand("can b12 make me ache").intent  # type: ignore[union-attr]


def test_a_corrupt_cache_file_is_rebuilt(catalog: Catalog, tmp_path: Path) -> None:
    Matcher(catalog, cache_dir=tmp_path)
    (path,) = (tmp_path / "phrasings").glob("*.json")
    path.write_text('{"recipe": 1, "tables": [{"key": ', encoding="utf-8")
    assert _tables(Matcher(catalog, cache_dir=tmp_path)) == _tables(Matcher(catalog))
    assert path.read_text(encoding="utf-8").endswith("}")  # rewritten whole


def test_other_data_gets_its_own_file(catalog: Catalog, tmp_path: Path) -> None:
    fewer = catalog.model_copy(update={"intents": catalog.intents[:-1]})
    assert phrasings.digest(fewer) != phrasings.digest(catalog)
    Matcher(catalog, cache_dir=tmp_path)
    Matcher(fewer, cache_dir=tmp_path)
    assert len(list((tmp_path / "phrasings").glob("*.json"))) == 2


def test_an_unwritable_cache_only_costs_time(
    catalog: Catalog, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    m = Matcher(catalog, cache_dir=blocked)
    assert _tables(m) == _tables(Matcher(catalog))
    assert "could not cache the expanded phrasings" in caplog.text
