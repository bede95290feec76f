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
"""

from __future__ import annotations

import logging
import math
import queue
import time
from pathlib import Path

from pocketsphinx import Decoder, get_model_path

from skill.audio.pcm import TARGET_RATE
from skill.errors import ModelError, RecognitionError
from skill.stt.base import FinalResult, PartialResult, Word
from skill.stt.domain_model import DomainModel

log = logging.getLogger(__name__)

_FRAME_RATE = 100  # pocketsphinx's default -frate: one frame per 10 ms
# pocketsphinx's process_raw holds the GIL (measured: a 6 s buffer froze the event loop thread
# for 0.35 s even from a worker thread). Feeding 50 ms pieces and yielding between them keeps
# each hold to ~2 ms.
_PIECE_BYTES = 1600


def ngram_coverage(words: list[str], bigrams: frozenset[tuple[str, str]]) -> float:
    """Share of adjacent word pairs seen in the corpus; 1.0 for a single word."""
    if len(words) < 2:
        return 1.0
    pairs = list(zip(words, words[1:], strict=False))
    return sum(p in bigrams for p in pairs) / len(pairs)


class PocketsphinxEngine:
    name = "pocketsphinx"

    def __init__(
        self,
        model: DomainModel,
        min_confidence: float = 0.6,
        min_coverage: float = 0.5,
        final_pass: bool = False,
        hmm: Path | None = None,
    ) -> None:
        self.model = model
        self.min_confidence = min_confidence
        self.min_coverage = min_coverage
        self.final_pass = final_pass
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
                loglevel="FATAL",
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

    def new_recognizer(self) -> PocketsphinxRecognizer:
        return PocketsphinxRecognizer(self, self._take())


class PocketsphinxRecognizer:
    def __init__(self, engine: PocketsphinxEngine, decoder: Decoder) -> None:
        self._engine = engine
        self._decoder = decoder
        self._audio: list[bytes] = []
        self._last_partial = ""
        self._finished = False
        decoder.start_utt()

    def accept(self, pcm: bytes) -> PartialResult | None:
        if self._finished:
            raise RecognitionError("recognizer already finished")
        if not pcm:
            return None
        self._audio.append(pcm)
        try:
            for i in range(0, len(pcm), _PIECE_BYTES):
                self._decoder.process_raw(pcm[i : i + _PIECE_BYTES], full_utt=False)
                time.sleep(0)  # let other threads (the event loop) take the GIL
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
                # A second pass over the whole utterance normalizes the cepstra over all of it
                # (live CMN starts from a guess). Off by default: on our samples it did not lower WER
                # and it doubles the decode time (see bench/stt_bench.py).
                d.start_utt()
                d.process_raw(audio, full_utt=True)
                d.end_utt()
            result = self._result(d, len(audio) / 2 / TARGET_RATE)
        except RuntimeError as exc:
            raise RecognitionError(f"pocketsphinx failed while decoding: {exc}") from exc
        self._engine._give_back(d)
        return result

    def _result(self, d: Decoder, audio_s: float) -> FinalResult:
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
                               engine=self._engine.name, audio_s=audio_s)
        # Per-word geometric mean, so long questions are not penalized for their length.
        confidence = math.exp(math.log(max(hyp.prob, 1e-300)) / len(tokens))
        coverage = ngram_coverage(tokens, self._engine.model.bigrams)
        in_domain = confidence >= self._engine.min_confidence and coverage >= self._engine.min_coverage
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
                           in_domain=in_domain, engine=self._engine.name,
                           alternatives=tuple(alternatives), audio_s=audio_s)


def _is_word(token: str) -> bool:
    return not (token.startswith(("<", "[", "+")) or token == "")


def _clean_word(token: str) -> str:
    return token.split("(")[0]


def _clean_text(hypstr: str) -> str:
    return " ".join(_clean_word(t) for t in hypstr.split() if _is_word(t))
