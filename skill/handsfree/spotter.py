"""Wake phrase and barge-in spotting: pocketsphinx keyphrase search over the live stream.

Two searches on one decoder: "wake" (the wake phrase) while idle, "barge" (the wake phrase and the
stop phrases) while an answer plays. Measured on espeak-ng and Piper speech (bench/handsfree_bench.py):
pocketsphinx's default phone-loop probability (kws_plp 0.1) never spots espeak voices, so it is a
setting; and a detection counts only after a pause (`pause_before_wake_s` of quiet before the phrase),
because most false accepts land in the middle of a sentence.

Not thread-safe: the loop calls `feed` from one worker thread at a time (asyncio.to_thread).
"""

from __future__ import annotations

import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pocketsphinx import Decoder, get_model_path

from skill.corpus import pronunciations
from skill.errors import ConfigError
from skill.settings.handsfree import HandsFreeSettings

Mode = Literal["wake", "barge"]
_FRAME = 160  # pocketsphinx frames are 10 ms at 16 kHz
_MIN_RMS = 200.0  # about -44 dBFS: quieter is a pause whatever the noise floor
_GAP_FRAMES = 10  # the phrase's first frame is often 0.1 s early: the pause must end before that


@dataclass(frozen=True)
class Detection:
    phrase: str
    is_wake: bool
    end_s: float  # stream time (seconds since the spotter started) where the phrase ended


def lookup_pronunciations(words: set[str], locale: str = "en-us") -> dict[str, list[str]]:
    """word -> its pronunciations, from the CMU dictionary plus the skill's own additions."""
    found: dict[str, list[str]] = {}
    extra = pronunciations(locale)
    for w in words & extra.keys():
        found.setdefault(w, []).append(extra[w])
    with Path(get_model_path("en-us/cmudict-en-us.dict")).open(encoding="utf-8") as fh:
        for line in fh:
            head, _, phones = line.partition(" ")
            word = head.split("(")[0]
            if word in words:
                found.setdefault(word, []).append(phones.strip())
    missing = sorted(words - found.keys())
    if missing:
        raise ConfigError(f"[handsfree] these words have no pronunciation, choose other ones: {', '.join(missing)}")
    return found


class KeywordSpotter:
    def __init__(self, settings: HandsFreeSettings, locale: str = "en-us") -> None:
        self.settings = settings
        self.wake = settings.wake_phrase
        phrases = [self.wake, *settings.stop_phrases]
        prons = lookup_pronunciations({w for p in phrases for w in p.split()}, locale)
        with tempfile.TemporaryDirectory(prefix="b12-kws-") as tmp:
            d = Path(tmp)
            lines = [f"{w}{'' if i == 0 else f'({i + 1})'} {p}" for w, ps in prons.items() for i, p in enumerate(ps)]
            (d / "kws.dict").write_text("\n".join(lines) + "\n", encoding="utf-8")
            (d / "wake.kws").write_text(f"{self.wake} /{settings.kws_threshold:g}/\n", encoding="utf-8")
            barge = [f"{self.wake} /{settings.kws_threshold:g}/"]
            barge += [f"{p} /{settings.stop_threshold:g}/" for p in settings.stop_phrases]
            (d / "barge.kws").write_text("\n".join(barge) + "\n", encoding="utf-8")
            self._decoder = Decoder(
                hmm=get_model_path("en-us/en-us"),
                dict=str(d / "kws.dict"),
                kws=str(d / "wake.kws"),
                kws_plp=settings.kws_plp,
                dither=True,  # as for recognition: digital silence otherwise derails the acoustic scores
                loglevel="FATAL",
            )
            self._decoder.add_kws("barge", str(d / "barge.kws"))
            self._decoder.add_kws("wake", str(d / "wake.kws"))
            self._decoder.activate_search("wake")
        self.mode: Mode = "wake"
        self._wanted: Mode | None = None
        self._started = False
        self._utt_start = 0  # stream frame where the current decoder utterance began
        self._frames = 0  # 10 ms frames fed since the spotter started
        self._pending = b""
        keep = int(2.0 * 100)  # two seconds of frame levels, enough to look back past the phrase
        self._levels: deque[float] = deque(maxlen=keep)
        self._floor = _MIN_RMS / 3.16

    def request(self, mode: Mode) -> None:
        """Use `mode` from the next feed on, in a fresh decoder utterance (the state changed, so the
        audio since the last feed belongs to something else). Only records the wish: `feed` may be
        running on a worker thread right now, and the decoder is touched by `feed` alone."""
        self._wanted = mode

    def feed(self, pcm: bytes) -> Detection | None:
        wanted, self._wanted = self._wanted, None
        if wanted is not None:
            self._end()
            if wanted != self.mode:
                self._decoder.activate_search(wanted)
                self.mode = wanted
        if not self._started:
            self._decoder.start_utt()
            self._started = True
            self._utt_start = self._frames
        data = self._pending + pcm
        n = len(data) // (2 * _FRAME) * 2 * _FRAME
        self._pending = data[n:]
        if not n:
            return None
        self._track_levels(data[:n])
        self._decoder.process_raw(data[:n], False, False)
        hyp = self._decoder.hyp()
        if hyp is None:
            return None
        segs = list(self._decoder.seg())
        start = self._utt_start + (segs[0].start_frame if segs else 0)
        end = self._utt_start + (segs[0].end_frame if segs else self._frames - self._utt_start)
        self._end()  # restart the search after every detection, accepted or not
        phrase = " ".join(hyp.hypstr.split())
        if not self._paused_before(start):
            return None
        return Detection(phrase=phrase, is_wake=phrase == self.wake, end_s=end / 100)

    def _end(self) -> None:
        if self._started:
            self._decoder.end_utt()
            self._started = False

    def _track_levels(self, pcm: bytes) -> None:
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float64).reshape(-1, _FRAME)
        for level in np.sqrt(np.mean(x * x, axis=1)):
            # Minimum statistics: the floor drops to any quieter frame at once and creeps up 2% a frame.
            self._floor = min(self._floor * 1.02, max(float(level), 1.0))
            self._levels.append(float(level))
        self._frames += len(x)

    def _paused_before(self, start_frame: int) -> bool:
        need = round(self.settings.pause_before_wake_s * 100)
        if need == 0:
            return True
        first_kept = self._frames - len(self._levels)
        lo, hi = start_frame - _GAP_FRAMES - need, start_frame - _GAP_FRAMES
        window = [self._levels[i - first_kept] for i in range(max(lo, first_kept), max(hi, first_kept))]
        if not window:  # nothing heard before it (the stream just began): that is a pause
            return True
        rms = float(np.sqrt(np.mean(np.square(window))))
        return rms < max(_MIN_RMS, 3.16 * self._floor)
