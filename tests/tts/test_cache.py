"""The answer cache: memory LRU, bounded disk folder, atomic files."""

from __future__ import annotations

from pathlib import Path

from skill.tts.cache import SpeechCache, cache_key


def test_key_covers_every_setting() -> None:
    base = cache_key("Hi.", "gmw/en-us", 170, 1.0, 16000)
    assert base == cache_key("Hi.", "gmw/en-us", 170, 1.0, 16000)
    others = [
        cache_key("Hi!", "gmw/en-us", 170, 1.0, 16000),
        cache_key("Hi.", "gmw/en", 170, 1.0, 16000),
        cache_key("Hi.", "gmw/en-us", 171, 1.0, 16000),
        cache_key("Hi.", "gmw/en-us", 170, 0.5, 16000),
        cache_key("Hi.", "gmw/en-us", 170, 1.0, 22050),
    ]
    assert base not in others and len(set(others)) == len(others)


def test_memory_lru_is_bounded(tmp_path: Path) -> None:
    cache = SpeechCache(None, 0, max_memory_bytes=250)
    for name in "abc":
        cache.put(name, name.encode() * 100)
    assert cache.get("a") is None  # oldest went first
    assert cache.get("c") == b"c" * 100


def test_disk_is_bounded_oldest_first_and_survives_restart(tmp_path: Path) -> None:
    cache = SpeechCache(tmp_path, max_disk_bytes=2500, max_memory_bytes=0)
    cache.load_index()
    for i in range(5):
        cache.put(f"k{i}", bytes([i]) * 1000)
    assert cache.disk_bytes <= 2500
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k3.wav", "k4.wav"]  # no temp files left
    again = SpeechCache(tmp_path, max_disk_bytes=2500, max_memory_bytes=0)
    again.load_index()
    assert again.get("k4") == bytes([4]) * 1000
    assert again.get("k0") is None


def test_unwritable_folder_only_costs_the_disk_copy(tmp_path: Path) -> None:
    cache = SpeechCache(tmp_path / "missing", max_disk_bytes=10_000, max_memory_bytes=10_000)
    cache.put("k", b"x" * 10)  # folder never created: no exception
    assert cache.get("k") == b"x" * 10
