"""Logging at the HTTP boundary: a client's malformed request is its mistake, not our traceback."""

from __future__ import annotations

import logging
import time

from aiohttp.http_exceptions import HttpProcessingError

AIOHTTP_SERVER = "aiohttp.server"


class ClientMistakes(logging.Filter):
    """aiohttp logs a full traceback for every request it cannot parse (a negative Content-Length, an
    8 KB URL...): a thousand bad requests were a thousand tracebacks. Each becomes one warning line,
    at most one every `every_s` seconds, saying how many were not shown."""

    def __init__(self, every_s: float = 10.0) -> None:
        super().__init__()
        self.every_s = every_s
        self._last = -float("inf")
        self._hidden = 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        now = time.monotonic()
        if now - self._last < self.every_s:
            self._hidden += 1
            return False
        what = (exc.message or type(exc).__name__).strip().splitlines()[0][:120]
        more = f" ({self._hidden} more since the last one not shown)" if self._hidden else ""
        self._last, self._hidden = now, 0
        record.msg, record.args = "malformed HTTP request refused with 400: %s%s", (what, more)
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_client_mistakes() -> None:
    """Install the filter once per process."""
    logger = logging.getLogger(AIOHTTP_SERVER)
    if not any(isinstance(f, ClientMistakes) for f in logger.filters):
        logger.addFilter(ClientMistakes())
