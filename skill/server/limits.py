"""Per-client request rate (token buckets) and a cap on concurrent audio streams."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aiohttp import web

from skill.errors import OverloadedError

from .errors import Busy, RateLimited


class RateLimiter:
    """One token bucket per client address; the least recently seen clients are forgotten first."""

    def __init__(
        self, per_minute: float, burst: int, max_clients: int = 10000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = per_minute / 60.0
        self._burst = float(burst)
        self._max = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, when)

    def check(self, client: str) -> None:
        now = self._clock()
        tokens, seen = self._buckets.pop(client, (self._burst, now))
        tokens = min(self._burst, tokens + (now - seen) * self._rate)
        if tokens < 1.0:
            self._buckets[client] = (tokens, now)
            wait = (1.0 - tokens) / self._rate
            raise RateLimited(f"too many requests from this client; retry in {wait:.1f} s", wait)
        self._buckets[client] = (tokens - 1.0, now)
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)


class StreamSlots:
    """At most `limit` live audio streams, and one stream per session at a time
    (the recognizer keys its decoder by session id)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._sessions: set[str] = set()
        self.sockets: set[web.WebSocketResponse] = set()  # open WebSockets, closed on shutdown

    def __len__(self) -> int:
        return len(self._sessions)

    @contextmanager
    def hold(self, session: str) -> Iterator[None]:
        if len(self._sessions) >= self.limit:
            raise OverloadedError(f"too many audio streams open ({self.limit}); try again shortly")
        if session in self._sessions:
            raise Busy(f"session {session!r} already has an audio stream open")
        self._sessions.add(session)
        try:
            yield
        finally:
            self._sessions.discard(session)
