"""One exception hierarchy for the project.

Errors are raised inside the skill and turned into a reply, an HTTP status, a
protocol error event or an exit code at exactly one boundary each.
"""

from __future__ import annotations

import logging
from typing import ClassVar

log = logging.getLogger(__name__)


class SkillError(Exception):
    """Base of every error the skill raises on purpose. `code` is a stable machine name.

    `public`, when set, is all a network client is told: the message then names engine internals
    (worker exit codes, model paths) that are the operator's business and go to the log instead.
    """

    code = "skill_error"
    public: ClassVar[str | None] = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(SkillError):
    code = "bad_config"


class InputError(SkillError):
    """The caller sent something we cannot use (bad text, bad JSON, bad audio parameters)."""

    code = "bad_input"


class AudioError(InputError):
    """Audio that cannot be decoded or is outside the limits."""

    code = "bad_audio"


class ModelError(SkillError):
    """A speech model is missing, corrupt or cannot be fetched (offline)."""

    code = "model_unavailable"
    public = "a speech model is not available on this server"


class RecognitionError(SkillError):
    """The speech-to-text engine failed or timed out."""

    code = "recognition_failed"
    public = "speech recognition failed; please say it again"


class SynthesisError(SkillError):
    """The text-to-speech engine failed or timed out."""

    code = "synthesis_failed"
    public = "speech synthesis failed; please try again"


class OutputError(SkillError):
    """An output (file, sound device) cannot be written to."""

    code = "output_failed"


class OverloadedError(SkillError):
    """Too much work in flight; the caller should retry later."""

    code = "busy"


_PUBLIC = {cls.code: cls.public for cls in (ModelError, RecognitionError, SynthesisError) if cls.public}


def public_message(code: str, message: str) -> str:
    """What a network client may read of an error; a detail kept from it is logged here, once. (The
    command line shows the whole message: its user is the operator.)"""
    public = _PUBLIC.get(code)
    if public is None:
        return message
    log.warning("%s: %s", code, message)
    return public
