"""A scriptable engine for service tests. It runs inside worker processes, so the test steers it
through files in a control folder: `closed` holds every decode until removed, `fail_next` makes
the next decode raise (once)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from skill.stt.base import FinalResult, PartialResult

GATE_WAIT_S = 30.0


@dataclass(frozen=True)
class FakeSpec:
    control: Path

    def build(self) -> FakeEngine:
        return FakeEngine(self.control)


class FakeEngine:
    name = "fake"

    def __init__(self, control: Path) -> None:
        self.control = control
        control.mkdir(parents=True, exist_ok=True)

    # -- steering, from the test ------------------------------------------------------------

    def close_gate(self) -> None:
        (self.control / "closed").touch()

    def open_gate(self) -> None:
        (self.control / "closed").unlink(missing_ok=True)

    def fail_next(self) -> None:
        (self.control / "fail_next").touch()

    # -- the engine, inside a worker --------------------------------------------------------

    def spec(self) -> FakeSpec:
        return FakeSpec(self.control)

    def new_recognizer(self) -> FakeRecognizer:
        return FakeRecognizer(self)

    def transcribe(self, pcm: bytes) -> FinalResult:
        rec = self.new_recognizer()
        rec.accept(pcm)
        return rec.finish()

    def decode_step(self) -> None:
        deadline = time.monotonic() + GATE_WAIT_S
        while (self.control / "closed").exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        flag = self.control / "fail_next"
        if flag.exists():
            flag.unlink(missing_ok=True)
            raise RuntimeError("engine exploded")


class FakeRecognizer:
    def __init__(self, engine: FakeEngine) -> None:
        self.engine = engine

    def accept(self, pcm: bytes) -> PartialResult | None:
        self.engine.decode_step()
        return PartialResult(text="x")

    def finish(self) -> FinalResult:
        return FinalResult(text="ok", confidence=1.0, in_domain=True, engine="fake")
