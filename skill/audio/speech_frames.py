"""Is this 30 ms frame speech? One answer for the endpointer and the speech workers.

pocketsphinx's Vad classifies 30 ms frames. Measured: in its loose modes it calls low-level
white noise (sd 30) speech, and in every mode louder steady noise, so a frame only counts as
speech when the Vad says so AND it is 10 dB above a tracked noise floor (minimum statistics:
the floor drops to any quieter frame at once and creeps up 2% per frame).

No numpy here: speech worker processes import this, and numpy would add ~0.2 s to their start.
"""

from __future__ import annotations

import math
from array import array

from pocketsphinx import Vad

SAMPLE_RATE = 16000


class SpeechFrames:
    def __init__(self, vad_mode: int = Vad.MEDIUM_STRICT, min_rms: float = 100.0) -> None:
        self._vad = Vad(mode=vad_mode, sample_rate=SAMPLE_RATE)
        self.frame_bytes: int = self._vad.frame_bytes
        self.frame_s = self.frame_bytes / 2 / SAMPLE_RATE
        self.min_rms = min_rms  # about -50 dBFS: quieter is never speech
        self._floor = min_rms / 3.16

    def is_speech(self, frame: bytes) -> bool:
        """`frame` is exactly `frame_bytes` of 16 kHz mono int16 (native byte order)."""
        x = array("h", frame)
        level = math.sqrt(math.fsum(v * v for v in x) / len(x))
        self._floor = min(self._floor * 1.02, max(level, 1.0))
        loud = level >= max(self.min_rms, 3.16 * self._floor)
        return loud and bool(self._vad.is_speech(frame))


class SpeechEnd:
    """Follows a stream and knows where its speech last ended, as a byte offset.

    The speech workers use it to start the final recognition pass during the silence that
    ends an utterance, instead of after the endpoint (see pocketsphinx_engine.py).
    """

    def __init__(self) -> None:
        self._frames = SpeechFrames()
        self._pending = b""
        self.total = 0  # bytes classified so far
        self.speech_end = 0  # offset just after the last speech frame; 0 = no speech yet

    def feed(self, pcm: bytes) -> None:
        data = self._pending + pcm
        size = self._frames.frame_bytes
        n = len(data) // size * size
        for i in range(0, n, size):
            self.total += size
            if self._frames.is_speech(data[i : i + size]):
                self.speech_end = self.total
        self._pending = data[n:]

    @property
    def silence_s(self) -> float:
        """How long the stream has been silent since speech last ended (0 before any speech)."""
        if not self.speech_end:
            return 0.0
        return (self.total - self.speech_end) / 2 / SAMPLE_RATE
