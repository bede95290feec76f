"""Audio that arrives and leaves in pieces, the same for every streaming door (WebSocket, Wyoming).

In: pieces of one utterance in any supported PCM format become 16 kHz mono int16; a frame split across
two pieces waits for the rest, and the utterance's length limit is checked here. Out: an answer's PCM
cut into chunks of a whole number of samples.
"""

from __future__ import annotations

from collections.abc import Iterator

from skill.audio.pcm import PCM16K_MONO, PcmFormat, decode_raw, pcm_seconds
from skill.errors import AudioError


class TooLong(AudioError):
    """The utterance passed its length limit; the rest of it is dropped."""


class Utterance:
    def __init__(self, max_seconds: float, fmt: PcmFormat = PCM16K_MONO) -> None:
        self.max_seconds = max_seconds
        self.fmt = fmt
        self.seconds = 0.0
        self.dropped = False  # too long or failed: the rest of it is dropped, its one error already said
        self._leftover = b""

    def feed(self, data: bytes, fmt: PcmFormat | None = None) -> bytes:
        """The whole frames so far as 16 kHz mono int16 (b"" while a frame is still incomplete, or once the
        utterance is dropped). A new `fmt` (a Wyoming chunk names its own) drops any part-frame of the old one."""
        if self.dropped:
            return b""
        if fmt is not None and fmt != self.fmt:
            self.fmt, self._leftover = fmt, b""
        data = self._leftover + data
        usable = len(data) - len(data) % self.fmt.frame_bytes
        self._leftover = data[usable:]
        if not usable:
            return b""
        pcm = decode_raw(data[:usable], self.fmt)  # small pieces: cheap enough for the event loop
        self.seconds += pcm_seconds(pcm)
        if self.seconds > self.max_seconds:
            raise TooLong(f"utterance longer than {self.max_seconds:g} s; it was dropped")
        return pcm

    def drop(self) -> None:
        """Ignore the rest of this utterance, until reset (the door's next start or end)."""
        self.dropped, self._leftover = True, b""

    def reset(self) -> None:
        self.seconds, self.dropped, self._leftover = 0.0, False, b""


def chunks(pcm: bytes, size: int) -> Iterator[bytes]:
    """`pcm` (int16) in pieces of at most `size` bytes, never splitting a sample."""
    size -= size % 2
    for i in range(0, len(pcm), size):
        yield pcm[i : i + size]
