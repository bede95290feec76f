"""Conversations by session id, expiring after an idle time and bounded in number.

Two stores behind one interface: in this process's memory (the default, one machine), or in Redis
(`[sessions] backend = "redis"`) so that a follow-up reaching any skill instance continues the
conversation. Both are asynchronous, so the pipeline awaits either the same way.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from handlers import Conversation


def new_session_id() -> str:
    return uuid.uuid4().hex[:16]


class Sessions(Protocol):
    name: str

    async def open(self) -> None:
        """Check the store can be reached (raises ConfigError with one line when it cannot)."""

    async def get(self, session_id: str) -> Conversation:
        """The live conversation, or a fresh one when it never existed, went idle, or cannot be read."""

    async def put(self, conversation: Conversation) -> None: ...

    async def end(self, session_id: str) -> None: ...

    async def count(self) -> int: ...

    @property
    def trouble(self) -> str | None:
        """Why follow-ups are not remembered right now (None: all well)."""

    async def close(self) -> None: ...


class SessionStore:
    """In this process's memory. Owned by the event loop: no locks, no awaits inside."""

    name = "memory"
    new_id = staticmethod(new_session_id)

    def __init__(self, idle_timeout_s: float, max_sessions: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._idle = idle_timeout_s
        self._max = max_sessions
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, Conversation]] = OrderedDict()

    async def open(self) -> None:
        pass

    async def get(self, session_id: str) -> Conversation:
        entry = self._items.get(session_id)
        if entry is None or self._clock() - entry[0] > self._idle:
            return Conversation(id=session_id)
        return entry[1]

    async def put(self, conversation: Conversation) -> None:
        self._items[conversation.id] = (self._clock(), conversation)
        self._items.move_to_end(conversation.id)
        self._expire()

    async def end(self, session_id: str) -> None:
        self._items.pop(session_id, None)

    async def count(self) -> int:
        return len(self._items)

    @property
    def trouble(self) -> str | None:
        return None

    async def close(self) -> None:
        pass

    def _expire(self) -> None:
        now = self._clock()
        # Oldest first: stop at the first one still fresh.
        while self._items:
            sid, (seen, _) = next(iter(self._items.items()))
            if now - seen <= self._idle and len(self._items) <= self._max:
                break
            del self._items[sid]
