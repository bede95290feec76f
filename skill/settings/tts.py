"""Text-to-speech settings (the [tts] table of config.toml)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class TtsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # None: "en-us" when the engine has it, else the engine's default voice.
    # Accepts an espeak id ("gmw/en-us"), a voice name or a language ("en-us").
    voice: str | None = None
    rate_wpm: Annotated[int, Field(ge=80, le=450)] = 170
    volume: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0
    # Per worker request (one piece of at most piece_chars); a stuck worker is killed after this.
    timeout_s: Annotated[float, Field(gt=0)] = 20.0
    # Output rate when the caller does not ask for one; None = the engine's own rate (22050 Hz).
    sample_rate: Annotated[int | None, Field(ge=8000, le=48000)] = None
    # synthesize() refuses longer speech text with InputError rather than cutting it short: the end
    # of an answer holds the consult-a-doctor reminder. stream() has no limit (bounded memory).
    max_chars: Annotated[int, Field(ge=100)] = 5000
    # Text is sent to the engine in sentence-aligned pieces of at most this many characters, so
    # each worker request is short and its timeout meaningful.
    piece_chars: Annotated[int, Field(ge=50)] = 600
    # Requests waiting for the worker beyond this fail at once with OverloadedError.
    max_queue: Annotated[int, Field(ge=1)] = 64
    # None: $XDG_CACHE_HOME/b12-skill/tts (or ~/.cache/b12-skill/tts). cache_max_mb = 0 turns the
    # disk cache off.
    cache_dir: Path | None = None
    cache_max_mb: Annotated[int, Field(ge=0)] = 64
    memory_cache_mb: Annotated[int, Field(ge=0)] = 16
