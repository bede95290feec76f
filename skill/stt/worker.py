"""A speech worker process: `python -m skill.stt.worker`, started and owned by process.py.

It reads a Start frame (an EngineSpec), builds the engine once, answers Ready, then serves Calls
one at a time, in order, each with exactly one Done or Failed. It holds any number of
recognizers, keyed by the service's stream ids. It exits at the end of its input.

Frames go to a private copy of the original stdout; fd 1 is pointed at stderr, so anything an
engine library prints cannot corrupt the protocol.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import BinaryIO

from skill.stt.base import Recognizer, SpeechEngine
from skill.stt.wire import (
    Accept,
    Call,
    Done,
    Drop,
    Failed,
    Finish,
    Open,
    Ready,
    Reply,
    Start,
    StartFailed,
    Transcribe,
    encode,
    read_frame,
)


class Session:
    """One engine and the open recognizers of the streams pinned to this worker."""

    def __init__(self, engine: SpeechEngine) -> None:
        self.engine = engine
        self.recognizers: dict[int, Recognizer] = {}

    def handle(self, call: Call) -> Reply:
        req = call.request
        try:
            if isinstance(req, Transcribe):
                return Done(call.id, self.engine.transcribe(req.pcm))
            if isinstance(req, Open):
                self.recognizers[req.stream] = self.engine.new_recognizer()
                return Done(call.id, None)
            if isinstance(req, Drop):
                self.recognizers.pop(req.stream, None)
                return Done(call.id, None)
            rec = self.recognizers.get(req.stream)
            if rec is None:
                return Failed(call.id, f"no open utterance for stream {req.stream} in this worker")
            if isinstance(req, Accept):
                return Done(call.id, rec.accept(req.pcm))
            if isinstance(req, Finish):
                del self.recognizers[req.stream]
                return Done(call.id, rec.finish())
            return Failed(call.id, f"unknown request {type(req).__name__}")
        except Exception as exc:  # noqa: BLE001 - reported to the service as RecognitionError
            # The recognizer is in an unknown state: the stream ends, its state goes too.
            if isinstance(req, Accept | Finish):
                self.recognizers.pop(req.stream, None)
            return Failed(call.id, _message(exc))


def _message(exc: Exception) -> str:
    text = getattr(exc, "message", None) or str(exc)
    return text if text else type(exc).__name__


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    def send(reply: Reply) -> None:
        out.write(encode(reply))
        out.flush()

    start = read_frame(inp)
    if not isinstance(start, Start):
        send(StartFailed(f"expected a Start frame, got {type(start).__name__}"))
        return
    t0 = time.perf_counter()
    try:
        engine = start.spec.build()
    except Exception as exc:  # noqa: BLE001 - the service raises it as an error of its own
        send(StartFailed(_message(exc)))
        return
    send(Ready(pid=os.getpid(), load_s=time.perf_counter() - t0))
    session = Session(engine)
    while (call := read_frame(inp)) is not None:
        if not isinstance(call, Call):
            raise SystemExit(f"speech worker: unexpected frame {type(call).__name__}")
        send(session.handle(call))


def main() -> None:
    # Ctrl-C or a service manager signals the whole process group; the parent shuts us down through
    # the pipe (and EOF ends us if it dies), so a signal here would only turn a clean stop into a failure.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    try:
        serve(sys.stdin.buffer, out)
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # the service went away or is shutting down: nobody to answer
    finally:
        with contextlib.suppress(BrokenPipeError):
            out.close()


if __name__ == "__main__":
    main()
