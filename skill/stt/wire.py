"""Messages between the speech service and its worker processes, and how they are framed.

A frame is a 4-byte big-endian length, then a pickle. Both ends are this package, run by our own
interpreter over private pipes, so pickle is safe here and keeps results typed (FinalResult).
Imports stay light (stdlib only): the worker reads frames before it loads any engine.
"""

from __future__ import annotations

import pickle
import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from skill.stt.base import EngineSpec, FinalResult, PartialResult

HEADER = struct.Struct(">I")
MAX_FRAME = 1 << 28  # 256 MiB: far above max_audio_s of PCM; a larger length is a garbled pipe


class FrameError(Exception):
    """The byte stream is not a valid frame (truncated, too long, or not our pickle)."""


# -- requests (service -> worker) -------------------------------------------------------------


@dataclass(frozen=True)
class Start:
    """First frame on a new worker: what to load."""

    spec: EngineSpec


@dataclass(frozen=True)
class Open:
    stream: int


@dataclass(frozen=True)
class Accept:
    stream: int
    pcm: bytes


@dataclass(frozen=True)
class Finish:
    stream: int


@dataclass(frozen=True)
class Drop:
    """Forget a stream that will not be finished (the client went away)."""

    stream: int


@dataclass(frozen=True)
class Transcribe:
    pcm: bytes


Request = Open | Accept | Finish | Drop | Transcribe


@dataclass(frozen=True)
class Call:
    id: int
    request: Request


# -- replies (worker -> service) --------------------------------------------------------------


@dataclass(frozen=True)
class Ready:
    pid: int
    load_s: float  # time to build the engine inside the worker


@dataclass(frozen=True)
class StartFailed:
    error: str


@dataclass(frozen=True)
class Done:
    id: int
    value: PartialResult | FinalResult | None


@dataclass(frozen=True)
class Failed:
    id: int
    error: str


Reply = Ready | StartFailed | Done | Failed


def encode(message: object) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


def decode(body: bytes) -> object:
    try:
        return pickle.loads(body)  # noqa: S301 - our own child process, over a private pipe
    except Exception as exc:  # unpickling can raise almost anything on garbage
        raise FrameError(f"unreadable frame: {type(exc).__name__}: {exc}") from exc


def frame_length(header: bytes) -> int:
    (n,) = HEADER.unpack(header)
    if n > MAX_FRAME:
        raise FrameError(f"frame of {n} bytes is over the {MAX_FRAME}-byte limit")
    return int(n)


def read_frame(stream: BinaryIO) -> object | None:
    """Blocking read for the worker side; None at a clean end of input."""
    header = stream.read(HEADER.size)
    if not header:
        return None
    if len(header) < HEADER.size:
        raise FrameError("input ended inside a frame header")
    n = frame_length(header)
    body = stream.read(n)
    if len(body) < n:
        raise FrameError("input ended inside a frame")
    return decode(body)
