"""The speaker stage: every answer is followed by its spoken form."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from .events import Answer, Event, SpokenAnswer
from .tts import Speech


class Speaker:
    def __init__(self, speak: Callable[[str, int | None], Awaitable[Speech]], sample_rate: int | None) -> None:
        self._speak = speak
        self._rate = sample_rate

    async def process(self, event: Event) -> AsyncIterator[Event]:
        yield event
        if isinstance(event, Answer):
            speech = await self._speak(event.text, self._rate)
            yield SpokenAnswer(
                session=event.session, wav=speech.wav, sample_rate=speech.sample_rate, duration=speech.duration
            )
