"""The embedded English default: pocketsphinx 5 with a domain LM (see domain_model.py).

Off-topic detection (measured on espeak-ng and Piper speech, see bench/stt_bench.py): a domain
LM forces every utterance onto domain words, so off-topic speech comes out as a jumble of them
("what is the weather like in paris" -> "what is what the why can hurt more"). Two cheap signals
separate that from real questions without a second decoder:
- the posterior probability of the hypothesis, as a per-word geometric mean
  (in-domain 0.68-0.86, off-topic 0.24-0.57 on our samples);
- n-gram coverage: the share of adjacent word pairs in the hypothesis that occur in the corpus
  (in-domain 0.8-1.0, off-topic 0.1-0.6).
A phone-loop comparison was measured too and was less consistent across the two voices.

Reproducibility: dither adds random noise, and the front end keeps state across utterances (live
cepstral mean, noise estimate, dither RNG), so the same audio used to give different transcripts
depending on what was decoded before (and on the time-based seed). Now the seed is fixed and
every utterance starts from a freshly initialized front end (`reinit_feat`, ~0.1 ms).

The final result comes from a second pass over the whole utterance with batch CMN (the en-us
model was trained with `-cmn batch`): it does not depend on where live CMN starts, so it holds
up for any microphone and in noise. Right intents on tests/dev/questions-1 (every sixth, spoken;
`bench.speech_accuracy`), espeak-ng clean / 12 dB / 6 dB, then Piper: live pass only, model's
CMN start 48 / 62 / 31, 97 / 41 / 14%; live pass from a CMN start measured on speech
(SttSettings.pocketsphinx_cmninit) 55 / 69 / 45, 93 / 48 / 21%; final pass 48 / 72 / 41,
97 / 72 / 21%. The final pass doubles decode CPU (real-time factor about 0.07 -> 0.12), which
runs in worker processes, off the event loop. Partials come from the live pass, which starts
from `cmninit`.
"""

from __future__ import annotations

import logging
import math
import queue
from dataclasses import dataclass
from pathlib import Path

from pocketsphinx import Decoder, get_model_path

from skill.errors import ModelError, RecognitionError
from skill.stt.base import SAMPLE_RATE, FinalResult, PartialResult, Word
from skill.stt.domain_model import DomainModel

log = logging.getLogger(__name__)

_FRAME_RATE = 100  # pocketsphinx's default -frate: one frame per 10 ms
DITHER_SEED = 1  # any fixed value: what matters is that it is the same for every utterance


def ngram_coverage(words: list[str], bigrams: frozenset[tuple[str, str]]) -> float:
    """Share of adjacent word pairs seen in the corpus; 1.0 for a single word."""
    if len(words) < 2:
        return 1.0
    pairs = list(zip(words, words[1:], strict=False))
    return sum(p in bigrams for p in pairs) / len(pairs)


@dataclass(frozen=True)
class PocketsphinxSpec:
    """The engine's constructor arguments: the LM and dictionary are files already on disk."""

    model: DomainModel
    min_confidence: float
    min_coverage: float
    final_pass: bool
    hmm: Path
    cmninit: str | None = None

    def build(self) -> PocketsphinxEngine:
        return PocketsphinxEngine(self.model, self.min_confidence, self.min_coverage,
                                  self.final_pass, self.hmm, self.cmninit)


class PocketsphinxEngine:
    name = "pocketsphinx"

    def __init__(
        self,
        model: DomainModel,
        min_confidence: float = 0.6,
        min_coverage: float = 0.5,
        final_pass: bool = True,
        hmm: Path | None = None,
        cmninit: str | None = None,
    ) -> None:
        self.model = model
        self.min_confidence = min_confidence
        self.min_coverage = min_coverage
        self.final_pass = final_pass
        self.cmninit = cmninit
        self._hmm = hmm or Path(get_model_path("en-us/en-us"))
        self._pool: queue.SimpleQueue[Decoder] = queue.SimpleQueue()
        self._pool.put(self._new_decoder())  # fail at load time, not on the first question

    def _new_decoder(self) -> Decoder:
        try:
            return Decoder(
                hmm=str(self._hmm),
                lm=str(self.model.lm_path),
                dict=str(self.model.dict_path),
                dither=True,  # exact digital silence otherwise raises WER from ~4% to ~33%
                seed=DITHER_SEED,
                loglevel="FATAL",
                # Where live CMN starts each utterance (reinit_feat resets to it): see SttSettings.
                **({"cmninit": self.cmninit} if self.cmninit else {}),
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"pocketsphinx could not load its model ({self._hmm}): {exc}") from exc

    def _take(self) -> Decoder:
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            return self._new_decoder()

    def _give_back(self, decoder: Decoder) -> None:
        self._pool.put(decoder)

    def spec(self) -> PocketsphinxSpec:
        return PocketsphinxSpec(self.model, self.min_confidence, self.min_coverage,
                                self.final_pass, self._hmm, self.cmninit)

    def new_recognizer(self) -> PocketsphinxRecognizer:
        return PocketsphinxRecognizer(self, self._take())

    def transcribe(self, pcm: bytes) -> FinalResult:
        """One pass over the whole utterance: what a stream's final pass gives for the same audio."""
        d = self._take()
        try:
            _start_fresh(d)
            d.process_raw(pcm, full_utt=self.final_pass)
            d.end_utt()
            result = _final_result(self, d, len(pcm) / 2 / SAMPLE_RATE)
        except RuntimeError as exc:
            raise RecognitionError(f"pocketsphinx failed while decoding: {exc}") from exc
        self._give_back(d)
        return result


