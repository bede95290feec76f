"""Short generated tones: a rising chime when listening starts, a falling one when it ends."""

from __future__ import annotations

from typing import Literal

import numpy as np

from skill.tts.speech import Speech, speech_from_pcm

Earcon = Literal["listen", "done"]
_NOTES: dict[Earcon, tuple[float, float]] = {"listen": (660.0, 880.0), "done": (880.0, 587.0)}


def earcon(kind: Earcon, volume: float = 0.25, sample_rate: int = 22050, note_s: float = 0.08) -> Speech:
    """Two soft notes (raised-cosine edges, so no clicks), about 0.17 s in all."""
    t = np.arange(int(sample_rate * note_s)) / sample_rate
    edge = min(len(t) // 4, int(sample_rate * 0.01))
    env = np.ones_like(t)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, edge))
    env[:edge], env[-edge:] = ramp, ramp[::-1]
    notes = [np.sin(2 * np.pi * f * t) * env for f in _NOTES[kind]]
    gap = np.zeros(int(sample_rate * 0.01))
    signal = np.concatenate([notes[0], gap, notes[1]]) * volume
    return speech_from_pcm(np.round(signal * 32767).astype(np.int16), sample_rate)
