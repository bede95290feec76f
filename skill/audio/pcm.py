"""Decode WAV files and raw PCM into the one format every engine takes: 16 kHz mono int16.

Resampling uses soxr (libsoxr, "HQ" quality): a band-limited polyphase resampler with an
anti-aliasing filter, so 44.1k/48k input does not fold energy above 8 kHz into the speech band.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Literal, cast

import numpy as np
import soxr
from pydantic import BaseModel, ConfigDict, Field

from skill.errors import AudioError

TARGET_RATE = 16000
MIN_RATE = 8000
MAX_RATE = 48000

_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_FLOAT = 0x0003
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


class PcmFormat(BaseModel):
    """An explicitly stated raw PCM layout (raw bytes carry no header to read it from)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sample_rate: int = Field(default=TARGET_RATE, ge=MIN_RATE, le=MAX_RATE)
    sample_width: Literal[1, 2, 3, 4] = 2  # bytes per sample
    channels: int = Field(default=1, ge=1, le=8)
    encoding: Literal["int", "float"] = "int"  # 8-bit int is unsigned, as in WAV

    @property
    def frame_bytes(self) -> int:
        return self.sample_width * self.channels


PCM16K_MONO = PcmFormat()


def decode_raw(data: bytes, fmt: PcmFormat, max_seconds: float | None = None) -> bytes:
    """Convert raw PCM in `fmt` to 16 kHz mono int16 bytes."""
    if fmt.encoding == "float" and fmt.sample_width != 4:
        raise AudioError(f"float PCM must be 32-bit, got {fmt.sample_width * 8}-bit")
    if len(data) % fmt.frame_bytes:
        raise AudioError(f"raw PCM length {len(data)} is not a multiple of the frame size {fmt.frame_bytes}")
    n_frames = len(data) // fmt.frame_bytes
    _check_duration(n_frames / fmt.sample_rate, max_seconds)
    if fmt == PCM16K_MONO:
        return bytes(data)
    samples = _to_float(data, fmt)  # shape (frames, channels), range [-1, 1)
    mono = samples.mean(axis=1) if fmt.channels > 1 else samples[:, 0]
    if fmt.sample_rate != TARGET_RATE:
        mono = soxr.resample(mono, fmt.sample_rate, TARGET_RATE, quality="HQ")
    return float_to_int16(mono)


def resample_int16(pcm: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """int16 mono samples at another rate (soxr HQ: anti-aliased, so 22050 -> 16000 adds no hiss)."""
    if src_rate == dst_rate or len(pcm) == 0:
        return pcm.astype(np.int16, copy=False)
    return cast(np.ndarray, soxr.resample(pcm.astype(np.int16, copy=False), src_rate, dst_rate, quality="HQ"))


def decode_wav(source: bytes | Path, max_seconds: float | None = None) -> bytes:
    """Read a WAV (bytes or a path) and return 16 kHz mono int16 PCM bytes."""
    data = source.read_bytes() if isinstance(source, Path) else source
    fmt, payload = parse_wav(data)
    return decode_raw(payload, fmt, max_seconds)


def parse_wav(data: bytes) -> tuple[PcmFormat, bytes]:
    """Parse the RIFF chunks by hand: the stdlib `wave` module rejects float and 24-bit
    extensible files and gives vague errors for truncation."""
    if not data:
        raise AudioError("audio is empty (0 bytes)")
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError("not a WAV file: missing RIFF/WAVE header")
    fmt: PcmFormat | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, pos)
        body = data[pos + 8 : pos + 8 + size]
        if chunk_id == b"fmt " and len(body) < size:
            raise AudioError(f"WAV is truncated inside its 'fmt ' chunk ({len(body)} of {size} bytes)")
        if chunk_id == b"fmt ":
            fmt = _parse_fmt(body)
        elif chunk_id == b"data":
            if fmt is None:
                raise AudioError("WAV 'data' chunk comes before its 'fmt ' chunk")
            if len(body) < size:
                raise AudioError(f"WAV is truncated: header says {size} bytes of audio, found {len(body)}")
            usable = len(body) - len(body) % fmt.frame_bytes
            return fmt, body[:usable]
        pos += 8 + size + (size & 1)  # chunks are word-aligned
    if fmt is None:
        raise AudioError("WAV is truncated: no 'fmt ' chunk found")
    raise AudioError("WAV is truncated: no 'data' chunk found")


def _parse_fmt(body: bytes) -> PcmFormat:
    if len(body) < 16:
        raise AudioError("WAV 'fmt ' chunk is too short")
    tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", body)
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
        tag = struct.unpack_from("<H", body, 24)[0]  # first two bytes of the sub-format GUID
    if tag not in (_WAVE_FORMAT_PCM, _WAVE_FORMAT_FLOAT):
        raise AudioError(f"unsupported WAV encoding (format tag {tag:#06x}); use PCM or float")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"unsupported sample rate {rate} Hz (supported: {MIN_RATE}-{MAX_RATE})")
    if bits not in (8, 16, 24, 32) or (tag == _WAVE_FORMAT_FLOAT and bits != 32):
        raise AudioError(f"unsupported sample width {bits} bits")
    if not 1 <= channels <= 8:
        raise AudioError(f"unsupported channel count {channels}")
    encoding: Literal["int", "float"] = "float" if tag == _WAVE_FORMAT_FLOAT else "int"
    width = cast(Literal[1, 2, 3, 4], bits // 8)  # validated just above
    return PcmFormat(sample_rate=rate, sample_width=width, channels=channels, encoding=encoding)


def _to_float(data: bytes, fmt: PcmFormat) -> np.ndarray:
    raw = np.frombuffer(data, dtype=np.uint8)
    if fmt.encoding == "float":
        x = np.frombuffer(data, dtype="<f4").astype(np.float64)
        x = np.nan_to_num(np.clip(x, -1.0, 1.0))
    elif fmt.sample_width == 1:
        x = (raw.astype(np.float64) - 128.0) / 128.0
    elif fmt.sample_width == 2:
        x = np.frombuffer(data, dtype="<i2") / 32768.0
    elif fmt.sample_width == 3:
        b = raw.reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)
    else:
        x = np.frombuffer(data, dtype="<i4") / float(1 << 31)
    return np.asarray(x, dtype=np.float64).reshape(-1, fmt.channels)


def float_to_int16(x: np.ndarray) -> bytes:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype("<i2").tobytes()


def _check_duration(seconds: float, max_seconds: float | None) -> None:
    if max_seconds is not None and seconds > max_seconds:
        raise AudioError(f"audio is too long: {seconds:.1f} s (limit {max_seconds:g} s)")


def pcm_seconds(pcm16k: bytes) -> float:
    return len(pcm16k) / (2 * TARGET_RATE)
