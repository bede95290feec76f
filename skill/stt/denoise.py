"""Spectral (Wiener-style) noise suppression for the final pass, only under steady background noise.

pocketsphinx's own `remove_noise` (on, from the model's feat.params) tracks noise in its 25 mel
bands; a finer STFT-domain suppression before it helps a lot more under steady noise (fans,
traffic, hiss). Under babble (other talkers) the same suppression removes speech-like sounds
and costs far more than it gains, so it runs only when the quietest frames of the utterance are
steady in level (std of their energy < STEADY_DB) and loud enough to matter (median > FLOOR_DB,
i.e. well above a quiet room or digital silence): clean speech and babble pass through untouched.

Right intent (`bench.speech_accuracy`), before -> after, espeak-ng then Piper:
tests/dev/questions-2 (chosen on): clean 65.9 -> 65.9, 85.0 -> 85.0; pink noise 12 dB 67.1 -> 75.4,
67.1 -> 74.3; babble 12 dB 56.9 -> 56.3, 37.1 -> 37.1. Spoken emergencies caught in pink noise
17 -> 20 and 15 -> 17 of 20. Suppression without the gate helped pink as much but cost babble
~25 points. tests/dev/questions-3 (confirmation): clean unchanged; pink 12 dB 67.6 -> 74.9,
62.6 -> 76.5; babble 38.5 -> 38.0, 41.9 -> 41.9. The steadiness limit was set between our two
synthetic noises (pink ~1.1 dB, babble ~2.5 dB): real noise (music, television) is untested.
Noises it was not chosen on (`python -m bench.noise_types`, 84 dev-2 questions at 12 dB, right
answers off -> on, espeak-ng / Piper): white 38 -> 51 / 31 -> 45, brown 63 -> 67 / 66 -> 69,
fan-like hum and hiss 55 -> 66 / 53 -> 69.
The gate is pure Python (~2 ms per audio second); numpy (~0.2 s to import) is loaded only the
first time a worker meets steady noise, so workers still start fast.
"""

from __future__ import annotations

import math
import statistics
from array import array

_N = 512  # 32 ms frames, 50% overlap, sqrt-Hann analysis and synthesis
_HOP = 256
QUIET_SHARE = 0.3  # the quietest 30% of frames stand for the background
STEADY_DB = 1.8  # std of their energy below this: steady noise (pink ~1.1, babble ~2.5 dB measured)
FLOOR_DB = 40.0  # their median energy (dB re 1 LSB^2, ~ -50 dBFS) above this: noise worth removing
NOISE_SHARE = 0.1  # the noise spectrum: mean power of the quietest 10% of frames
GAIN_FLOOR = 0.3  # never attenuate a bin by more than ~10 dB (limits musical noise)


def steady_noise(pcm: bytes) -> bool:
    """Whether `pcm` (16-bit mono) sits in steady background noise loud enough to suppress."""
    x = array("h", pcm[: len(pcm) // 2 * 2])
    blocks = [sum(v * v for v in x[i : i + _HOP]) for i in range(0, len(x) - _HOP + 1, _HOP)]
    if len(blocks) < 8:
        return False
    energies = sorted(10 * math.log10((a + b) / _N + 1e-3) for a, b in zip(blocks, blocks[1:], strict=False))
    quiet = energies[: max(2, int(QUIET_SHARE * len(energies)))]
    std = statistics.pstdev(quiet)
    median = statistics.median(quiet)
    return std < STEADY_DB and median > FLOOR_DB


def suppress_noise(pcm: bytes) -> bytes:
    """`pcm` with its stationary noise spectrum subtracted (power-domain Wiener gain, floored)."""
    import numpy as np  # only here: speech workers otherwise start without numpy

    x = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype=np.int16).astype(np.float32)
    n_in = len(x)
    tail = (-(n_in - _N) % _HOP) if n_in > _N else _N - n_in
    xp = np.concatenate([np.zeros(_N - _HOP, np.float32), x, np.zeros(tail + _N, np.float32)])
    window = np.sqrt(np.hanning(_N + 1)[:_N]).astype(np.float32)
    n_frames = (len(xp) - _N) // _HOP + 1
    idx = np.arange(_N)[None, :] + _HOP * np.arange(n_frames)[:, None]
    spec = np.fft.rfft(xp[idx] * window, axis=1)
    power = np.abs(spec) ** 2
    quietest = np.argsort(power.sum(1))[: max(1, int(NOISE_SHARE * n_frames))]
    noise = power[quietest].mean(0)
    gain = np.sqrt(np.maximum(1 - noise / np.maximum(power, 1e-9), GAIN_FLOOR**2))
    frames = np.fft.irfft(spec * gain, n=_N, axis=1) * window
    halves = np.zeros((n_frames + 1, _HOP), np.float32)
    halves[:n_frames] += frames[:, :_HOP]
    halves[1:] += frames[:, _HOP:]
    out = halves.reshape(-1)[_N - _HOP : _N - _HOP + n_in]
    return np.clip(np.rint(out), -32768, 32767).astype(np.int16).tobytes()


def denoise_if_steady(pcm: bytes) -> bytes:
    return suppress_noise(pcm) if steady_noise(pcm) else pcm
