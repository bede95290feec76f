"""vosk (Kaldi) adapter: the primary engine for people who have a vosk model.

Model lookup never touches the network: an explicit path, then VOSK_MODEL_PATH (a model
directory, or a directory of models as vosk itself reads it), then vosk's own model dirs.
`_vosk().Model(lang=...)` would try to download and, offline, fail with a raw connection error;
`download_model` is the explicit, separate step for connected machines.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import os
import re
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from skill.errors import ModelError, RecognitionError
from skill.stt.base import SAMPLE_RATE, FinalResult, PartialResult, Word

if TYPE_CHECKING:
    from types import ModuleType

    import vosk

log = logging.getLogger(__name__)


def _vosk() -> ModuleType:
    # Imported on first use: a typed question never pays the ~70 ms vosk (and requests) take to import.
    return importlib.import_module("vosk")


UNK = "[unk]"
ProgressCallback = Callable[[int, int | None], None]  # (bytes done, total bytes or None)

_HOW_TO_GET_ONE = (
    "set stt.vosk_model_path in config.toml or the VOSK_MODEL_PATH environment variable to an "
    "unpacked vosk model directory, or run `b12-skill models download` on a connected machine"
)


def is_model_dir(path: Path) -> bool:
    return (path / "am" / "final.mdl").is_file() or (path / "final.mdl").is_file()


def search_dirs() -> list[Path]:
    """VOSK_MODEL_PATH (read now, not at import like _vosk().MODEL_DIRS), then vosk's own dirs."""
    dirs = [Path(p) for p in [os.environ.get("VOSK_MODEL_PATH")] if p]
    dirs += [Path(d) for d in _vosk().MODEL_DIRS[1:] if d is not None]
    return dirs


def find_model(lang: str, explicit: Path | None = None) -> Path:
    """Return a vosk model directory for `lang`, or raise ModelError saying how to get one."""
    if explicit is not None:
        if not is_model_dir(explicit):
            raise ModelError(f"vosk model not found at {explicit} (no am/final.mdl there); " + _HOW_TO_GET_ONE)
        return explicit
    pattern = re.compile(rf"vosk-model(-small)?-{re.escape(lang)}")  # vosk's own naming rule
    for d in search_dirs():
        if is_model_dir(d):
            return d  # VOSK_MODEL_PATH pointing straight at a model
        if d.is_dir():
            for child in sorted(d.iterdir()):
                if pattern.match(child.name) and is_model_dir(child):
                    return child
    raise ModelError(f"no vosk model for '{lang}' found offline; " + _HOW_TO_GET_ONE)


def download_model(lang: str, dest: Path, progress: ProgressCallback | None = None, timeout_s: float = 10.0) -> Path:
    """Fetch vosk's small model for `lang` from vosk's own model list into `dest`.

    Uses the list and base address that the vosk package itself ships with.
    """
    try:
        with urllib.request.urlopen(_vosk().MODEL_LIST_URL, timeout=timeout_s) as resp:
            models: list[dict[str, Any]] = json.load(resp)
    except OSError as exc:  # URLError, timeouts and name-resolution failures are all OSErrors
        raise ModelError(
            f"cannot download the vosk model for '{lang}': the model list is unreachable "
            f"({exc}); on an offline machine, copy an unpacked model and " + _HOW_TO_GET_ONE
        ) from exc
    names = [
        m["name"] for m in models if m.get("lang") == lang and m.get("type") == "small" and m.get("obsolete") == "false"
    ]
    if not names:
        raise ModelError(f"vosk has no small model for language '{lang}'")
    name = names[0]
    dest.mkdir(parents=True, exist_ok=True)

    def hook(blocks: int, block_size: int, total: int) -> None:
        if progress is not None:
            progress(blocks * block_size, total if total > 0 else None)

    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        archive = Path(tmp) / f"{name}.zip"
        try:
            urllib.request.urlretrieve(_vosk().MODEL_PRE_URL + name + ".zip", archive, hook)
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp)
        except (OSError, zipfile.BadZipFile) as exc:
            raise ModelError(f"downloading vosk model {name} failed: {exc}") from exc
        target = dest / name
        if target.exists():
            shutil.rmtree(target)
        shutil.move(str(Path(tmp) / name), target)
    return Path(target)


@dataclass(frozen=True)
class VoskSpec:
    model_path: Path
    sentences: tuple[str, ...]
    min_confidence: float
    max_alternatives: int

    name: ClassVar[str] = "vosk"

    def build(self) -> VoskEngine:
        return VoskEngine(self.model_path, self.sentences, self.min_confidence, self.max_alternatives)

    def spec(self) -> VoskSpec:
        return self


