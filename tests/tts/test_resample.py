"""The resampler (soxr, shared by every door) keeps the voice band and removes what would alias."""

from __future__ import annotations

import numpy as np
import pytest

from skill.audio.pcm import resample_int16 as resample


def tone(freq: float, rate: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (10000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def rms(x: np.ndarray) -> float:
    core = x[500:-500].astype(np.float64)
    return float(np.sqrt(np.mean(core**2)))


def peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("freq", [300.0, 1000.0, 3000.0, 6000.0])
def test_voice_band_passes_22050_to_16000(freq: float) -> None:
    out = resample(tone(freq, 22050), 22050, 16000)
    assert len(out) == 16000
    assert abs(peak_hz(out, 16000) - freq) < 2
    assert rms(out) == pytest.approx(10000 / np.sqrt(2), rel=0.02)


def test_above_new_nyquist_is_removed() -> None:
    out = resample(tone(9500.0, 22050), 22050, 16000)  # would alias to 6500 Hz
    assert rms(out) < 10  # below -57 dB


def test_upsampling_and_identity() -> None:
    x = tone(1000.0, 16000)
    up = resample(x, 16000, 22050)
    assert len(up) == 22050 and abs(peak_hz(up, 22050) - 1000) < 2
    assert resample(x, 16000, 16000) is x or np.array_equal(resample(x, 16000, 16000), x)
    assert len(resample(np.zeros(0, np.int16), 22050, 16000)) == 0
