"""A deadline for a request's head: a client dribbling its headers a byte at a time is cut off.

aiohttp bounds idle keep-alive connections and (through our middleware) bodies, but not the time a
head takes to arrive, so 300 such clients could hold 300 connections for as long as they liked. Here
the runner's request handler starts a clock at a connection's first byte of each head (and when it
opens) and closes the connection if the head is not complete when the clock runs out.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


class _HeadDeadline(web.RequestHandler):
    head_timeout_s: float = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and data:
            self._arm()  # the first byte of the next request on a kept-alive connection
        before = self._request_count
        super().data_received(data)
        if self._request_count > before or self._upgraded:
            self._disarm()  # the head is complete (or the connection became a WebSocket)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = asyncio.get_running_loop().call_later(self.head_timeout_s, self._too_slow)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _too_slow(self) -> None:
        self._head_timer = None
        log.info("closed a connection whose request head took over %.1f s", self.head_timeout_s)
        if self.transport is not None:
            self.transport.close()


class _Server(web.Server):
    head_timeout_s: float = 10.0

    def __call__(self) -> web.RequestHandler:
        handler = _HeadDeadline(self, loop=self._loop, **self._kwargs)
        handler.head_timeout_s = self.head_timeout_s
        return handler


class AppRunner(web.AppRunner):
    """web.AppRunner whose connections must send each request head within `head_timeout_s`."""

    def __init__(self, app: web.Application, *, head_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._head_timeout_s = head_timeout_s

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _Server  # same state, a handler that keeps the deadline
        server.head_timeout_s = self._head_timeout_s  # type: ignore[attr-defined]
        return server