class VoskEngine:
    name = "vosk"

    def __init__(
        self,
        model_path: Path,
        sentences: Sequence[str] = (),
        min_confidence: float = 0.5,
        max_alternatives: int = 0,
    ) -> None:
        if not is_model_dir(model_path):
            raise ModelError(f"not a vosk model directory: {model_path} (no am/final.mdl); " + _HOW_TO_GET_ONE)
        _vosk().SetLogLevel(-1)
        try:
            self.model = _vosk().Model(str(model_path))
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
            raise ModelError(f"vosk model at {model_path} is corrupt or incomplete: {exc}") from exc
        self.model_path = model_path
        self.sentences = tuple(sentences)
        self.min_confidence = min_confidence
        self.max_alternatives = max_alternatives
        # Only case and spacing are normalized: the model may be any language (tests use Korean).
        phrases = sorted({" ".join(s.lower().split()) for s in sentences} - {""})
        # Grammar mode: only domain phrases can come out; "[unk]" is the exit for anything else.
        self.grammar: str | None = json.dumps([*phrases, UNK], ensure_ascii=False) if phrases else None

    def spec(self) -> VoskSpec:
        return VoskSpec(self.model_path, self.sentences, self.min_confidence, self.max_alternatives)

    def transcribe(self, pcm: bytes) -> FinalResult:
        rec = self.new_recognizer()
        rec.accept(pcm)
        return rec.finish()

    def new_recognizer(self) -> VoskRecognizer:
        if self.grammar is None:
            rec = _vosk().KaldiRecognizer(self.model, SAMPLE_RATE)
        else:
            rec = _vosk().KaldiRecognizer(self.model, SAMPLE_RATE, self.grammar)
        rec.SetWords(True)
        rec.SetPartialWords(True)
        rec.SetMaxAlternatives(self.max_alternatives)
        return VoskRecognizer(self, rec)


class VoskRecognizer:
    def __init__(self, engine: VoskEngine, rec: vosk.KaldiRecognizer) -> None:
        self._engine = engine
        self._rec = rec
        self._segments: list[dict[str, Any]] = []  # results of utterances vosk closed itself
        self._last_partial = ""
        self._audio_bytes = 0
        self._finished = False

    def accept(self, pcm: bytes) -> PartialResult | None:
        if self._finished:
            raise RecognitionError("recognizer already finished")
        self._audio_bytes += len(pcm)
        try:
            if self._rec.AcceptWaveform(pcm):
                # vosk found an internal endpoint: keep that segment, the utterance goes on.
                self._segments.append(json.loads(self._rec.Result()))
                text = self._joined_text()
            else:
                partial = json.loads(self._rec.PartialResult()).get("partial", "")
                text = " ".join(filter(None, [self._joined_text(), partial]))
        except Exception as exc:
            self._finished = True
            raise RecognitionError(f"vosk failed while decoding: {exc}") from exc
        if text != self._last_partial:
            self._last_partial = text
            return PartialResult(text=text)
        return None

    def finish(self) -> FinalResult:
        if self._finished:
            raise RecognitionError("recognizer already finished")
        self._finished = True
        try:
            self._segments.append(json.loads(self._rec.FinalResult()))
        except Exception as exc:
            raise RecognitionError(f"vosk failed while decoding: {exc}") from exc
        return self._result()

    def _joined_text(self) -> str:
        return " ".join(filter(None, (_best(s)[0] for s in self._segments)))

    def _result(self) -> FinalResult:
        words: list[Word] = []
        alternatives: list[str] = []
        posteriors: list[float] = []
        for seg in self._segments:
            _, seg_words, alts, posterior = _best(seg)
            words += seg_words
            alternatives += alts
            if posterior is not None:
                posteriors.append(posterior)
        tokens = [w.word for w in words]
        spoken = [w for w in words if w.word != UNK]
        text = " ".join(w.word for w in spoken)
        confs = [w.confidence for w in spoken if w.confidence is not None]
        if confs:
            confidence = sum(confs) / len(confs)
        elif posteriors:
            confidence = math.prod(posteriors)
        else:
            confidence = 1.0 if spoken else 0.0
        in_domain = bool(spoken) and UNK not in tokens and confidence >= self._engine.min_confidence
        return FinalResult(
            text=text,
            words=tuple(words),
            confidence=min(1.0, confidence),
            in_domain=in_domain,
            engine=self._engine.name,
            alternatives=tuple(alternatives[:3]),
            audio_s=self._audio_bytes / 2 / SAMPLE_RATE,
        )


def _best(seg: dict[str, Any]) -> tuple[str, list[Word], list[str], float | None]:
    """(text, words, other texts, posterior of the best) from either vosk result shape."""
    if "alternatives" not in seg:
        words = [
            Word(word=w["word"], start=w["start"], end=w["end"], confidence=w.get("conf"))
            for w in seg.get("result", [])
        ]
        return seg.get("text", ""), words, [], None
    alts = seg["alternatives"]
    if not alts:
        return "", [], [], None
    best = alts[0]
    words = [Word(word=w["word"], start=w["start"], end=w["end"]) for w in best.get("result", [])]
    # Alternative scores are unnormalized log-likelihoods; a softmax over the n-best list gives
    # a rough posterior for the best one.
    top = max(a["confidence"] for a in alts)
    z = sum(math.exp(a["confidence"] - top) for a in alts)
    posterior = math.exp(best["confidence"] - top) / z
    others = [a["text"] for a in alts[1:] if a.get("text") and a["text"] != best["text"]]
    return best.get("text", ""), words, others, posterior
