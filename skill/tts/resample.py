"""Polyphase windowed-sinc resampler for 16-bit mono PCM, numpy only (no scipy needed).

The engine speaks at 22050 Hz; smart speakers want 16 kHz. Going 22050 -> 16000 needs a low-pass
below 8 kHz or the 8-11 kHz part of the voice folds back as hiss, so this is a real anti-aliasing
filter, not linear interpolation.
"""

from __future__ import annotations

from functools import lru_cache
from math import gcd

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ZERO_CROSSINGS = 16  # filter half-length, in zero crossings of the sinc: ~-80 dB with the window
ROLLOFF = 0.94  # cut-off as a fraction of the lower Nyquist frequency
KAISER_BETA = 8.0


@lru_cache(maxsize=16)
def _filter_bank(up: int, down: int) -> tuple[np.ndarray, int]:
    """Taps for each of the `up` phases: bank[p, k] weights input sample (base - half + 1 + k)."""
    scale = min(1.0, up / down) * ROLLOFF  # cut-off relative to the input Nyquist
    half = int(np.ceil(ZERO_CROSSINGS / scale))  # half-length in input samples
    k = np.arange(-half + 1, half + 1)  # input offsets relative to floor(position)
    frac = np.arange(up) / up  # fractional position of each phase
    d = frac[:, None] - k[None, :]  # distance from output position to each input sample
    window = np.kaiser(2 * half + 1, KAISER_BETA)
    # Evaluate the (continuous) Kaiser window at d by interpolating its samples.
    w = np.interp(d, np.arange(-half, half + 1), window, left=0.0, right=0.0)
    bank = scale * np.sinc(scale * d) * w
    return bank.astype(np.float32), half


def resample(pcm: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample int16 mono samples from src_rate to dst_rate; returns int16."""
    if src_rate == dst_rate or len(pcm) == 0:
        return pcm.astype(np.int16, copy=False)
    g = gcd(src_rate, dst_rate)
    up, down = dst_rate // g, src_rate // g
    bank, half = _filter_bank(up, down)
    n_out = (len(pcm) * up) // down
    x = np.concatenate([np.zeros(half, np.float32), pcm.astype(np.float32), np.zeros(half + 1, np.float32)])
    windows = sliding_window_view(x, bank.shape[1])  # windows[i] = x[i : i + taps], no copy
    out = np.empty(n_out, np.float32)
    # Output n sits at input position n * down / up. Outputs n, n + up, n + 2 * up ... share a
    # phase (one row of the bank) and step `down` inputs apart: one strided mat-vec per phase.
    for r in range(min(up, n_out)):
        base, phase = divmod(r * down, up)
        count = len(range(r, n_out, up))
        # input index base - half + 1 + k, shifted by the `half` zeros of padding
        rows = windows[base + 1 : base + 1 + down * (count - 1) + 1 : down]
        out[r::up] = rows @ bank[phase]
    return np.clip(np.rint(out), -32768, 32767).astype(np.int16)
