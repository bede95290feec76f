"""Conversations in Redis, shared by every skill instance: a follow-up may reach any of them.

Each conversation is one JSON value under `<prefix>session:<id>` whose Redis TTL is the idle
timeout, so nothing outlives it; a sorted set `<prefix>sessions` (id -> last seen) bounds their
number as the in-memory store does. When Redis cannot be reached the skill still answers, only
without follow-up memory, and says so in /healthz; it tries Redis again after a back-off that
doubles up to 30 s, so a Redis that went away is picked up again without a restart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from handlers import Conversation

from .errors import ConfigError

log = logging.getLogger(__name__)

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 30.0
TIMEOUT_S = 1.0  # a Redis that does not answer within this is treated as down


def _redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}{sep}{rest}"


class RedisSessions:
    name = "redis"

    def __init__(
        self,
        url: str,
        idle_timeout_s: float,
        max_sessions: int,
        prefix: str = "b12:",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        try:
            from redis import asyncio as aioredis
        except ImportError as exc:
            raise ConfigError('[sessions] backend = "redis" needs the `redis` package (pip install redis)') from exc
        self._url = url
        self._idle = idle_timeout_s
        self._ttl = max(1, round(idle_timeout_s))
        self._max = max_sessions
        self._prefix = prefix
        self._index = f"{prefix}sessions"
        self._clock = clock
        self._client: Any = aioredis.from_url(
            url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S, decode_responses=True
        )
        self._trouble: str | None = None
        self._retry_at = 0.0
        self._backoff = FIRST_BACKOFF_S

    @property
    def trouble(self) -> str | None:
        return self._trouble

    async def open(self) -> None:
        from redis.exceptions import RedisError

        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            raise ConfigError(f"[sessions] cannot reach Redis at {_redacted(self._url)}: {_reason(exc)}") from None

    async def get(self, session_id: str) -> Conversation:
        raw = await self._call(lambda c: c.get(self._key(session_id)))
        if not isinstance(raw, str):
            return Conversation(id=session_id)
        try:
            return Conversation.model_validate_json(raw)
        except ValidationError:  # written by another version of the skill: start afresh
            return Conversation(id=session_id)

    async def put(self, conversation: Conversation) -> None:
        now = time.time()

        async def write(c: Any) -> None:
            async with c.pipeline(transaction=True) as pipe:
                pipe.set(self._key(conversation.id), conversation.model_dump_json(), ex=self._ttl)
                pipe.zadd(self._index, {conversation.id: now})
                pipe.zremrangebyscore(self._index, "-inf", now - self._idle)
                pipe.zcard(self._index)
                *_, size = await pipe.execute()
            if size > self._max:  # the least recently used go, as in memory
                dropped = await c.zpopmin(self._index, size - self._max)
                if dropped:
                    await c.delete(*(self._key(sid) for sid, _ in dropped))

        await self._call(write)

    async def end(self, session_id: str) -> None:
        async def forget(c: Any) -> None:
            async with c.pipeline(transaction=True) as pipe:
                pipe.delete(self._key(session_id))
                pipe.zrem(self._index, session_id)
                await pipe.execute()

        await self._call(forget)

    async def count(self) -> int:
        n = await self._call(lambda c: c.zcount(self._index, time.time() - self._idle, "+inf"))
        return int(n) if isinstance(n, int) else 0

    async def close(self) -> None:
        await self._client.aclose()

    def _key(self, session_id: str) -> str:
        return f"{self._prefix}session:{session_id}"

    async def _call(self, op: Callable[[Any], Any]) -> Any:
        """Run one Redis operation; on failure note it, back off, and carry on without Redis."""
        from redis.exceptions import RedisError

        if self._trouble is not None and self._clock() < self._retry_at:
            return None
        try:
            result = await op(self._client)
        except (RedisError, OSError) as exc:
            if self._trouble is None:
                log.warning(
                    "Redis at %s unreachable, answering without follow-up memory: %s", _redacted(self._url), exc
                )
            else:
                self._backoff = min(self._backoff * 2, MAX_BACKOFF_S)
            self._trouble = f"Redis unreachable ({_reason(exc)}): follow-ups are not remembered"
            self._retry_at = self._clock() + self._backoff
            return None
        if self._trouble is not None:
            log.warning("Redis at %s is back", _redacted(self._url))
            self._trouble, self._backoff = None, FIRST_BACKOFF_S
        return result


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
