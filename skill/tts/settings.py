"""Text-to-speech settings (the [tts] table of config.toml)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class TtsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # None: "en-us" when the engine has it, else the engine's default voice.
    # Accepts an espeak id ("gmw/en-us"), a voice name ("English_(America)") or a language ("en-us").
    voice: str | None = None
    rate_wpm: int = Field(170, ge=80, le=450)
    volume: float = Field(1.0, ge=0.0, le=1.0)
    # Per worker request (one piece of at most piece_chars); a stuck worker is killed after this.
    timeout_s: float = Field(20.0, gt=0)
    # Output rate when the caller does not ask for one; None = the engine's own rate (22050 Hz).
    sample_rate: int | None = Field(None, ge=8000, le=48000)
    # synthesize() refuses longer speech text with InputError rather than cutting it short: the end
    # of an answer holds the consult-a-doctor reminder. stream() has no limit (bounded memory).
    max_chars: int = Field(5000, ge=100)
    # Text is sent to the engine in sentence-aligned pieces of at most this many characters, so
    # each worker request is short and its timeout meaningful.
    piece_chars: int = Field(600, ge=50)
    # Requests waiting for the worker beyond this fail at once with OverloadedError.
    max_queue: int = Field(64, ge=1)
    # None: $XDG_CACHE_HOME/b12-skill/tts (or ~/.cache/b12-skill/tts). cache_max_mb = 0 turns the
    # disk cache off.
    cache_dir: Path | None = None
    cache_max_mb: int = Field(64, ge=0)
    memory_cache_mb: int = Field(16, ge=0)
