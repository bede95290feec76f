"""The streaming speech-to-text interface every engine implements.

Input is always 16 kHz mono int16 PCM (see skill.audio.pcm). A recognizer is one utterance's
decoder state: feed it chunks, read partials, call `finish()` once. Recognizers are not
thread-safe; the service gives each one to one worker at a time.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


class Word(BaseModel):
    model_config = ConfigDict(frozen=True)

    word: str
    start: float  # seconds from the start of the utterance
    end: float
    confidence: float | None = None  # None when the engine does not give one


class PartialResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str


class FinalResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    words: tuple[Word, ...] = ()
    confidence: float = Field(ge=0.0, le=1.0)
    in_domain: bool  # False: silence, or speech judged off-topic / out of vocabulary
    engine: str
    alternatives: tuple[str, ...] = ()  # other hypotheses, best first, when the engine has them
    audio_s: float = 0.0

    @property
    def is_empty(self) -> bool:
        return not self.text


class Recognizer(Protocol):
    def accept(self, pcm: bytes) -> PartialResult | None:
        """Feed audio; returns a partial result when the hypothesis changed."""
        ...

    def finish(self) -> FinalResult:
        """End the utterance and return the final result. Call once."""
        ...


class SpeechEngine(Protocol):
    name: str

    def new_recognizer(self) -> Recognizer: ...
