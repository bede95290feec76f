"""Requests in hand, kept in Redis until answered, so that a survivor answers those of an instance that died.

An MQTT broker hands a QoS 1 message to one member of a shared subscription and forgets it once that
member has it (mosquitto does not give an in-flight message to another member when one goes away),
so the door writes each request it takes into the ledger before working on it and strikes it off
when it has answered. Every instance beats a heartbeat key; each second every instance looks for
entries whose owner's heartbeat has stopped, and one of them (a lock decides which) takes the entry
over and answers it. Delivery is at least once: an instance that died after answering but before
striking the entry off has its answer given again, with the same request id, for the client to
drop. The same Redis holds which site a dialogue session belongs to, so any instance can carry on
a dialogue, and claims that let exactly one instance act on a message every instance receives.
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
CLAIM_S = 600  # how long "this instance acts on that message" is remembered (claims are named per message)
ENTRY_S = 300  # a request not answered within this is given up, even by survivors
DIALOGUE_S = 3600  # a dialogue session's site is forgotten after an hour without use
TIMEOUT_S = 1.0


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

    async def write(self, topic: str, payload: bytes, pcm: bytes | None = None) -> str:
        entry_id = uuid.uuid4().hex
        record = {
            "owner": self.me,
            "at": time.time(),
            "topic": topic,
            "payload": base64.b64encode(payload).decode(),
            "pcm": base64.b64encode(pcm).decode() if pcm is not None else None,
        }
        # Each entry (with any audio or words in it) expires on its own: nothing outlives ENTRY_S, even
        # with no instance left to strike it off; the index holds ids only, and goes when idle too.
        async with self._client.pipeline(transaction=True) as batch:
            batch.set(f"{self._p}entry:{entry_id}", json.dumps(record), ex=ENTRY_S)
            batch.zadd(f"{self._p}entries", {entry_id: record["at"]})
            batch.expire(f"{self._p}entries", ENTRY_S)
            await batch.execute()
        return entry_id

    async def strike(self, entry_id: str) -> None:
        async with self._client.pipeline(transaction=True) as batch:
            batch.delete(f"{self._p}entry:{entry_id}")
            batch.zrem(f"{self._p}entries", entry_id)
            await batch.execute()

    async def orphans(self) -> list[Entry]:
        """Entries of instances whose heartbeat stopped, each now owned by this instance (taken atomically)."""
        now = time.time()
        ids = await self._client.zrangebyscore(f"{self._p}entries", "-inf", now - GRACE_S)
        taken = []
        for raw_id in ids:
            entry_id = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
            raw = await self._client.get(f"{self._p}entry:{entry_id}")
            if raw is None:  # expired or struck off meanwhile
                await self._client.zrem(f"{self._p}entries", entry_id)
                continue
            record = json.loads(raw)
            if record["owner"] == self.me or await self._client.exists(f"{self._p}alive:{record['owner']}"):
                continue
            if not await self._client.set(f"{self._p}take:{entry_id}:{record['owner']}", self.me, nx=True, ex=CLAIM_S):
                continue  # another survivor took it
            record |= {"owner": self.me, "at": now}
            await self._client.set(f"{self._p}entry:{entry_id}", json.dumps(record), ex=ENTRY_S)
            pcm = base64.b64decode(record["pcm"]) if record.get("pcm") is not None else None
            taken.append(Entry(entry_id, record["topic"], base64.b64decode(record["payload"]), pcm))
        return taken

    async def claim(self, key: str) -> bool:
        """Whether this instance is the one to act on a message every instance received."""
        return bool(await self._client.set(f"{self._p}claim:{key}", self.me, nx=True, ex=CLAIM_S))

    async def dialogue_site(self, session: str) -> str | None:
        site = await self._client.get(f"{self._p}dialogue:{session}")
        return site.decode() if isinstance(site, bytes) else site

    async def hold_dialogue(self, session: str, site: str) -> None:
        await self._client.set(f"{self._p}dialogue:{session}", site, ex=DIALOGUE_S)

    async def drop_dialogue(self, session: str) -> None:
        await self._client.delete(f"{self._p}dialogue:{session}")