def _start_fresh(d: Decoder) -> None:
    # A new front end re-seeds dither and resets the live CMN and noise estimate, so this
    # utterance's result does not depend on the ones decoded before it.
    d.reinit_feat()
    d.start_utt()


class PocketsphinxRecognizer:
    def __init__(self, engine: PocketsphinxEngine, decoder: Decoder) -> None:
        self._engine = engine
        self._decoder = decoder
        self._audio: list[bytes] = []
        self._last_partial = ""
        self._finished = False
        try:
            _start_fresh(decoder)
        except RuntimeError as exc:
            raise RecognitionError(f"pocketsphinx could not start an utterance: {exc}") from exc

    def accept(self, pcm: bytes) -> PartialResult | None:
        if self._finished:
            raise RecognitionError("recognizer already finished")
        if not pcm:
            return None
        self._audio.append(pcm)
        try:
            self._decoder.process_raw(pcm, full_utt=False)
            hyp = self._decoder.hyp()
        except RuntimeError as exc:
            self._finished = True  # the decoder is in an unknown state: do not reuse it
            raise RecognitionError(f"pocketsphinx failed while decoding: {exc}") from exc
        text = _clean_text(hyp.hypstr) if hyp else ""
        if text != self._last_partial:
            self._last_partial = text
            return PartialResult(text=text)
        return None

    def finish(self) -> FinalResult:
        if self._finished:
            raise RecognitionError("recognizer already finished")
        self._finished = True
        d = self._decoder
        audio = b"".join(self._audio)
        try:
            d.end_utt()
            if self._engine.final_pass and audio:
                # Batch CMN over the whole utterance (see the module docstring for the numbers).
                _start_fresh(d)
                d.process_raw(audio, full_utt=True)
                d.end_utt()
            result = _final_result(self._engine, d, len(audio) / 2 / SAMPLE_RATE)
        except RuntimeError as exc:
            raise RecognitionError(f"pocketsphinx failed while decoding: {exc}") from exc
        self._engine._give_back(d)
        return result


def _final_result(engine: PocketsphinxEngine, d: Decoder, audio_s: float) -> FinalResult:
    """The ended utterance on `d` as a FinalResult, with the off-topic judgement."""
    hyp = d.hyp()
    words = [
        Word(word=_clean_word(s.word), start=s.start_frame / _FRAME_RATE,
             end=(s.end_frame + 1) / _FRAME_RATE)
        for s in (d.seg() if hyp else ())
        if _is_word(s.word)
    ]
    tokens = [w.word for w in words]
    text = " ".join(tokens)
    if not tokens:
        return FinalResult(text="", confidence=0.0, in_domain=False,
                           engine=engine.name, audio_s=audio_s)
    # Per-word geometric mean, so long questions are not penalized for their length.
    confidence = math.exp(math.log(max(hyp.prob, 1e-300)) / len(tokens))
    coverage = ngram_coverage(tokens, engine.model.bigrams)
    in_domain = confidence >= engine.min_confidence and coverage >= engine.min_coverage
    log.debug("pocketsphinx: %r confidence=%.2f coverage=%.2f", text, confidence, coverage)
    alternatives: list[str] = []
    for alt in d.nbest():
        if alt is None:  # pocketsphinx yields None when the lattice has no more paths
            break
        alt_text = _clean_text(alt.hypstr)
        if alt_text and alt_text != text and alt_text not in alternatives:
            alternatives.append(alt_text)
        if len(alternatives) >= 3:
            break
    return FinalResult(text=text, words=tuple(words), confidence=min(1.0, confidence),
                       in_domain=in_domain, engine=engine.name,
                       alternatives=tuple(alternatives), audio_s=audio_s)


def _is_word(token: str) -> bool:
    return not (token.startswith(("<", "[", "+")) or token == "")


def _clean_word(token: str) -> str:
    return token.split("(")[0]


def _clean_text(hypstr: str) -> str:
    return " ".join(_clean_word(t) for t in hypstr.split() if _is_word(t))
