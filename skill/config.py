"""Settings: config.toml read once, validated by pydantic, passed down (never a global)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError
from .settings.handsfree import HandsFreeSettings
from .settings.mqtt import MqttSettings
from .settings.server import ServerSettings
from .settings.stt import SttSettings
from .settings.tts import TtsSettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_VAR = "B12_SKILL_CONFIG"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SkillSettings(_Section):
    locale: str = "en-us"
    reminder: str = "This is general information, not medical advice: please check with your doctor."
    reminder_short: str = "Please check with your doctor."
    max_text_chars: int = Field(default=1000, ge=10)
    cache_dir: Path | None = None  # default: $XDG_CACHE_HOME/b12-skill or ~/.cache/b12-skill

    def cache_path(self) -> Path:
        if self.cache_dir is not None:
            return self.cache_dir
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        return Path(base) / "b12-skill"


class MatcherSettings(_Section):
    threshold: float = Field(default=0.5, gt=0, le=1)
    # Speech the recognizer judged off-topic is still answered when it matches at least this well.
    off_topic_threshold: float = Field(default=0.55, gt=0, le=1)
    # Red flags by meaning (a sentence-embedding model) after the word rules; off: rules only.
    semantic_red_flags: bool = True
    # Threads for that model: a clause takes about 6 ms on one core here and 3-4 ms on two.
    semantic_threads: int = Field(default=2, ge=1, le=16)


class SessionSettings(_Section):
    idle_timeout_s: float = Field(default=300.0, gt=0)
    max_sessions: int = Field(default=10000, ge=1)
    # "redis": conversations shared by every instance pointed at the same Redis (a password goes in
    # the URL, redis://:secret@host:6379/0; rediss:// for TLS).
    backend: Literal["memory", "redis"] = "memory"
    redis_url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^(redis|rediss|unix)://")
    redis_prefix: str = Field(default="b12:", min_length=1, max_length=64)


class Settings(_Section):
    skill: SkillSettings = SkillSettings()
    matcher: MatcherSettings = MatcherSettings()
    sessions: SessionSettings = SessionSettings()
    mqtt: MqttSettings = MqttSettings()
    stt: SttSettings = SttSettings()
    tts: TtsSettings = TtsSettings()
    server: ServerSettings = ServerSettings()
    handsfree: HandsFreeSettings = HandsFreeSettings()
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _streams_fit_the_recognizer(self) -> Settings:
        # Every open stream holds a recognizer slot for its whole utterance: admitting more streams than
        # the recognizer takes loses spoken questions at the advertised capacity.
        slots = self.stt.max_concurrent_decodes + self.stt.max_queued_decodes
        if self.server.max_streams > slots:
            raise ValueError(
                f"[server] max_streams ({self.server.max_streams}) is more than the recognizer admits: [stt] "
                f"max_concurrent_decodes + max_queued_decodes = {slots}"
            )
        if self.server.max_utterances_per_client >= slots:
            raise ValueError(
                f"[server] max_utterances_per_client ({self.server.max_utterances_per_client}) must be less than the "
                f"recognizer's {slots} slots ([stt] max_concurrent_decodes + max_queued_decodes), or one client "
                "could hold them all"
            )
        return self


def default_config_path() -> Path | None:
    """--config wins; then $B12_SKILL_CONFIG, ./config.toml, and the project's own config.toml."""
    for candidate in (os.environ.get(ENV_VAR), "config.toml", PROJECT_ROOT / "config.toml"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def load_settings(path: Path | None = None) -> Settings:
    path = path or default_config_path()
    if path is None:
        return Settings()
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (a TOML file must be)") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    try:
        return Settings.model_validate({**data, "source": path})
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise ConfigError(f"{path}: unknown key '{key}'") from None
        if not key:  # a rule between tables
            raise ConfigError(f"{path}: {err['msg'].removeprefix('Value error, ')}") from None
        raise ConfigError(f"{path}: key '{key}': {err['msg']}") from None
