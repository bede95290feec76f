"""The network front doors: HTTP + WebSocket + Alexa (aiohttp) and Wyoming.

Public API:
    serve(settings, skill)            run everything until cancelled (`b12-skill serve`)
    start_servers(settings, skill)    start and return a Running handle (tests, embedding)
    create_app(settings, skill=None)  the aiohttp application alone
    skill.server.alexa.model.main     the Alexa interaction model CLI (`b12-skill alexa-model`)
"""

from __future__ import annotations

from .http import create_app
from .run import Running, check_exposure, serve, start_servers

__all__ = ["Running", "check_exposure", "create_app", "serve", "start_servers"]
