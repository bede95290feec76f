"""Conversations by session id, expiring after an idle time and bounded in number."""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from handlers import Conversation


class SessionStore:
    """Owned by the event loop: no locks, every call is synchronous and quick."""

    def __init__(self, idle_timeout_s: float, max_sessions: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._idle = idle_timeout_s
        self._max = max_sessions
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, Conversation]] = OrderedDict()

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex[:16]

    def get(self, session_id: str) -> Conversation:
        """The live conversation, or a fresh one when it never existed or went idle too long."""
        entry = self._items.get(session_id)
        if entry is None or self._clock() - entry[0] > self._idle:
            return Conversation(id=session_id)
        return entry[1]

    def put(self, conversation: Conversation) -> None:
        self._items[conversation.id] = (self._clock(), conversation)
        self._items.move_to_end(conversation.id)
        self._expire()

    def end(self, session_id: str) -> None:
        self._items.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._items)

    def _expire(self) -> None:
        now = self._clock()
        # Oldest first: stop at the first one still fresh.
        while self._items:
            sid, (seen, _) = next(iter(self._items.items()))
            if now - seen <= self._idle and len(self._items) <= self._max:
                break
            del self._items[sid]
