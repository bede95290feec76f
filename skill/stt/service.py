"""Run speech engines in worker processes, with admission control, timeouts and recovery.

- A pool of max_concurrent_decodes long-lived worker processes (process.py), each loading the
  engine once from its spec, so at most that many decodes use a CPU at once and the event loop
  only moves frames through pipes. They start as soon as the service is created (in a running
  loop), so the first question does not wait for a model load.
- A stream is pinned to one worker (its recognizer lives there); new streams and whole
  utterances go to the least-loaded worker.
- Admission: at most max_concurrent_decodes + max_queued_decodes requests/streams are in flight;
  beyond that, OverloadedError at once rather than an ever-growing queue.
- A call that exceeds decode_timeout_s raises RecognitionError; its worker is killed. A worker
  that dies or is killed is replaced on next use; streams it held fail with RecognitionError
  (their audio cannot be replayed), and the next request works.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from types import TracebackType

from skill.errors import AudioError, OverloadedError, RecognitionError
from skill.settings.stt import SttSettings
from skill.stt.base import SAMPLE_RATE, EngineRef, FinalResult, PartialResult
from skill.stt.process import WorkerFailed, WorkerHung, WorkerProcess
from skill.stt.wire import Accept, Done, Drop, Finish, Open, Request, Transcribe

log = logging.getLogger(__name__)


class SpeechService:
    def __init__(self, engine: EngineRef, settings: SttSettings) -> None:
        self.engine = engine
        self.settings = settings
        spec = engine.spec()
        self._workers = [WorkerProcess(spec, f"stt-worker-{i}") for i in range(settings.max_concurrent_decodes)]
        self._stream_ids = itertools.count(1)
        self._in_flight = 0
        self._closed = False
        self._idle = asyncio.Event()  # set while nothing is in flight
        self._idle.set()
        self._warmup: asyncio.Task[None] | None = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            pass  # created outside a loop: workers start on first use instead
        else:
            self._warmup = loop.create_task(self._start_all(), name="stt-warmup")

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def worker_pids(self) -> list[int]:
        """Running worker process ids (tests kill them to check recovery)."""
        return [pid for w in self._workers if (pid := w.pid) is not None]

    async def transcribe(self, pcm16k: bytes) -> FinalResult:
        """Recognize one whole utterance of 16 kHz mono int16 PCM."""
        self._check_length(len(pcm16k))
        self._admit()
        worker = self._pick()
        worker.load += 1
        try:
            await self._ensure_started(worker)
            result = await self._call(worker, Transcribe(pcm16k))
        finally:
            worker.load -= 1
            self._release()
        if not isinstance(result, FinalResult):
            raise RecognitionError(f"{self.engine.name} worker sent {type(result).__name__}, not a result")
        return result

    def open_stream(self) -> SpeechStream:
        """Start a streaming recognition; use as `async with service.open_stream() as s:`."""
        self._admit()
        return SpeechStream(self, next(self._stream_ids), self._pick())

    async def aclose(self) -> None:
        """Stop the workers; requests still running fail with RecognitionError."""
        self._closed = True
        if self._warmup is not None:
            self._warmup.cancel()
            await asyncio.gather(self._warmup, return_exceptions=True)
        await asyncio.gather(*(w.close() for w in self._workers))

    async def __aenter__(self) -> SpeechService:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- internals (used by SpeechStream too) -----------------------------------------------

    async def _start_all(self) -> None:
        # The first worker alone, then the rest once no request is running: starting them all at
        # once on a 2-CPU machine put the first result at ~0.8 s instead of ~0.45 s (their imports
        # compete with the first decode). A request that finds no idle worker starts one itself.
        first, *rest = self._workers
        results = list(await asyncio.gather(first.ensure_started(), return_exceptions=True))
        await self._idle.wait()
        results += await asyncio.gather(*(w.ensure_started() for w in rest), return_exceptions=True)
        for r in results:
            if isinstance(r, Exception):  # the first request retries and reports it
                log.warning("speech worker did not start: %s", r)

    def _pick(self) -> WorkerProcess:
        # Least loaded; among equals, one already running (a fresh start costs ~0.3 s).
        return min(self._workers, key=lambda w: (w.load, not w.alive))

    def _admit(self) -> None:
        if self._closed:
            raise RecognitionError("the speech service is closed")
        limit = self.settings.max_concurrent_decodes + self.settings.max_queued_decodes
        if self._in_flight >= limit:
            raise OverloadedError(f"speech recognizer is busy ({self._in_flight} requests in flight)")
        self._in_flight += 1
        self._idle.clear()

    def _release(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    def _check_length(self, n_bytes: int) -> None:
        seconds = n_bytes / 2 / SAMPLE_RATE
        if seconds > self.settings.max_audio_s:
            raise AudioError(f"audio is too long: {seconds:.1f} s (limit {self.settings.max_audio_s:g} s)")

    async def _ensure_started(self, worker: WorkerProcess) -> None:
        if self._closed:
            raise RecognitionError("the speech service is closed")
        try:
            await worker.ensure_started()
        except WorkerFailed as exc:
            raise RecognitionError(f"{self.engine.name}: {exc}") from exc

    async def _call(self, worker: WorkerProcess, request: Request) -> PartialResult | FinalResult | None:
        name, timeout = self.engine.name, self.settings.decode_timeout_s
        try:
            reply = await worker.call(request, timeout)
        except WorkerHung as exc:
            raise RecognitionError(f"{name} did not answer within {timeout:g} s (worker restarted)") from exc
        except WorkerFailed as exc:
            raise RecognitionError(f"{name} failed: {exc}") from exc
        if not isinstance(reply, Done):
            raise RecognitionError(f"{name} failed: {reply.error}")
        return reply.value


class SpeechStream:
    """One utterance fed chunk by chunk, on one worker. Calls are serialized; the stream holds
    one admission slot until it is finished or closed, or until its audio stops coming: no audio for
    `stream_idle_s`, or more wall time than `max_audio_s + stream_idle_s` (a trickle of tiny frames
    would otherwise hold the slot for hours), and the slot is freed whatever else the client sends."""

    def __init__(self, service: SpeechService, stream_id: int, worker: WorkerProcess) -> None:
        self._service = service
        self._id = stream_id
        self._worker = worker
        self._generation: int | None = None  # the worker's generation when our recognizer opened
        self._lock = asyncio.Lock()
        self._bytes = 0
        self._closed = False
        self._expired: str | None = None  # why the watchdog dropped it
        self.last_partial: PartialResult | None = None
        worker.load += 1
        settings = service.settings
        loop = asyncio.get_running_loop()
        self._idle_timer = loop.call_later(settings.stream_idle_s, self._expire, "no audio")
        self._life_timer = loop.call_later(
            settings.max_audio_s + settings.stream_idle_s, self._expire, "audio arriving slower than it is spoken"
        )

    async def feed(self, pcm16k: bytes) -> PartialResult | None:
        async with self._lock:
            self._ensure_open()
            self._bytes += len(pcm16k)
            self._service._check_length(self._bytes)
            if pcm16k:  # the idle clock runs while we wait for the client, not while we decode
                self._idle_timer.cancel()
            try:
                partial = await self._run(Accept(self._id, pcm16k))
            finally:
                if pcm16k and not self._closed:
                    self._idle_timer = asyncio.get_running_loop().call_later(
                        self._service.settings.stream_idle_s, self._expire, "no audio"
                    )
            if partial is not None and not isinstance(partial, PartialResult):
                self._close()
                raise RecognitionError(f"speech worker sent {type(partial).__name__}, not a partial")
            if partial is not None:
                self.last_partial = partial
            return partial

    async def finish(self) -> FinalResult:
        async with self._lock:
            self._ensure_open()
            try:
                result = await self._run(Finish(self._id))
            finally:
                self._generation = None  # the worker forgets the stream once it answers
                self._close()
            if not isinstance(result, FinalResult):
                raise RecognitionError(f"speech worker sent {type(result).__name__}, not a result")
            return result

    async def aclose(self) -> None:
        self._abandon()

    async def __aenter__(self) -> SpeechStream:
        return self

    async def __aexit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def _run(self, request: Request) -> PartialResult | FinalResult | None:
        """One call for this stream. On any failure the stream ends: the recognizer is gone or in an
        unknown state, and earlier audio cannot be replayed; the caller opens a new stream."""
        service, worker = self._service, self._worker
        try:
            if self._generation is None:
                await service._ensure_started(worker)
                self._generation = worker.generation
                await service._call(worker, Open(self._id))
            elif self._generation != worker.generation or not worker.alive:
                raise RecognitionError(
                    f"{service.engine.name} worker stopped during this utterance; please say it again"
                )
            return await service._call(worker, request)
        except BaseException:
            self._abandon()
            raise

    def _ensure_open(self) -> None:
        if self._expired is not None:
            raise RecognitionError(f"the utterance was dropped ({self._expired}); please say it again")
        if self._closed:
            raise RecognitionError("speech stream is already finished")

    def _expire(self, why: str) -> None:
        if not self._closed:
            log.info("speech stream %d dropped: %s", self._id, why)
            self._expired = why
            self._abandon()

    def _abandon(self) -> None:
        """Close without a final result; the worker frees the recognizer (no reply awaited)."""
        if not self._closed and self._generation == self._worker.generation:
            self._worker.notify(Drop(self._id))
        self._close()

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._idle_timer.cancel()
            self._life_timer.cancel()
            self._worker.load -= 1
            self._service._release()
