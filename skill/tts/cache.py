"""Cache of synthesized answers: an in-memory LRU in front of a size-bounded folder of WAV files.

Answers repeat a lot (the reminder, help, "I only know about B12"), and a cached answer starts in
well under a millisecond from memory or about one from disk, instead of a trip to the engine.
Disk entries are written atomically (temp file + rename) and the oldest-used go first when the
folder grows past its limit. Blocking file work is the caller's to move off the event loop.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path

from skill.tts.speech import atomic_write

CACHE_VERSION = 2  # bump when the engine, the text rules or the resampler change the audio


def cache_key(text: str, voice: str, rate_wpm: int, volume: float, sample_rate: int) -> str:
    raw = json.dumps([CACHE_VERSION, text, voice, rate_wpm, round(volume, 3), sample_rate])
    return hashlib.sha256(raw.encode()).hexdigest()


class SpeechCache:
    """Thread-safe: used from worker threads via asyncio.to_thread."""

    def __init__(self, directory: Path | None, max_disk_bytes: int, max_memory_bytes: int) -> None:
        self._dir = directory if directory is not None and max_disk_bytes > 0 else None
        self._max_disk = max_disk_bytes
        self._max_mem = max_memory_bytes
        self._mem: OrderedDict[str, bytes] = OrderedDict()
        self._mem_bytes = 0
        self._disk: dict[str, tuple[float, int]] = {}  # key -> (last use, size)
        self._disk_bytes = 0
        self._lock = threading.Lock()

    def load_index(self) -> None:
        """Scan the folder once at start-up (blocking)."""
        if self._dir is None:
            return
        self._dir.mkdir(parents=True, exist_ok=True)
        for path in self._dir.glob("*.wav"):
            st = path.stat()
            self._disk[path.stem] = (st.st_mtime, st.st_size)
        self._disk_bytes = sum(size for _, size in self._disk.values())
        self._evict_disk()

    def get_memory(self, key: str) -> bytes | None:
        """Memory only: cheap enough to call on the event loop."""
        with self._lock:
            data = self._mem.get(key)
            if data is not None:
                self._mem.move_to_end(key)
            return data

    def get(self, key: str) -> bytes | None:
        """Memory, then disk (blocking)."""
        data = self.get_memory(key)
        if data is not None or self._dir is None or key not in self._disk:
            return data
        path = self._dir / f"{key}.wav"
        try:
            data = path.read_bytes()
            os.utime(path)  # last use, for eviction order
        except OSError:
            with self._lock:
                self._forget_disk(key)
            return None
        with self._lock:
            self._disk[key] = (time.time(), len(data))
            self._put_memory(key, data)
        return data

    def put(self, key: str, wav: bytes) -> None:
        """Store in memory and on disk (blocking). Disk errors only cost the disk copy."""
        with self._lock:
            self._put_memory(key, wav)
        if self._dir is None or len(wav) > self._max_disk:
            return
        try:
            atomic_write(self._dir / f"{key}.wav", wav)
        except OSError:
            return  # a full or read-only cache folder must not fail the answer
        with self._lock:
            self._forget_disk(key)
            self._disk[key] = (time.time(), len(wav))
            self._disk_bytes += len(wav)
            self._evict_disk()

    def _put_memory(self, key: str, data: bytes) -> None:
        if len(data) > self._max_mem:
            return
        old = self._mem.pop(key, None)
        self._mem_bytes -= len(old) if old is not None else 0
        self._mem[key] = data
        self._mem_bytes += len(data)
        while self._mem_bytes > self._max_mem:
            _, dropped = self._mem.popitem(last=False)
            self._mem_bytes -= len(dropped)

    def _forget_disk(self, key: str) -> None:
        entry = self._disk.pop(key, None)
        if entry is not None:
            self._disk_bytes -= entry[1]

    def _evict_disk(self) -> None:
        if self._dir is None or self._disk_bytes <= self._max_disk:
            return
        for key, _ in sorted(self._disk.items(), key=lambda item: item[1][0]):
            if self._disk_bytes <= self._max_disk:
                break
            (self._dir / f"{key}.wav").unlink(missing_ok=True)
            self._forget_disk(key)

    @property
    def disk_bytes(self) -> int:
        return self._disk_bytes
