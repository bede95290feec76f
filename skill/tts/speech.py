"""What the speaker produces: Speech (a WAV in memory), VoiceInfo, and WAV helpers."""

from __future__ import annotations

import io
import os
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skill.errors import OutputError, SynthesisError


@dataclass(frozen=True, slots=True)
class Speech:
    """Synthesized speech: a complete 16-bit mono WAV file in memory."""

    wav: bytes
    sample_rate: int
    duration: float  # seconds
    cached: bool = False

    @property
    def pcm(self) -> bytes:
        """The raw 16-bit little-endian samples (no header)."""
        return read_wav(self.wav)[0].tobytes()


@dataclass(frozen=True, slots=True)
class VoiceInfo:
    id: str  # what TtsSettings.voice and synthesize(voice=...) accept, e.g. "gmw/en-us"
    name: str
    languages: tuple[str, ...]
    gender: str | None = None


def make_wav(pcm: np.ndarray, sample_rate: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.astype("<i2", copy=False).tobytes())
    return buf.getvalue()


def read_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Decode a 16-bit mono WAV into (int16 samples, sample rate)."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            if w.getnchannels() != 1 or w.getsampwidth() != 2:
                raise SynthesisError("engine produced audio that is not 16-bit mono")
            rate, frames = w.getframerate(), w.readframes(w.getnframes())
    except (wave.Error, EOFError) as exc:
        raise SynthesisError(f"engine produced an unreadable WAV: {exc}") from exc
    return np.frombuffer(frames, dtype="<i2"), rate


def speech_from_pcm(pcm: np.ndarray, sample_rate: int, *, cached: bool = False) -> Speech:
    return Speech(make_wav(pcm, sample_rate), sample_rate, len(pcm) / sample_rate, cached)


def speech_from_wav(data: bytes, *, cached: bool = False) -> Speech:
    pcm, rate = read_wav(data)
    return Speech(data, rate, len(pcm) / rate, cached)


def atomic_write(path: Path, data: bytes) -> None:
    """Write via a temp file in the same folder and rename: readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_speech(speech: Speech, path: str | Path) -> Path:
    """Write speech to a WAV file (for `say -o` and `--speak-to`); OutputError if it cannot."""
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"cannot write speech to {target}: it is a directory")
    try:
        atomic_write(target, speech.wav)
    except OSError as exc:
        raise OutputError(f"cannot write speech to {target}: {exc.strerror or exc}") from exc
    return target
