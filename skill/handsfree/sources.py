"""Audio sources other than the microphone: WAV files as a virtual microphone (tests, bench, demos).

`VirtualMic` plays a script: speech segments go out as fast as the consumer takes them (the loop
counts time in samples, so this is exact and quick), and `wait_for` steps send silence at real-time
pace until a condition holds - the way a person waits for the answer before asking again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from skill.audio.pcm import TARGET_RATE, decode_wav

CHUNK_BYTES = 960  # 30 ms, what the microphone delivers


@dataclass(frozen=True)
class Say:
    pcm: bytes  # 16 kHz mono int16

    @classmethod
    def wav(cls, path: Path) -> Say:
        return cls(decode_wav(path))


@dataclass(frozen=True)
class Silence:
    seconds: float


@dataclass(frozen=True)
class WaitFor:
    condition: Callable[[], bool]
    timeout_s: float = 15.0
    label: str = ""


Step = Say | Silence | WaitFor


class VirtualMic:
    def __init__(self, steps: list[Step], realtime: bool = False) -> None:
        self.steps = steps
        self.realtime = realtime  # pace every chunk (benchmarks measuring latency), not just waits
        self.last_speech_at: float | None = None  # monotonic time the last Say chunk was handed over

    async def chunks(self) -> AsyncIterator[bytes]:
        for step in self.steps:
            if isinstance(step, Say):
                async for c in self._send(step.pcm):
                    yield c
                self.last_speech_at = time.monotonic()
            elif isinstance(step, Silence):
                async for c in self._send(bytes(2 * int(step.seconds * TARGET_RATE))):
                    yield c
            else:
                deadline = time.monotonic() + step.timeout_s
                while not step.condition():
                    if time.monotonic() > deadline:
                        what = step.label or "a condition"
                        raise TimeoutError(f"virtual mic: waited {step.timeout_s:g} s for {what}")
                    yield bytes(CHUNK_BYTES)
                    await asyncio.sleep(CHUNK_BYTES / 2 / TARGET_RATE)

    async def _send(self, pcm: bytes) -> AsyncIterator[bytes]:
        for i in range(0, len(pcm), CHUNK_BYTES):
            yield pcm[i : i + CHUNK_BYTES]
            if self.realtime:
                await asyncio.sleep(CHUNK_BYTES / 2 / TARGET_RATE)
            else:
                await asyncio.sleep(0)  # let the answer task run between chunks
