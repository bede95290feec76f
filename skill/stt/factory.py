"""Pick the speech engine from settings.

The choice is a spec (paths and options): the worker processes load the model, the serving
process never does. Only the domain language model is built here, once, into the disk cache.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pocketsphinx import get_model_path

from skill.errors import ModelError
from skill.settings.stt import SttSettings
from skill.stt import whisper_engine
from skill.stt.base import EngineRef, SpeechEngine
from skill.stt.domain_model import build_domain_model
from skill.stt.pocketsphinx_engine import PocketsphinxSpec
from skill.stt.vosk_engine import VoskSpec, find_model

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineChoice:
    engine: EngineRef
    reason: str  # one line for logs and `b12-skill doctor`-style output


def choose_engine(
    settings: SttSettings,
    sentences: Sequence[str],
    cache_dir: Path,
    pronunciations: Mapping[str, str] | None = None,
    prompt_terms: Sequence[str] = (),
) -> EngineChoice:
    """vosk when an English vosk model is configured (the user's choice), else Whisper when its weights are
    installed and match their pins, else pocketsphinx; `reason` says which and why."""
    reason = f"{settings.engine}: chosen in settings"
    if settings.engine in ("auto", "vosk"):
        try:
            path = find_model(settings.vosk_lang, settings.vosk_model_path)
        except ModelError as exc:
            if settings.engine == "vosk":
                raise
            reason = f"no vosk model ({exc.message})"
        else:
            engine = VoskSpec(path, tuple(sentences), settings.vosk_min_confidence, settings.vosk_max_alternatives)
            return EngineChoice(engine, f"vosk: model found at {path}")
    ps = _pocketsphinx(settings, sentences, cache_dir, pronunciations)
    if settings.engine in ("auto", "whisper"):
        try:
            path = whisper_engine.find_model(settings.whisper_model_path, cache_dir / "whisper")
            size = whisper_engine.verified(path, cache_dir)
        except ModelError as exc:
            if settings.engine == "whisper":
                raise
            reason += f"; no usable Whisper model ({exc.message})"
        else:
            prompt = whisper_engine.domain_prompt(tuple(prompt_terms))
            spec = whisper_engine.WhisperSpec(
                path,
                prompt,
                ps,
                settings.whisper_beam_size,
                settings.whisper_cpu_threads,
                settings.whisper_min_confidence,
                settings.whisper_full_window,
            )
            return EngineChoice(
                spec,
                f"whisper {size} (final pass, weights at {path}, sha256 checked); pocketsphinx live pass for partials",
            )
    if settings.engine == "auto":
        reason = f"pocketsphinx (embedded English): {reason}"
    if ps.model.missing_words:
        reason += f"; {len(ps.model.missing_words)} domain words lack a pronunciation: " + ", ".join(
            ps.model.missing_words
        )
    return EngineChoice(ps, reason)


def _pocketsphinx(
    settings: SttSettings, sentences: Sequence[str], cache_dir: Path, pronunciations: Mapping[str, str] | None
) -> PocketsphinxSpec:
    model = build_domain_model(sentences, cache_dir, extra_pronunciations=pronunciations)
    hmm = Path(get_model_path("en-us/en-us"))
    if not (hmm / "mdef").is_file():
        raise ModelError(f"pocketsphinx's English acoustic model is missing from {hmm}; reinstall pocketsphinx")
    return PocketsphinxSpec(
        model,
        settings.pocketsphinx_min_confidence,
        settings.pocketsphinx_min_coverage,
        settings.pocketsphinx_final_pass,
        hmm,
        settings.pocketsphinx_cmninit or None,
        settings.pocketsphinx_denoise,
    )


def load_engine(settings: SttSettings, sentences: Sequence[str], cache_dir: Path) -> SpeechEngine:
    """The chosen engine, loaded in this process (tools and tests; the skill's workers load their own)."""
    choice = choose_engine(settings, sentences, cache_dir)
    log.info("speech engine: %s", choice.reason)
    return choice.engine.spec().build()
