"""The service <-> worker wire format, and the worker's request handling, in-process."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fake_engine import FakeEngine, FakeSpec

from skill.audio.pcm import TARGET_RATE
from skill.stt.base import SAMPLE_RATE, FinalResult, PartialResult, Word
from skill.stt.wire import (
    Accept,
    Call,
    Done,
    Drop,
    Failed,
    Finish,
    FrameError,
    Open,
    Ready,
    Start,
    StartFailed,
    Transcribe,
    encode,
    read_frame,
)
from skill.stt.worker import Session, serve

RESULT = FinalResult(
    text="can b twelve make me ache",
    words=(Word(word="can", start=0.1, end=0.3),),
    confidence=0.8,
    in_domain=True,
    engine="pocketsphinx",
    alternatives=("a",),
    audio_s=1.5,
)


def test_sample_rate_matches_the_audio_module() -> None:
    assert SAMPLE_RATE == TARGET_RATE


@pytest.mark.parametrize(
    "message",
    [
        Start(FakeSpec(Path("/tmp/x"))),
        Call(1, Open(7)),
        Call(2, Accept(7, b"\x01\x00" * 100)),
        Call(3, Finish(7)),
        Call(4, Drop(7)),
        Call(5, Transcribe(b"")),
        Ready(pid=42, load_s=0.1),
        StartFailed("no model"),
        Done(3, RESULT),
        Done(2, PartialResult(text="can")),
        Done(1, None),
        Failed(9, "engine exploded"),
    ],
)
def test_every_message_round_trips(message: object) -> None:
    stream = io.BytesIO(encode(message) + encode(message))
    assert read_frame(stream) == message
    assert read_frame(stream) == message
    assert read_frame(stream) is None


def test_truncated_and_oversized_frames_are_errors() -> None:
    frame = encode(Call(1, Open(1)))
    with pytest.raises(FrameError, match="inside a frame"):
        read_frame(io.BytesIO(frame[:-1]))
    with pytest.raises(FrameError, match="header"):
        read_frame(io.BytesIO(frame[:2]))
    with pytest.raises(FrameError, match="limit"):
        read_frame(io.BytesIO(b"\xff\xff\xff\xff"))
    with pytest.raises(FrameError, match="unreadable"):
        read_frame(io.BytesIO(b"\x00\x00\x00\x03abc"))


def test_session_keeps_recognizers_per_stream(tmp_path: Path) -> None:
    engine = FakeEngine(tmp_path)
    session = Session(engine)
    assert session.handle(Call(1, Open(1))) == Done(1, None)
    assert session.handle(Call(2, Accept(1, b"\0\0"))) == Done(2, PartialResult(text="x"))
    reply = session.handle(Call(3, Finish(1)))
    assert isinstance(reply, Done) and isinstance(reply.value, FinalResult)
    assert session.recognizers == {}
    unknown = session.handle(Call(4, Accept(1, b"\0\0")))
    assert isinstance(unknown, Failed) and "no open utterance" in unknown.error


def test_a_failed_call_ends_only_that_stream(tmp_path: Path) -> None:
    engine = FakeEngine(tmp_path)
    session = Session(engine)
    session.handle(Call(1, Open(1)))
    session.handle(Call(2, Open(2)))
    engine.fail_next()
    assert session.handle(Call(3, Accept(1, b"\0\0"))) == Failed(3, "engine exploded")
    assert list(session.recognizers) == [2]


def test_serve_answers_in_order_and_stops_at_end_of_input(tmp_path: Path) -> None:
    inp = io.BytesIO(
        encode(Start(FakeSpec(tmp_path))) + encode(Call(1, Transcribe(b"\0\0"))) + encode(Call(2, Finish(5)))
    )
    out = io.BytesIO()
    serve(inp, out)
    out.seek(0)
    assert isinstance(read_frame(out), Ready)
    assert read_frame(out) == Done(1, FinalResult(text="ok", confidence=1.0, in_domain=True, engine="fake"))
    reply = read_frame(out)
    assert isinstance(reply, Failed) and reply.id == 2
    assert read_frame(out) is None
