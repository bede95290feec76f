"""Counters, latency histograms and gauges, written out in the Prometheus text format by hand."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    n: int = 0

    def observe(self, seconds: float) -> None:
        self.n += 1
        self.total += seconds
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.counts[i] += 1


@dataclass
class EngineStatus:
    """What /healthz says about the engines; filled in by the start-up preload task."""

    stt_loaded: bool = False
    stt_note: str = ""
    stt_error: str | None = None
    tts_loaded: bool = False
    tts_error: str | None = None
    mqtt: str = "off"  # "off", "connected", or "reconnecting" (the Hermes door's broker connection)
    mqtt_error: str | None = None


class Metrics:
    """Owned by the event loop: plain ints, no locks."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()  # (door, route, status)
        self.errors: Counter[tuple[str, str]] = Counter()  # (door, code)
        self.stages: dict[str, Histogram] = {}
        self.in_flight = 0  # HTTP requests being handled
        self.active_streams = 0  # WebSocket audio streams
        self.wyoming_connections = 0

    def request(self, door: str, route: str, status: int) -> None:
        self.requests[(door, route, status)] += 1

    def error(self, door: str, code: str) -> None:
        self.errors[(door, code)] += 1

    def observe(self, stage: str, seconds: float) -> None:
        self.stages.setdefault(stage, Histogram()).observe(seconds)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.observe(stage, time.perf_counter() - start)

    def render(self, sessions_up: bool = True) -> str:
        """`sessions_up`: whether the conversation store answers (false while a shared Redis is away)."""
        out = [
            "# HELP b12_requests_total Requests handled, by door, route and status.",
            "# TYPE b12_requests_total counter",
        ]
        for (door, route, status), n in sorted(self.requests.items()):
            out.append(f'b12_requests_total{{door="{door}",route="{_esc(route)}",status="{status}"}} {n}')
        out += ["# HELP b12_errors_total Errors returned, by door and code.", "# TYPE b12_errors_total counter"]
        for (door, code), n in sorted(self.errors.items()):
            out.append(f'b12_errors_total{{door="{door}",code="{_esc(code)}"}} {n}')
        out += [
            "# HELP b12_stage_seconds Latency per stage (decode, recognize, answer, speak, request).",
            "# TYPE b12_stage_seconds histogram",
        ]
        for stage, h in sorted(self.stages.items()):
            for bound, count in zip(BUCKETS, h.counts, strict=True):
                out.append(f'b12_stage_seconds_bucket{{stage="{stage}",le="{bound:g}"}} {count}')
            out.append(f'b12_stage_seconds_bucket{{stage="{stage}",le="+Inf"}} {h.n}')
            out.append(f'b12_stage_seconds_sum{{stage="{stage}"}} {h.total:.6f}')
            out.append(f'b12_stage_seconds_count{{stage="{stage}"}} {h.n}')
        for name, value, text in (
            ("b12_in_flight_requests", self.in_flight, "HTTP requests being handled."),
            ("b12_active_streams", self.active_streams, "WebSocket audio streams open."),
            ("b12_wyoming_connections", self.wyoming_connections, "Wyoming connections open."),
            ("b12_sessions_store_up", int(sessions_up), "1 while the conversation store answers, else 0."),
        ):
            out += [f"# HELP {name} {text}", f"# TYPE {name} gauge", f"{name} {value}"]
        return "\n".join(out) + "\n"


def _esc(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
