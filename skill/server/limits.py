"""Per-client request rate (token buckets), per-client shares of concurrent work, and a cap on
concurrent audio streams."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aiohttp import web

from skill.errors import OverloadedError

from .errors import RateLimited, SessionBusy


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
            raise SessionBusy(f"session {session!r} already has an audio stream open")
        self._sessions.add(session)
        try:
            yield
        finally:
            self._sessions.discard(session)


UTTERANCES = "utterances"  # in the recognizer: one share across every door that hears speech


class PerClient:
    """How many of one kind of long-running work (streams, listens, connections) each client address
    has open: one client may take its share, never the whole server."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], int] = {}

    def acquire(self, kind: str, client: str, limit: int) -> bool:
        key = (kind, client)
        if self._open.get(key, 0) >= limit:
            return False
        self._open[key] = self._open.get(key, 0) + 1
        return True

    def release(self, kind: str, client: str) -> None:
        key = (kind, client)
        left = self._open.get(key, 0) - 1
        if left > 0:
            self._open[key] = left
        else:
            self._open.pop(key, None)

    def claim(self, kind: str, client: str, limit: int) -> None:
        """`acquire`, or the client is told it has its share already."""
        if not self.acquire(kind, client, limit):
            raise OverloadedError(f"this client already has {limit} {kind} open, its share; try again shortly")

    @contextmanager
    def hold(self, kind: str, client: str, limit: int) -> Iterator[None]:
        self.claim(kind, client, limit)
        try:
            yield
        finally:
            self.release(kind, client)


class ClientShare:
    """One holder's claim on a client's share of one kind of work (an utterance on a connection
    that hears many): taken at most once while held, and given back at most once."""

    def __init__(self, shares: PerClient, kind: str, client: str, limit: int) -> None:
        self._shares, self._kind, self._client, self._limit = shares, kind, client, limit
        self.held = False

    def take(self) -> None:
        if not self.held:
            self._shares.claim(self._kind, self._client, self._limit)
            self.held = True

    def give_back(self) -> None:
        if self.held:
            self.held = False
            self._shares.release(self._kind, self._client)
