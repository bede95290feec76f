"""Microphone input through sounddevice (PortAudio), as an async iterator of 16 kHz PCM chunks.

The PortAudio callback runs on its own thread; chunks cross to the event loop through
`call_soon_threadsafe` into a bounded queue. If the consumer falls behind, the oldest audio is
dropped (counted) rather than blocking the audio thread.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

from skill.audio.pcm import TARGET_RATE
from skill.errors import AudioError

log = logging.getLogger(__name__)


def load_sounddevice() -> ModuleType:
    try:
        return importlib.import_module("sounddevice")
    except OSError as exc:  # raised at import when libportaudio is missing
        raise AudioError(f"no microphone found: the PortAudio library is not installed ({exc})") from exc
    except ImportError as exc:
        raise AudioError("no microphone found: the 'sounddevice' package is not installed") from exc


def find_input_device(sd: ModuleType, device: int | str | None = None) -> int:
    """Return the index of a device with input channels, or raise AudioError."""
    try:
        devices: list[dict[str, Any]] = list(sd.query_devices())
    except Exception as exc:  # PortAudio errors carry no stable type across versions
        raise AudioError(f"no microphone found: cannot list sound devices ({exc})") from exc
    inputs = [i for i, d in enumerate(devices) if d.get("max_input_channels", 0) > 0]
    if not inputs:
        raise AudioError("no microphone found: no sound device with input channels")
    if device is None:
        return inputs[0]
    for i in inputs:
        if device == i or (isinstance(device, str) and device.lower() in devices[i]["name"].lower()):
            return i
    raise AudioError(f"no microphone found matching {device!r}")


async def microphone_chunks(
    device: int | str | None = None,
    chunk_ms: int = 30,
    sd: ModuleType | None = None,
    max_queued_chunks: int = 200,
) -> AsyncIterator[bytes]:
    """Yield 16 kHz mono int16 chunks from a microphone until the consumer stops iterating."""
    sd = sd or load_sounddevice()
    index = find_input_device(sd, device)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=max_queued_chunks)
    dropped = 0

    def put(chunk: bytes) -> None:
        nonlocal dropped
        if queue.full():
            queue.get_nowait()
            dropped += 1
        queue.put_nowait(chunk)

    def callback(indata: Any, frames: int, time: Any, status: Any) -> None:
        loop.call_soon_threadsafe(put, bytes(indata))

    stream = sd.RawInputStream(
        samplerate=TARGET_RATE,
        blocksize=TARGET_RATE * chunk_ms // 1000,
        device=index,
        channels=1,
        dtype="int16",
        callback=callback,
    )
    stream.start()
    try:
        while True:
            yield await queue.get()
    finally:
        stream.stop()
        stream.close()
        if dropped:
            log.warning("microphone: dropped %d chunks because the consumer was slow", dropped)
