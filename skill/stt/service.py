"""Run speech engines off the event loop, with admission control, timeouts and recovery.

- Every engine call runs on a small thread pool (max_concurrent_decodes workers), so at most
  that many decodes use the CPU at once and the event loop never blocks.
- Admission: at most max_concurrent_decodes + max_queued_decodes requests/streams are in flight;
  beyond that, OverloadedError at once rather than an ever-growing queue.
- A call that exceeds decode_timeout_s raises RecognitionError. Python cannot kill the worker
  thread, so its recognizer is abandoned (never reused) and the thread finishes on its own.
- A recognizer whose call raised is discarded too; the next request gets a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

from skill.audio.pcm import TARGET_RATE
from skill.errors import AudioError, OverloadedError, RecognitionError, SkillError
from skill.stt.base import FinalResult, PartialResult, Recognizer, SpeechEngine
from skill.stt.settings import SttSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


class SpeechService:
    def __init__(self, engine: SpeechEngine, settings: SttSettings) -> None:
        self.engine = engine
        self.settings = settings
        self._executor = ThreadPoolExecutor(
            max_workers=settings.max_concurrent_decodes, thread_name_prefix="stt"
        )
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    async def transcribe(self, pcm16k: bytes) -> FinalResult:
        """Recognize one whole utterance of 16 kHz mono int16 PCM."""
        self._check_length(len(pcm16k))
        self._admit()
        try:
            rec = await self._call(self.engine.new_recognizer)
            await self._call(lambda: rec.accept(pcm16k))
            return await self._call(rec.finish)
        finally:
            self._release()

    def open_stream(self) -> SpeechStream:
        """Start a streaming recognition; use as `async with service.open_stream() as s:`."""
        self._admit()
        return SpeechStream(self)

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def __aenter__(self) -> SpeechService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _admit(self) -> None:
        limit = self.settings.max_concurrent_decodes + self.settings.max_queued_decodes
        if self._in_flight >= limit:
            raise OverloadedError(f"speech recognizer is busy ({self._in_flight} requests in flight)")
        self._in_flight += 1

    def _release(self) -> None:
        self._in_flight -= 1

    def _check_length(self, n_bytes: int) -> None:
        seconds = n_bytes / 2 / TARGET_RATE
        if seconds > self.settings.max_audio_s:
            raise AudioError(
                f"audio is too long: {seconds:.1f} s (limit {self.settings.max_audio_s:g} s)"
            )

    async def _call(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(
                loop.run_in_executor(self._executor, fn), self.settings.decode_timeout_s
            )
        except TimeoutError as exc:
            raise RecognitionError(
                f"{self.engine.name} did not answer within {self.settings.decode_timeout_s:g} s"
            ) from exc
        except SkillError:
            raise
        except Exception as exc:  # an engine bug must become our error, not a crash
            log.exception("%s engine call failed", self.engine.name)
            raise RecognitionError(f"{self.engine.name} failed: {exc}") from exc


class SpeechStream:
    """One utterance fed chunk by chunk. Calls are serialized; the stream holds one admission slot."""

    def __init__(self, service: SpeechService) -> None:
        self._service = service
        self._rec: Recognizer | None = None
        self._lock = asyncio.Lock()
        self._bytes = 0
        self._closed = False
        self.last_partial: PartialResult | None = None

    async def feed(self, pcm16k: bytes) -> PartialResult | None:
        async with self._lock:
            self._ensure_open()
            self._bytes += len(pcm16k)
            self._service._check_length(self._bytes)
            rec = await self._recognizer()
            try:
                partial = await self._service._call(lambda: rec.accept(pcm16k))
            except SkillError:
                # The recognizer is in an unknown state and earlier audio cannot be replayed:
                # end this stream; the caller opens a new one.
                self._rec = None
                self._close()
                raise
            if partial is not None:
                self.last_partial = partial
            return partial

    async def finish(self) -> FinalResult:
        async with self._lock:
            self._ensure_open()
            rec = await self._recognizer()
            try:
                return await self._service._call(rec.finish)
            finally:
                self._rec = None
                self._close()

    async def aclose(self) -> None:
        self._close()

    async def __aenter__(self) -> SpeechStream:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._close()

    async def _recognizer(self) -> Recognizer:
        if self._rec is None:
            self._rec = await self._service._call(self._service.engine.new_recognizer)
        return self._rec

    def _ensure_open(self) -> None:
        if self._closed:
            raise RecognitionError("speech stream is already finished")

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._service._release()
