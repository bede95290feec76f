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
from `cmninit`; once the early final pass (below) is ready, the partial shows its text, so what
the page shows last is what gets answered.

Latency: the final pass does not wait for the endpoint. The recognizer follows where speech ends
(audio.speech_frames.SpeechEnd); once the stream has been silent for TAIL_S it runs the final pass
on the audio up to the end of speech + TAIL_S, while the endpointer is still waiting out its
second of silence. If nobody speaks again, `finish()` returns that result at once; if they do,
the result is dropped and made again later. Every final pass (streams and whole files alike)
sees the audio cut the same way, so a file and the same audio streamed give the same transcript.
The cut was neutral for accuracy on all of tests/dev/questions-3 (`bench.speech_accuracy`, right
intent, before -> after: espeak-ng clean 48.0 -> 49.7%, 12 dB 59.2 -> 59.2; Piper clean 74.3 ->
73.7, 12 dB 55.9 -> 55.9). Hands-free, endpoint -> first answer audio went from p50 459 / p95
640 ms to p50 5 / p95 9 ms (`bench/handsfree_bench.py --latency`).
The live decoder skips the fwdflat and bestpath searches when a final pass follows (its
end-of-utterance result is never used; partials come from the first search anyway): ending its
utterance then takes ~1 ms instead of 60-190 ms. It also searches narrower and scores fewer
Gaussians (LIVE_PASS_OPTIONS), since partials are only shown, never answered. Measured on every 2nd
question of tests/dev/questions-2, Piper, clean, CPU seconds per second of audio around the live
decoder's calls (process_raw + hyp per 0.1 s chunk, end_utt): full search 0.063; without fwdflat
and bestpath 0.043 (same partials); plus these options 0.034, WER of the last partial 30.2 -> 32.0%
(reference normalized with domain_model.normalize).
"""

from __future__ import annotations

import logging
import math
import queue
import random
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from pocketsphinx import Decoder, get_model_path

from skill.audio.speech_frames import SpeechEnd
from skill.errors import ModelError, RecognitionError
from skill.stt.base import SAMPLE_RATE, FinalResult, PartialResult, Word
from skill.stt.denoise import denoise_if_steady
from skill.stt.domain_model import DomainModel

log = logging.getLogger(__name__)

_FRAME_RATE = 100  # pocketsphinx's default -frate: one frame per 10 ms
DITHER_SEED = 1  # any fixed value: what matters is that it is the same for every utterance
TAIL_S = 0.3  # audio kept after the last speech frame (word-final consonants are quiet)
_TAIL_BYTES = int(TAIL_S * SAMPLE_RATE) * 2
# The live decoder's search when a final pass gives the result: pocketsphinx's defaults are beam
# 1e-48, wbeam 7e-29, pbeam 1e-48, maxhmmpf 30000, topn 4 (numbers in the module docstring).
LIVE_PASS_OPTIONS: dict[str, object] = {"beam": 1e-40, "wbeam": 1e-24, "pbeam": 1e-40, "maxhmmpf": 5000, "topn": 2}


def _gauss(seed: int, sd: float, n: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(0.0, sd) for _ in range(n)]


# Digital silence (runs of exact zeros, as synthesizers, files and browser noise suppression give)
# never occurs in the rooms the acoustic model was trained on; pocketsphinx's own dither is too
# weak to hide it. Near-zero samples get a -80 dBFS noise floor. Measured on every 3rd question of
# tests/dev/questions-2 (skill.listen, clean): espeak-ng 29/56 right -> 37/56; Piper 49 -> 46/56.
# Checked on all of tests/dev/questions-3 (bench.speech_accuracy): espeak-ng clean 49.7 -> 56.4%;
# espeak-ng at 12 dB, Piper clean and Piper at 12 dB unchanged (noise already hides the zeros).
_FLOOR_SD = 3.0
_FLOOR = array("h", (round(g) for g in _gauss(DITHER_SEED, _FLOOR_SD, SAMPLE_RATE)))


def ngram_coverage(words: list[str], bigrams: frozenset[tuple[str, str]]) -> float:
    """Share of adjacent word pairs seen in the corpus; 1.0 for a single word."""
    if len(words) < 2:
        return 1.0
    pairs = list(zip(words, words[1:], strict=False))
    return sum(p in bigrams for p in pairs) / len(pairs)


class FinalPass(Protocol):
    """Another engine's whole-utterance pass, whose result is the final one (hybrid streaming: pocketsphinx
    gives partials and finds the pause, Whisper gives the transcript). Pocketsphinx's own final pass still
    runs, cheaply, and what it heard rides along in `heard_also`: its language model is weighted toward
    red flags, so a red flag either pass heard is answered as one."""

    def final_result(self, pcm: bytes, audio_s: float) -> FinalResult: ...


@dataclass(frozen=True)
class PocketsphinxSpec:
    """The engine's constructor arguments: the LM and dictionary are files already on disk."""

    model: DomainModel
    min_confidence: float
    min_coverage: float
    final_pass: bool
    hmm: Path
    cmninit: str | None = None
    denoise: bool = True

    name: ClassVar[str] = "pocketsphinx"

    def build(self, final: FinalPass | None = None) -> PocketsphinxEngine:
        return PocketsphinxEngine(
            self.model,
            self.min_confidence,
            self.min_coverage,
            self.final_pass,
            self.hmm,
            self.cmninit,
            self.denoise,
            final=final,
        )

    def spec(self) -> PocketsphinxSpec:
        return self


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
        denoise: bool = True,
        final: FinalPass | None = None,
    ) -> None:
        self.model = model
        self.final = final
        self.denoise = denoise
        self.min_confidence = min_confidence
        self.min_coverage = min_coverage
        self.final_pass = final_pass
        self.cmninit = cmninit
        self._hmm = hmm or Path(get_model_path("en-us/en-us"))
        # Live decoders (partials) and final-pass decoders differ in configuration; see the docstring.
        self._pools: dict[bool, queue.SimpleQueue[Decoder]] = {True: queue.SimpleQueue(), False: queue.SimpleQueue()}
        for live in (True, False) if final_pass else (True,):
            self._pools[live].put(self._new_decoder(live))  # fail at load time, not on the first question

    def _new_decoder(self, live: bool) -> Decoder:
        cheap_live = live and self.final_pass  # its end-of-utterance result is never used
        try:
            return Decoder(
                hmm=str(self._hmm),
                lm=str(self.model.lm_path),
                dict=str(self.model.dict_path),
                dither=True,  # exact digital silence otherwise raises WER from ~4% to ~33%
                seed=DITHER_SEED,
                loglevel="FATAL",
                fwdflat=not cheap_live,
                bestpath=not cheap_live,
                **(LIVE_PASS_OPTIONS if cheap_live else {}),
                # Where live CMN starts each utterance (reinit_feat resets to it): see SttSettings.
                **({"cmninit": self.cmninit} if self.cmninit else {}),
            )
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"pocketsphinx could not load its model ({self._hmm}): {exc}") from exc

    def _take(self, live: bool) -> Decoder:
        try:
            return self._pools[live].get_nowait()
        except queue.Empty:
            return self._new_decoder(live)

    def _give_back(self, decoder: Decoder, live: bool) -> None:
        self._pools[live].put(decoder)

    def spec(self) -> PocketsphinxSpec:
        return PocketsphinxSpec(
            self.model, self.min_confidence, self.min_coverage, self.final_pass, self._hmm, self.cmninit, self.denoise
        )

    def new_recognizer(self) -> PocketsphinxRecognizer:
        return PocketsphinxRecognizer(self, self._take(live=True))

    def transcribe(self, pcm: bytes) -> FinalResult:
        """One pass over the whole utterance: what a stream's final pass gives for the same audio."""
        pcm = fill_digital_silence(pcm)
        if not self.final_pass:
            return self._decode(pcm, live=True, full_utt=False, audio_s=len(pcm) / 2 / SAMPLE_RATE)
        ends = SpeechEnd()
        ends.feed(pcm)
        return self.final_result(pcm[: speech_cut(ends, len(pcm))], len(pcm) / 2 / SAMPLE_RATE)

    def final_result(self, pcm: bytes, audio_s: float) -> FinalResult:
        """The batch-CMN pass over `pcm` (already cut); `audio_s` is what the caller sent in all.

        Under steady background noise the audio is denoised first (skill/stt/denoise.py)."""
        own = self._decode(denoise_if_steady(pcm) if self.denoise else pcm, live=False, full_utt=True, audio_s=audio_s)
        if self.final is None:
            return own
        result = self.final.final_result(pcm, audio_s)
        if own.text and own.text != result.text:
            result = result.model_copy(update={"heard_also": (*result.heard_also, own.text)})
        return result

    def _decode(self, pcm: bytes, live: bool, full_utt: bool, audio_s: float) -> FinalResult:
        d = self._take(live)
        try:
            _start_fresh(d)
            d.process_raw(pcm, full_utt=full_utt)
            d.end_utt()
            result = _final_result(self, d, audio_s)
        except RuntimeError as exc:
            raise RecognitionError(f"pocketsphinx failed while decoding: {exc}") from exc
        self._give_back(d, live)
        return result


