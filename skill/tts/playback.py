"""Play Speech on the default sound device, stoppable at once (barge-in: `handle.stop()`).

Backends, first that works: sounddevice (PortAudio, in-process, abort() is immediate), then an
`aplay` subprocess (killed on stop). Without either, or without a sound card: OutputError.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from skill.errors import OutputError
from skill.tts.speech import Speech, read_wav

NO_DEVICE = "no sound output device"


class PlaybackHandle:
    """A playback in progress. stop() is synchronous and idempotent; wait() returns when done."""

    def __init__(self) -> None:
        self._done = asyncio.Event()
        self._stop_fn: Any = None
        self._task: asyncio.Task[None] | None = None  # keeps the feeding task alive

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def stop(self) -> None:
        if not self._done.is_set() and self._stop_fn is not None:
            self._stop_fn()

    async def wait(self) -> None:
        await self._done.wait()


def find_output() -> str | None:
    """Which backend would play: "sounddevice", "aplay", or None when there is no device."""
    try:
        import sounddevice as sd

        if sd.default.device[1] is not None and sd.default.device[1] >= 0:
            return "sounddevice"
        if any(d["max_output_channels"] > 0 for d in sd.query_devices()):
            return "sounddevice"
    except Exception:  # noqa: BLE001 - PortAudio missing (OSError) or broken: try aplay
        pass
    cards = Path("/proc/asound/cards")
    if shutil.which("aplay") and cards.exists() and "no soundcards" not in cards.read_text():
        return "aplay"
    return None


async def play(speech: Speech, *, command: Sequence[str] | None = None) -> PlaybackHandle:
    """Start playing and return at once. `command` (WAV on stdin) overrides device detection."""
    if command is not None:
        return await _play_command(speech, list(command))
    backend = find_output()
    if backend == "sounddevice":
        return _play_sounddevice(speech)
    if backend == "aplay":
        return await _play_command(speech, ["aplay", "-q", "-"])
    raise OutputError(NO_DEVICE)


async def _play_command(speech: Speech, cmd: list[str]) -> PlaybackHandle:
    handle = PlaybackHandle()
    try:
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        raise OutputError(f"{NO_DEVICE}: cannot run {cmd[0]}: {exc}") from exc

    def kill() -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()

    async def feed_and_wait() -> None:
        assert proc.stdin is not None  # noqa: S101
        with contextlib.suppress(ConnectionError):
            proc.stdin.write(speech.wav)
            await proc.stdin.drain()
            proc.stdin.close()
        await proc.wait()
        handle._done.set()

    handle._stop_fn = kill
    handle._task = asyncio.create_task(feed_and_wait())
    return handle


def _play_sounddevice(speech: Speech) -> PlaybackHandle:
    import sounddevice as sd

    loop = asyncio.get_running_loop()
    handle = PlaybackHandle()
    pcm, rate = read_wav(speech.wav)
    pos = 0

    def callback(out: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
        nonlocal pos
        part = pcm[pos : pos + frames]
        out[: len(part), 0] = part
        out[len(part) :, 0] = 0
        pos += len(part)
        if len(part) < frames:
            raise sd.CallbackStop

    def close() -> None:
        stream.close()
        handle._done.set()

    def finished() -> None:  # runs on PortAudio's thread: close on the loop
        loop.call_soon_threadsafe(close)

    try:
        stream = sd.OutputStream(
            samplerate=rate,
            channels=1,
            dtype="int16",
            callback=callback,
            finished_callback=finished,
        )
        stream.start()
    except sd.PortAudioError as exc:
        raise OutputError(f"{NO_DEVICE}: {exc}") from exc
    handle._stop_fn = stream.abort  # drops buffered audio at once, unlike stop()
    return handle
