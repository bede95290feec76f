"""The streaming doors' shared audio handling: frames split across pieces, formats, the length limit."""

from __future__ import annotations

import numpy as np
import pytest

from skill.audio.pcm import PcmFormat
from skill.server.streamed_audio import TooLong, Utterance, chunks


def tone(rate: int, seconds: float, channels: int = 1) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    mono = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    return np.repeat(mono[:, None], channels, axis=1).tobytes()


def test_a_frame_split_across_pieces_waits_for_its_rest() -> None:
    stereo = PcmFormat(sample_rate=16000, sample_width=2, channels=2)
    audio = tone(16000, 0.1, channels=2)  # 4 bytes a frame
    utterance = Utterance(10.0, stereo)
    out = [utterance.feed(audio[i : i + 7]) for i in range(0, len(audio), 7)]  # 7: never a whole frame
    assert len(b"".join(out)) == len(audio) // 2  # every frame arrived, as mono
    assert utterance.seconds == pytest.approx(0.1)


def test_other_formats_become_16k_mono() -> None:
    utterance = Utterance(10.0)
    pcm = utterance.feed(tone(48000, 0.5), PcmFormat(sample_rate=48000, sample_width=2, channels=1))
    assert len(pcm) == 16000 and utterance.seconds == pytest.approx(0.5)
    again = utterance.feed(b"\0" * 3, PcmFormat(sample_rate=16000, sample_width=2, channels=1))
    assert again == b"\0\0"  # a new format: the old part-frame is dropped, the new one starts clean


def test_the_length_limit_ends_the_utterance_and_reset_starts_afresh() -> None:
    utterance = Utterance(0.25)
    utterance.feed(tone(16000, 0.2))
    with pytest.raises(TooLong, match=r"longer than 0.25 s"):
        utterance.feed(tone(16000, 0.1))
    utterance.reset()
    assert len(utterance.feed(tone(16000, 0.2))) == 6400


def test_outgoing_chunks_never_split_a_sample() -> None:
    pcm = bytes(range(256)) * 40
    pieces = list(chunks(pcm, 1001))
    assert b"".join(pieces) == pcm and all(len(p) % 2 == 0 and len(p) <= 1000 for p in pieces)


def test_a_dropped_utterance_takes_nothing_until_reset() -> None:
    utterance = Utterance(10.0)
    utterance.feed(b"\0")  # half a frame waiting
    utterance.drop()
    assert utterance.dropped and utterance.feed(tone(16000, 0.1)) == b""
    utterance.reset()
    assert not utterance.dropped and len(utterance.feed(tone(16000, 0.1))) == 3200  # the old half-frame is gone
