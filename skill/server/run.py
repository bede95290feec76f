"""`serve(settings, skill)`: HTTP + WebSocket + Alexa and Wyoming together, until cancelled."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from skill.app import Skill
from skill.config import Settings
from skill.errors import ConfigError
from skill.settings.server import ServerSettings, is_loopback

from . import keys
from .hermes import start_hermes
from .http import create_app
from .logs import quiet_client_mistakes
from .metrics import Metrics
from .slow_clients import AppRunner
from .wyoming_server import WyomingServer, start_wyoming

log = logging.getLogger(__name__)


def check_exposure(settings: ServerSettings) -> None:
    """Refuse to start an unauthenticated server that is reachable from other machines."""
    if not is_loopback(settings.host) and settings.token is None:
        raise ConfigError(
            f"[server] host = {settings.host!r} is reachable from other machines: set [server] token "
            "(at least 16 characters; clients send 'Authorization: Bearer <token>'), or bind 127.0.0.1"
        )
    if not is_loopback(settings.host) and not settings.alexa_verify and settings.alexa_enabled:
        log.warning("alexa_verify = false on a non-loopback host: /alexa then requires the bearer token")
    wy_host = settings.effective_wyoming_host()
    if settings.wyoming_enabled and not is_loopback(wy_host) and not settings.wyoming_open:
        raise ConfigError(
            f"Wyoming would listen on {wy_host!r}, but the Wyoming protocol has no authentication: "
            'set [server] wyoming_open = true to accept that, or wyoming_host = "127.0.0.1"'
        )


@dataclass
class Running:
    """Servers started by `start_servers`; `stop()` shuts them down gracefully."""

    runner: web.AppRunner
    http_port: int
    wyoming: WyomingServer | None
    metrics: Metrics
    extras: list[Any] = field(default_factory=list)
    hermes: asyncio.Task[None] | None = None

    @property
    def wyoming_port(self) -> int | None:
        return self.wyoming.bound_port if self.wyoming else None

    async def stop(self) -> None:
        if self.hermes is not None:
            self.hermes.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.hermes
        for extra in self.extras:  # zeroconf first: stop advertising before we stop answering
            with contextlib.suppress(Exception):
                await extra.async_close()
        if self.wyoming is not None:
            await self.wyoming.stop()
        await self.runner.cleanup()  # closes sites, open WebSockets, cancels background tasks


async def start_servers(settings: Settings, skill: Skill, **app_options: Any) -> Running:
    server = settings.server
    check_exposure(server)
    await skill.sessions.open()  # a configured Redis that cannot be reached: one line, exit 2
    quiet_client_mistakes()
    metrics = Metrics()
    app = create_app(settings, skill, metrics=metrics, **app_options)
    runner = AppRunner(
        app,
        head_timeout_s=server.head_timeout_s,
        access_log=None,
        shutdown_timeout=5.0,
        handle_signals=False,
        keepalive_timeout=server.keepalive_timeout_s,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, server.host, server.port)
        await site.start()
        http_port = _bound_port(runner)
        shares = app[keys.PER_CLIENT]
        limiter = app[keys.LIMITER]
        wyoming = await start_wyoming(skill, server, metrics, shares, limiter) if server.wyoming_enabled else None
    except BaseException:
        await runner.cleanup()
        raise
    running = Running(runner, http_port, wyoming, metrics)
    if settings.mqtt.enabled:
        try:
            running.hermes = await start_hermes(skill, settings.mqtt, app[keys.ENGINES])
        except BaseException:
            await running.stop()
            raise
    if server.zeroconf and wyoming is not None:
        running.extras.append(await _advertise(server, wyoming.bound_port))
    log.info("serving HTTP on %s:%d, Wyoming on %s", server.host, http_port, running.wyoming_port)
    return running


async def serve(settings: Settings, skill: Skill) -> None:
    """Run until cancelled (the CLI cancels on Ctrl-C / SIGTERM), then shut down gracefully.
    The skill belongs to the caller, who closes it afterwards."""
    running = await start_servers(settings, skill)
    try:
        await asyncio.Event().wait()
    finally:
        await asyncio.shield(running.stop())


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise RuntimeError("HTTP server has no TCP address")


async def _advertise(settings: ServerSettings, port: int) -> Any:
    try:
        from wyoming.zeroconf import HomeAssistantZeroconf  # imports the optional `zeroconf` package
    except ImportError:
        raise ConfigError("[server] zeroconf = true needs the `zeroconf` package (pip install zeroconf)") from None
    host = settings.effective_wyoming_host()
    zc = HomeAssistantZeroconf(port=port, name=settings.zeroconf_name, host=None if host in ("0.0.0.0", "::") else host)
    await zc.register_server()
    return zc._aiozc  # the AsyncZeroconf to close on shutdown
