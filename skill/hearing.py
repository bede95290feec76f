"""The recognizer stage: spoken questions -> transcripts, decoding off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from .errors import AudioError
from .events import AudioCancel, AudioChunk, AudioEnd, AudioQuery, Event, Transcript
from .stt.base import FinalResult
from .stt.service import SpeechService, SpeechStream


def transcript_of(session: str, result: FinalResult) -> Transcript:
    return Transcript(
        session=session,
        text=result.text,
        final=True,
        confidence=result.confidence,
        in_domain=result.in_domain,
        heard_also=result.heard_also,
    )


class Recognizer:
    """A whole utterance, or chunks then an end, become one final transcript (partials on the way).

    The speech service is loaded on first use, so text-only work never pays for a model.
    """

    def __init__(self, speech: Callable[[], Awaitable[SpeechService]]) -> None:
        self._speech = speech
        self._streams: dict[str, SpeechStream] = {}

    async def process(self, event: Event) -> AsyncIterator[Event]:
        if isinstance(event, AudioQuery):
            if not event.pcm:  # a WAV with a header and no samples: the client's mistake, not the engine's
                raise AudioError("the audio has no samples")
            service = await self._speech()
            yield transcript_of(event.session, await service.transcribe(event.pcm))
        elif isinstance(event, AudioChunk):
            stream = self._streams.get(event.session)
            if stream is None:
                stream = self._streams[event.session] = (await self._speech()).open_stream()
            try:
                partial = await stream.feed(event.pcm)
            except BaseException:
                await self.cancel(event.session)
                raise
            if partial is not None and partial.text:
                yield Transcript(session=event.session, text=partial.text, final=False, settled=partial.settled)
        elif isinstance(event, AudioCancel):
            await self.cancel(event.session)  # consumed: nothing follows an abandoned utterance
        elif isinstance(event, AudioEnd):
            stream = self._streams.pop(event.session, None)
            if stream is None:
                raise AudioError("audio ended before any audio arrived")
            try:
                result = await stream.finish()
            finally:
                await stream.aclose()
            yield transcript_of(event.session, result)
        else:
            yield event

    async def cancel(self, session: str) -> None:
        """Free a session's decoder (doors send AudioCancel through the pipeline for this)."""
        stream = self._streams.pop(session, None)
        if stream is not None:
            await asyncio.shield(stream.aclose())