def fill_digital_silence(pcm: bytes, offset: int = 0) -> bytes:
    """`pcm` with a noise floor under its near-zero samples; `offset` = samples before it in the stream."""
    x = array("h", pcm[: len(pcm) // 2 * 2])  # a trailing half sample is dropped
    n = len(_FLOOR)
    for i, v in enumerate(x):
        if -2 <= v <= 2:
            x[i] = v + _FLOOR[(offset + i) % n]
    return x.tobytes()


def speech_cut(ends: SpeechEnd, n_bytes: int) -> int:
    """Where the final pass stops: TAIL_S after the last speech frame (all of it if none was found)."""
    return min(n_bytes, ends.speech_end + _TAIL_BYTES) if ends.speech_end else n_bytes


def _start_fresh(d: Decoder) -> None:
    # A new front end re-seeds dither and resets the live CMN and noise estimate, so this
    # utterance's result does not depend on the ones decoded before it.
    d.reinit_feat()
    d.start_utt()


class PocketsphinxRecognizer:
    def __init__(self, engine: PocketsphinxEngine, decoder: Decoder) -> None:
        self._engine = engine
        self._decoder = decoder
        self._audio = bytearray()
        self._odd_byte = b""
        self._ends = SpeechEnd()
        self._early: tuple[int, FinalResult] | None = None  # (cut, result) of a final pass run early
        self._last_partial: tuple[str, bool] = ("", False)
        self._finished = False
        try:
            _start_fresh(decoder)
        except RuntimeError as exc:
            raise RecognitionError(f"pocketsphinx could not start an utterance: {exc}") from exc

    def accept(self, pcm: bytes) -> PartialResult | None:
        if self._finished:
            raise RecognitionError("recognizer already finished")
        data = self._odd_byte + pcm  # chunks may split a sample
        even = len(data) // 2 * 2
        pcm, self._odd_byte = data[:even], data[even:]
        if not pcm:
            return None
        pcm = fill_digital_silence(pcm, len(self._audio) // 2)
        self._audio += pcm
        try:
            self._decoder.process_raw(pcm, full_utt=False)
            hyp = self._decoder.hyp()
        except RuntimeError as exc:
            self._finished = True  # the decoder is in an unknown state: do not reuse it
            raise RecognitionError(f"pocketsphinx failed while decoding: {exc}") from exc
        text = _clean_text(hyp.hypstr) if hyp else ""
        settled = False
        if self._engine.final_pass:
            self._ends.feed(pcm)
            if self._ends.silence_s >= TAIL_S:
                self._run_final_pass_early()
            ready = self._ready_result()
            if ready is not None:
                text, settled = ready.text, True  # the speaker paused: show what will be answered
        if (text, settled) != self._last_partial:
            self._last_partial = (text, settled)
            return PartialResult(text=text, settled=settled)
        return None

    @property
    def result_ready(self) -> bool:
        """A final result for the audio so far is ready (the speaker paused, nothing said since)."""
        return self._ready_result() is not None

    def _ready_result(self) -> FinalResult | None:
        """The early final pass's result, if it covers the audio up to where speech now ends."""
        early = self._early
        return early[1] if early is not None and early[0] == speech_cut(self._ends, len(self._audio)) else None

    def _run_final_pass_early(self) -> None:
        """The speaker has paused: decode now, so the endpoint finds the result ready."""
        if self._ready_result() is None:
            cut = speech_cut(self._ends, len(self._audio))
            audio = bytes(self._audio[:cut])
            try:
                self._early = (cut, self._engine.final_result(audio, len(audio) / 2 / SAMPLE_RATE))
            except RecognitionError:
                self._early = None  # finish() tries again and reports it

    def finish(self) -> FinalResult:
        if self._finished:
            raise RecognitionError("recognizer already finished")
        self._finished = True
        d, engine = self._decoder, self._engine
        audio_s = len(self._audio) / 2 / SAMPLE_RATE
        try:
            d.end_utt()
            if engine.final_pass and self._audio:
                # Batch CMN over the utterance (see the module docstring for the numbers).
                ready = self._ready_result()
                if ready is not None:
                    result = ready.model_copy(update={"audio_s": audio_s})
                else:
                    cut = speech_cut(self._ends, len(self._audio))
                    result = engine.final_result(bytes(self._audio[:cut]), audio_s)
            else:
                result = _final_result(engine, d, audio_s)
        except RuntimeError as exc:
            raise RecognitionError(f"pocketsphinx failed while decoding: {exc}") from exc
        engine._give_back(d, live=True)
        return result


def _final_result(engine: PocketsphinxEngine, d: Decoder, audio_s: float) -> FinalResult:
    """The ended utterance on `d` as a FinalResult, with the off-topic judgement."""
    hyp = d.hyp()
    words = [
        Word(word=_clean_word(s.word), start=s.start_frame / _FRAME_RATE, end=(s.end_frame + 1) / _FRAME_RATE)
        for s in (d.seg() if hyp else ())
        if _is_word(s.word)
    ]
    tokens = [w.word for w in words]
    text = " ".join(tokens)
    if not tokens:
        return FinalResult(text="", confidence=0.0, in_domain=False, engine=engine.name, audio_s=audio_s)
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
    return FinalResult(
        text=text,
        words=tuple(words),
        confidence=min(1.0, confidence),
        in_domain=in_domain,
        engine=engine.name,
        alternatives=tuple(alternatives),
        audio_s=audio_s,
    )


def _is_word(token: str) -> bool:
    return not (token.startswith(("<", "[", "+")) or token == "")


def _clean_word(token: str) -> str:
    return token.split("(")[0]


def _clean_text(hypstr: str) -> str:
    return " ".join(_clean_word(t) for t in hypstr.split() if _is_word(t))
