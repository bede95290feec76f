"""The connection handler: a deadline for each request's head, and JSON for requests too broken to route.

aiohttp bounds idle keep-alive connections and (through our middleware) bodies, but not the time a
head takes to arrive, so 300 such clients could hold 300 connections for as long as they liked. Here
the runner's request handler starts a clock at a connection's first byte of each head (and when it
opens) and closes the connection if the head is not complete when the clock runs out.

A request line or header aiohttp cannot parse never reaches the app's error middleware: aiohttp
answers it itself, in plain text that echoes the client's bytes. Here it gets the same JSON error
body as every other refusal, with a short reason and none of the bytes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import http_exceptions, web
from aiohttp.web_request import BaseRequest

from .schemas import ErrorBody

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

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        super().handle_error(request, status, exc, message)  # logs it (one line for client mistakes: logs.py)
        if status >= 500:
            body = ErrorBody(code="internal_error", message="the server could not handle this request")
        else:
            body = ErrorBody(code="bad_request", message=f"malformed HTTP request: {_reason(exc)}")
        response = web.Response(status=status, text=body.model_dump_json(), content_type="application/json")
        response.force_close()
        return response

    def _too_slow(self) -> None:
        self._head_timer = None
        log.info("closed a connection whose request head took over %.1f s", self.head_timeout_s)
        if self.transport is not None:
            self.transport.close()


def _reason(exc: BaseException | None) -> str:
    if isinstance(exc, http_exceptions.LineTooLong):
        return "a request line or header is too long"
    if isinstance(exc, http_exceptions.BadHttpMethod):
        return "not an HTTP request method"
    if isinstance(exc, http_exceptions.InvalidHeader):
        return "a header is not valid"
    if isinstance(exc, http_exceptions.BadStatusLine):
        return "the request line is not valid"
    return "the request line or a header is not valid"


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
