"""Every typed key of the aiohttp application, in one place."""

from __future__ import annotations

from aiohttp import web

from skill.app import Skill
from skill.config import Settings

from .alexa.verify import RequestVerifier
from .limits import PerClient, RateLimiter, StreamSlots
from .metrics import EngineStatus, Metrics

SETTINGS = web.AppKey("settings", Settings)
SKILL = web.AppKey("skill", Skill)
METRICS = web.AppKey("metrics", Metrics)
ENGINES = web.AppKey("engines", EngineStatus)
LIMITER = web.AppKey("limiter", RateLimiter)
STREAMS = web.AppKey("streams", StreamSlots)
PER_CLIENT = web.AppKey("per_client", PerClient)
ALEXA_VERIFIER = web.AppKey("alexa_verifier", RequestVerifier)
