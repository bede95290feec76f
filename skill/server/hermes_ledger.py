"""Requests in hand, kept in Redis until answered, so that a survivor answers those of an instance that died.

mosquitto 2.0 drops the messages of a shared subscription in flight to a member that dies, so with a
ledger every instance reads every request, and one with a free hand takes it: `take` writes the request
into Redis under its name, only if no instance has, and the taker answers and strikes it off. Every
instance beats a heartbeat key; each second every instance looks for entries whose owner's heartbeat has
stopped, and one survivor (a lock decides) answers them. Delivery is at least once: an instance that died
after answering but before striking its entry off has its answer given again, with the same request id,
for the client to drop. The same Redis holds which site a dialogue session belongs to, so any instance
can carry on a dialogue.
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

LEASE_S = 3.0  # a heartbeat older than this: the instance is gone
GRACE_S = 1.0  # an entry younger than this is never taken over (its owner has only just written it)
CLAIM_S = 600  # how long an answered message's name is kept (an instance reading it late must not answer it)
ENTRY_S = 300  # a request not answered within this is given up, even by survivors
DIALOGUE_S = 3600  # a dialogue session's site is forgotten after an hour without use
TIMEOUT_S = 1.0
DONE = "done"
# Take a message: write its entry only if no one has (its name is the key), and index it, atomically.
_TAKE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
  redis.call('EXPIRE', KEYS[2], ARGV[2])
  return 1
end
return 0
"""


@dataclass(frozen=True)
class Entry:
    id: str
    topic: str
    payload: bytes
    pcm: bytes | None  # the audio a stop-listening request was for (only its receiver heard all of it)


class Ledger:
    def __init__(self, url: str, prefix: str = "b12:") -> None:
        from redis import asyncio as aioredis

        self.me = uuid.uuid4().hex[:12]
        self._p = f"{prefix}hermes:"
        self._client: Any = aioredis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)

    async def close(self) -> None:
        await self._client.aclose()

    async def beat(self) -> None:
        await self._client.set(f"{self._p}alive:{self.me}", "1", px=int(LEASE_S * 1000))

    async def take(self, key: str, topic: str, payload: bytes, pcm: bytes | None = None) -> bool:
        """Take the message named `key` and write it down, in one step: whether this instance is the one
        to answer it (false: another took it, now or before). A taken message stays named after it is
        answered, so an instance reading it late does not answer it again."""
        record = {
            "owner": self.me,
            "at": time.time(),
            "topic": topic,
            "payload": base64.b64encode(payload).decode(),
            "pcm": base64.b64encode(pcm).decode() if pcm is not None else None,
        }
        # The entry (with any audio or words in it) expires on its own: nothing outlives ENTRY_S, even with
        # no instance left to strike it off; the index holds names only, and goes when idle too.
        taken = await self._client.eval(
            _TAKE, 2, f"{self._p}entry:{key}", f"{self._p}entries", json.dumps(record), ENTRY_S, record["at"], key
        )
        return bool(taken)

    async def strike(self, key: str) -> None:
        """Answered: the audio and words go; the name stays a while (see `take`)."""
        async with self._client.pipeline(transaction=True) as batch:
            batch.set(f"{self._p}entry:{key}", DONE, ex=CLAIM_S)
            batch.zrem(f"{self._p}entries", key)
            await batch.execute()

    async def orphans(self) -> list[Entry]:
        """Entries of instances whose heartbeat stopped, each now owned by this instance (taken atomically)."""
        now = time.time()
        keys = await self._client.zrangebyscore(f"{self._p}entries", "-inf", now - GRACE_S)
        taken = []
        for raw_key in keys:
            key = raw_key.decode() if isinstance(raw_key, bytes) else str(raw_key)
            raw = await self._client.get(f"{self._p}entry:{key}")
            if raw is None or raw in (DONE, DONE.encode()):  # expired, or answered meanwhile
                await self._client.zrem(f"{self._p}entries", key)
                continue
            record = json.loads(raw)
            if record["owner"] == self.me or await self._client.exists(f"{self._p}alive:{record['owner']}"):
                continue
            if not await self._client.set(f"{self._p}take:{key}:{record['owner']}", self.me, nx=True, ex=CLAIM_S):
                continue  # another survivor took it
            record |= {"owner": self.me, "at": now}
            await self._client.set(f"{self._p}entry:{key}", json.dumps(record), ex=ENTRY_S)
            pcm = base64.b64decode(record["pcm"]) if record.get("pcm") is not None else None
            taken.append(Entry(key, record["topic"], base64.b64decode(record["payload"]), pcm))
        return taken

    async def dialogue_site(self, session: str) -> str | None:
        site = await self._client.get(f"{self._p}dialogue:{session}")
        return site.decode() if isinstance(site, bytes) else site

    async def hold_dialogue(self, session: str, site: str) -> None:
        await self._client.set(f"{self._p}dialogue:{session}", site, ex=DIALOGUE_S)

    async def drop_dialogue(self, session: str) -> None:
        await self._client.delete(f"{self._p}dialogue:{session}")
