"""Cut one utterance out of a live 16 kHz mono int16 stream.

Frames are classified by speech_frames.SpeechFrames (pocketsphinx's Vad plus a noise floor).
The state machine is ours so the timeouts the product needs are explicit: the utterance ends
`end_silence_s` after speech stops, or already `early_end_silence_s` after it when the caller has
said the words so far make a complete question it understands (`complete`), and we give up after
`no_speech_timeout_s` if nobody speaks at all.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Literal

from pocketsphinx import Vad

from skill.audio.speech_frames import SpeechFrames

State = Literal["waiting", "speech", "ended", "timeout"]


@dataclass(frozen=True)
class Utterance:
    pcm: bytes  # 16 kHz mono int16, including a short pre-roll before speech started
    speech_start_s: float  # offset into the stream where speech was detected


@dataclass(frozen=True)
class NoSpeech:
    waited_s: float


@dataclass
class Endpointer:
    end_silence_s: float = 1.0
    early_end_silence_s: float = 1.0  # used once `complete` is set; at most end_silence_s
    no_speech_timeout_s: float = 8.0
    max_utterance_s: float = 30.0
    start_speech_s: float = 0.15  # this much speech (in a row) before we believe it
    pre_roll_s: float = 0.3
    vad_mode: int = Vad.MEDIUM_STRICT
    min_rms: float = 100.0  # about -50 dBFS: quieter is never speech
    state: State = field(default="waiting", init=False)

    def __post_init__(self) -> None:
        self._frames = SpeechFrames(self.vad_mode, self.min_rms)
        self._frame_bytes = self._frames.frame_bytes
        self._frame_s = self._frames.frame_s
        self._pending = b""
        self._frames_seen = 0
        self._speech_run = 0
        self._silence_run = 0
        self._pre: deque[bytes] = deque(maxlen=max(1, round(self.pre_roll_s / self._frame_s)))
        self._utt: list[bytes] = []
        self._start_frame = 0
        self.complete = False  # set by the caller: what was said so far is a whole question it understands

    @property
    def done(self) -> bool:
        return self.state in ("ended", "timeout")

    def feed(self, pcm: bytes) -> State:
        """Add audio of any length; returns the state after it. Extra audio after the end is ignored."""
        self._pending += pcm
        n = len(self._pending) // self._frame_bytes * self._frame_bytes
        frames, self._pending = self._pending[:n], self._pending[n:]
        for i in range(0, n, self._frame_bytes):
            if self.done:
                break
            self._step(frames[i : i + self._frame_bytes])
        return self.state

    def _step(self, frame: bytes) -> None:
        self._frames_seen += 1
        speech = self._frames.is_speech(frame)
        if self.state == "waiting":
            self._pre.append(frame)
            self._speech_run = self._speech_run + 1 if speech else 0
            if self._speech_run * self._frame_s >= self.start_speech_s:
                self.state = "speech"
                self._utt = list(self._pre)
                self._start_frame = self._frames_seen - len(self._pre)
            elif self._frames_seen * self._frame_s >= self.no_speech_timeout_s:
                self.state = "timeout"
            return
        self._utt.append(frame)
        if speech:
            self._silence_run = 0
            self.complete = False  # they went on talking: whatever was understood is not the whole question
        else:
            self._silence_run += 1
        wait_s = min(self.early_end_silence_s, self.end_silence_s) if self.complete else self.end_silence_s
        if self._silence_run * self._frame_s >= wait_s or len(self._utt) * self._frame_s >= self.max_utterance_s:
            self.state = "ended"

    def result(self) -> Utterance | NoSpeech:
        if self.state in ("speech", "ended"):
            return Utterance(b"".join(self._utt), self._start_frame * self._frame_s)
        return NoSpeech(self._frames_seen * self._frame_s)


async def capture_utterance(chunks: AsyncIterator[bytes], endpointer: Endpointer) -> Utterance | NoSpeech:
    """Read 16 kHz mono int16 chunks until the endpointer decides; works with a mic or a fake.

    If the source ends mid-utterance, what was heard so far is returned.
    """
    async for chunk in chunks:
        if endpointer.feed(chunk) in ("ended", "timeout"):
            break
    return endpointer.result()
