"""Speech-to-text settings (the [stt] table of config.toml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SttSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # "auto": an English vosk model if you have one, else Whisper if its weights are installed, else pocketsphinx.
    engine: Literal["auto", "vosk", "whisper", "pocketsphinx"] = "auto"
    whisper_model_path: Path | None = None  # or $B12_WHISPER_MODEL; default: the installed tiny.en package
    whisper_beam_size: int = Field(default=1, ge=1, le=5)
    whisper_cpu_threads: int = Field(default=1, ge=1, le=16)  # per worker; workers = max_concurrent_decodes
    # Below this (exp of Whisper's mean token log-probability) a transcript is doubted: answered only when
    # it names a red flag or matches a question's phrasing clearly ([matcher] off_topic_threshold).
    whisper_min_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
    # Pad each question to Whisper's 30-s window (as faster-whisper does). False: question + 10 s, about a
    # third less CPU but 7 fewer right of 366 spoken answers in the same run (skill/stt/whisper_engine.py).
    whisper_full_window: bool = True
    vosk_model_path: Path | None = None
    vosk_lang: str = "en-us"  # which vosk model "auto" looks for in vosk's own dirs
    vosk_min_confidence: float = Field(default=0.5, ge=0.0, le=1.0)
    vosk_max_alternatives: int = Field(default=0, ge=0, le=10)  # >0 drops per-word confidences
    # Off-topic rejection for pocketsphinx (measured in bench/stt_bench.py).
    pocketsphinx_min_confidence: float = Field(default=0.6, ge=0.0, le=1.0)
    pocketsphinx_min_coverage: float = Field(default=0.5, ge=0.0, le=1.0)
    # Final result from a batch-CMN pass over the whole utterance: lower WER, and history-free.
    pocketsphinx_final_pass: bool = True  # batch-CMN second pass: steadier in noise (figures in the engine)
    # Subtract steady background noise (fan, traffic, hiss) before the final pass; see stt/denoise.py.
    pocketsphinx_denoise: bool = True
    # Where each utterance's live cepstral mean starts (13 numbers; "" = the model's own default),
    # for partial results. Measured as the mean after 40 questions of tests/dev spoken by
    # espeak-ng and Piper; live CMN adapts within the utterance from there.
    pocketsphinx_cmninit: str = "48.4,0.26,-2.96,13.1,-4.10,-3.24,1.71,-12.2,-4.30,-2.64,4.31,0.38,-7.39"
    max_concurrent_decodes: int = Field(default=2, ge=1)
    # Beyond concurrent + queued, OverloadedError. An open stream holds one for its whole utterance, so
    # this leaves room for [server] max_streams streams and as many whole-file requests.
    max_queued_decodes: int = Field(default=14, ge=0)
    decode_timeout_s: float = Field(default=30.0, gt=0)
    max_audio_s: float = Field(default=60.0, gt=0)
    # An open utterance holds a decoder slot only while its audio keeps coming: it is dropped after this
    # long without audio, and after max_audio_s + this of wall time however the audio trickles in.
    stream_idle_s: float = Field(default=5.0, gt=0)
    # Endpointing of live audio (microphone, streams).
    end_silence_s: float = Field(default=1.0, gt=0)
    no_speech_timeout_s: float = Field(default=8.0, gt=0)
