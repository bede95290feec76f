"""The streaming speech-to-text interface every engine implements.

Input is always 16 kHz mono int16 PCM (see skill.audio.pcm). A recognizer is one utterance's
decoder state: feed it chunks, read partials, call `finish()` once. Recognizers are not
thread-safe; the service runs them inside worker processes, one call at a time.

Engines run in worker processes (see service.py), so each can describe itself as an EngineSpec:
a small picklable value from which a worker builds its own copy of the engine.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

# Equal to skill.audio.pcm.TARGET_RATE (a test checks); not imported from there because that
# module pulls in numpy and soxr, which would slow every worker process start by ~0.2 s.
SAMPLE_RATE = 16000


class Word(BaseModel):
    model_config = ConfigDict(frozen=True)

    word: str
    start: float  # seconds from the start of the utterance
    end: float
    confidence: float | None = None  # None when the engine does not give one


class PartialResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    settled: bool = False  # the speaker paused and this is the final pass's text: what will be answered


class FinalResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    words: tuple[Word, ...] = ()
    confidence: float = Field(ge=0.0, le=1.0)
    in_domain: bool  # False: silence, or speech judged off-topic / out of vocabulary
    engine: str
    alternatives: tuple[str, ...] = ()  # other hypotheses, best first, when the engine has them
    heard_also: tuple[str, ...] = ()  # what another pass over the same audio heard (hybrid engines)
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

    def transcribe(self, pcm: bytes) -> FinalResult:
        """Recognize one whole utterance (no partials, so engines may decode it in one pass)."""
        ...

    def spec(self) -> EngineSpec:
        """What a worker process needs to build the same engine."""
        ...


class EngineSpec(Protocol):
    """Picklable (model paths and options, no loaded model); `build()` loads the engine."""

    def build(self) -> SpeechEngine: ...


class EngineRef(Protocol):
    """What the speech service needs of an engine: its name and the spec its workers build from.

    Specs are refs too, so the serving process never loads a model only its workers use
    (a large vosk model would otherwise be in memory once more than there are workers).
    """

    @property
    def name(self) -> str: ...  # read-only, so a spec's class-level name satisfies it

    def spec(self) -> EngineSpec: ...
