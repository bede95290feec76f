"""The entry `b12-skill run` uses when a microphone is present."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from skill.app import Skill
from skill.settings.handsfree import HandsFreeSettings

from .events import Answered, BargeIn, HandsFreeEvent, Heard, StateChanged, Trouble, WakeHeard
from .loop import HandsFree, OnEvent
from .player import DevicePlayer, Player

log = logging.getLogger(__name__)


def log_event(event: HandsFreeEvent) -> None:
    """The default `on_state`: one readable log line per event that matters to a person."""
    if isinstance(event, StateChanged):
        log.info("[%s]", event.state)
    elif isinstance(event, WakeHeard):
        log.info("wake phrase heard: %r", event.phrase)
    elif isinstance(event, Heard):
        log.info("heard: %r", event.text)
    elif isinstance(event, Answered):
        log.info("answer (%s, facts %s): %s", event.answer.intent, ", ".join(event.answer.facts), event.answer.text)
    elif isinstance(event, BargeIn):
        log.info("stopped by %r", event.phrase)
    elif isinstance(event, Trouble):
        log.warning("%s: %s", event.code, event.message)


async def run_handsfree(
    skill: Skill,
    settings: HandsFreeSettings,
    chunks: AsyncIterator[bytes],
    player: Player | None = None,
    on_state: OnEvent | None = None,
) -> None:
    """Listen for the wake phrase on `chunks` (16 kHz mono int16; `microphone_chunks()` in real use)
    and answer until the stream ends or the caller cancels. Loads the recognizer first, so the
    first question is not slow."""
    await skill.speech()
    loop = HandsFree(skill, settings, player or DevicePlayer(), on_state or log_event)
    log.info("hands-free: say %r, then your question", settings.wake_phrase)
    await loop.run(chunks)
