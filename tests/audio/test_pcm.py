"""WAV/raw decoding to 16 kHz mono int16, with real files converted by sox where possible."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from skill.audio.pcm import PcmFormat, decode_raw, decode_wav, parse_wav
from skill.errors import AudioError


def tone(freq: float, rate: int, seconds: float = 1.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return amp * np.sin(2 * np.pi * freq * t)


def wav16(x: np.ndarray, rate: int, channels: int = 1) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((x * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def dominant_hz(pcm: bytes) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(float)
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.argmax(spectrum) * 16000 / len(x))


def rms(pcm: bytes) -> float:
    return float(np.sqrt(np.mean(np.frombuffer(pcm, dtype="<i2").astype(float) ** 2)))


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 22050, 32000, 44100, 48000])
def test_rates_are_resampled_keeping_pitch_and_length(rate: int) -> None:
    pcm = decode_wav(wav16(tone(440, rate), rate))
    assert abs(len(pcm) // 2 - 16000) <= 2
    assert abs(dominant_hz(pcm) - 440) < 2


def test_resampler_removes_content_above_8khz_instead_of_aliasing() -> None:
    # 12 kHz cannot exist at 16 kHz; naive decimation would fold it to 4 kHz at full level.
    pcm = decode_wav(wav16(tone(12000, 48000), 48000))
    assert rms(pcm) < 0.01 * 0.5 * 32767


def test_stereo_is_mixed_to_mono() -> None:
    left, right = tone(440, 44100), np.zeros(44100)
    stereo = np.stack([left, right], axis=1).reshape(-1)
    pcm = decode_wav(wav16(stereo, 44100, channels=2))
    assert abs(len(pcm) // 2 - 16000) <= 2
    assert rms(pcm) == pytest.approx(0.25 * 32767 / np.sqrt(2), rel=0.05)


needs_sox = pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")


@needs_sox
@pytest.mark.parametrize(
    "args",
    [
        ["-b", "8"],
        ["-b", "24"],
        ["-b", "32"],
        ["-e", "floating-point", "-b", "32"],
        ["-c", "2", "-r", "44100"],
        ["-r", "8000"],
        ["-c", "6", "-r", "48000", "-b", "24"],
    ],
)
def test_sox_formats(tmp_path: Path, args: list[str]) -> None:
    src = tmp_path / "src.wav"
    src.write_bytes(wav16(tone(440, 22050), 22050))
    out = tmp_path / "out.wav"
    subprocess.run(["sox", str(src), *args, str(out)], check=True, timeout=30)
    pcm = decode_wav(out)
    assert abs(len(pcm) // 2 - 16000) <= 4
    assert abs(dominant_hz(pcm) - 440) < 2
    assert rms(pcm) == pytest.approx(0.5 * 32767 / np.sqrt(2), rel=0.1)


def test_raw_pcm_with_stated_format() -> None:
    x = (tone(440, 8000) * 32767).astype("<i2").tobytes()
    pcm = decode_raw(x, PcmFormat(sample_rate=8000))
    assert abs(len(pcm) // 2 - 16000) <= 2
    assert decode_raw(b"\x01\x02" * 10, PcmFormat()) == b"\x01\x02" * 10
    with pytest.raises(AudioError, match="not a multiple of the frame size 4"):
        decode_raw(b"\0" * 6, PcmFormat(channels=2))


def test_zero_bytes() -> None:
    with pytest.raises(AudioError, match=r"empty \(0 bytes\)"):
        decode_wav(b"")


def test_not_a_wav() -> None:
    with pytest.raises(AudioError, match="not a WAV file: missing RIFF/WAVE header"):
        decode_wav(b"ID3\x03\x00 this is an mp3, honest")


def test_truncated_wav_names_both_sizes() -> None:
    data = wav16(tone(440, 16000), 16000)
    with pytest.raises(AudioError, match="WAV is truncated: header says 32000 bytes of audio, found 1200"):
        decode_wav(data[: 44 + 1200])
    with pytest.raises(AudioError, match="truncated"):
        decode_wav(data[:30])


def test_unsupported_rate_and_encoding() -> None:
    with pytest.raises(AudioError, match="unsupported sample rate 96000"):
        decode_wav(wav16(tone(440, 96000, 0.1), 96000))
    data = bytearray(wav16(tone(440, 16000, 0.1), 16000))
    struct.pack_into("<H", data, 20, 7)  # mu-law
    with pytest.raises(AudioError, match="unsupported WAV encoding"):
        decode_wav(bytes(data))


def test_duration_limit() -> None:
    ten_minutes = bytes(2 * 16000 * 600)
    with pytest.raises(AudioError, match="too long: 600.0 s"):
        decode_raw(ten_minutes, PcmFormat(), max_seconds=60)


def test_odd_trailing_byte_is_dropped() -> None:
    fmt, payload = parse_wav(wav16(tone(440, 16000, 0.1), 16000))
    assert fmt == PcmFormat() and len(payload) == 3200
