"""Run events through stages. A stage takes one event and yields the events that follow.

Events a stage does not handle pass through unchanged, so a stage knows nothing of
who is before or after it. Errors become `Failed` events here, at one boundary:
a bad request ends as a clear error and the next request works.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from .errors import InputError, SkillError
from .events import Answer, Event, Failed, TextQuery

log = logging.getLogger(__name__)


class Stage(Protocol):
    def process(self, event: Event) -> AsyncIterator[Event]: ...


class Pipeline:
    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = tuple(stages)

    async def run(self, event: Event) -> AsyncIterator[Event]:
        """Every event that comes out of the last stage, in order."""
        try:
            async for out in self._through(event, 0):
                yield out
        except SkillError as exc:
            yield Failed(session=event.session, code=exc.code, message=exc.message)
        except Exception:  # a bug must not take the server down with it
            log.exception("pipeline failed on %s", event.type)
            yield Failed(
                session=event.session, code="internal_error", message="internal error; the request was not answered"
            )

    async def _through(self, event: Event, index: int) -> AsyncIterator[Event]:
        if index == len(self.stages):
            yield event
            return
        async for out in self.stages[index].process(event):
            async for final in self._through(out, index + 1):
                yield final

    async def drain(self, event: Event) -> list[Event]:
        """Run an event for its effect (an AudioCancel); whatever came out, errors included."""
        return [out async for out in self.run(event)]

    async def final(self, event: Event) -> Answer | Failed:
        """Run one event and keep only its answer (or the error)."""
        result: Answer | Failed = Failed(session=event.session, code=InputError.code, message="no answer was produced")
        async for out in self.run(event):
            if isinstance(out, Answer | Failed):
                result = out
        return result

    async def ask(self, text: str, session: str) -> Answer | Failed:
        """The text path: one question in, its answer (or the error) out."""
        return await self.final(TextQuery(session=session, text=text))
