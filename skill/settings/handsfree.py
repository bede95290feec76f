"""Hands-free settings (a `[handsfree]` table in config.toml). Defaults are measured, see below.

Wake phrase "hello computer" (bench/handsfree_bench.py --sweep, 80 wake utterances and 13 min of
other speech from three espeak-ng voices and Piper): with these defaults it was never missed and
false-accepted 18 times per hour on deliberately tricky speech ("hello there", "the computer"),
while "hey doctor" fired 3x more often at the same miss rate; and neither "hello" nor
"computer" occurs in any answer, so the assistant's own voice (heard back through the mic during
playback) cannot wake it - every answer ends "...check with your doctor".
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class HandsFreeSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    wake_phrase: str = "hello computer"
    # Keyphrase spotting. kws_plp is pocketsphinx's phone-loop probability: the default 0.1 never
    # spotted espeak-ng voices; 1e-7 missed 15%; 1e-10 none. Lower values spot more and wake more falsely.
    kws_threshold: float = Field(default=1e-20, gt=0, le=1)
    kws_plp: float = Field(default=1e-10, gt=0, le=1)
    # A wake phrase must follow this much quiet: most false accepts are mid-sentence (measured: about 3x fewer).
    pause_before_wake_s: float = Field(default=0.3, ge=0, le=2)
    # Said while an answer plays, these stop it (the wake phrase does too, and starts listening).
    stop_phrases: tuple[str, ...] = ("stop",)
    stop_threshold: float = Field(default=1e-20, gt=0, le=1)
    follow_up_s: float = Field(default=6.0, ge=0, le=60)  # a question needs no wake phrase this long after an answer
    end_silence_s: float = Field(default=1.0, gt=0, le=5)  # the utterance ends this long after speech stops
    # ...or this soon, when what was heard is already a whole question understood at least `early_end_confidence`.
    # bench.endpoint_cutoff (90 held-out questions spoken with 0.3-s pauses inside): 0.4 s cut 1 person off,
    # 0.5 s none, and still ended early for 72 of 90.
    early_end_silence_s: float = Field(default=0.5, gt=0, le=5)
    early_end_confidence: float = Field(default=0.75, gt=0, le=1)
    no_speech_timeout_s: float = Field(default=5.0, gt=0, le=60)  # after the wake phrase, give up if nobody speaks
    max_utterance_s: float = Field(default=15.0, gt=1, le=60)
    earcons: bool = True
    earcon_volume: float = Field(default=0.25, ge=0, le=1)
    session: str = Field(default="handsfree", min_length=1, max_length=128)

    @field_validator("wake_phrase")
    @classmethod
    def _words(cls, value: str) -> str:
        words = value.lower().replace(",", " ").split()
        if not words:
            raise ValueError("the wake phrase must have at least one word")
        return " ".join(words)

    @field_validator("stop_phrases")
    @classmethod
    def _stop_words(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(" ".join(p.lower().split()) for p in value if p.strip())
