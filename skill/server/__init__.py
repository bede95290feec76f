"""The network front doors: HTTP + WebSocket + Alexa (aiohttp) and Wyoming.

Public API:
    serve(settings, skill)            run everything until cancelled (`b12-skill serve`)
    start_servers(settings, skill)    start and return a Running handle (tests, embedding)
    create_app(settings, skill=None)  the aiohttp application alone
    skill.server.alexa.model.main     the Alexa interaction model CLI (`b12-skill alexa-model`)

skill.config imports skill.server.settings, so this package must not import skill.app at import
time: everything else is loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skill.app import Skill
    from skill.config import Settings

    from .http import create_app
    from .run import Running, check_exposure, start_servers

_LAZY = {"create_app": ".http", "Running": ".run", "check_exposure": ".run", "start_servers": ".run"}


async def serve(settings: Settings, skill: Skill) -> None:
    from .run import serve as run_serve

    await run_serve(settings, skill)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Running", "check_exposure", "create_app", "serve", "start_servers"]
