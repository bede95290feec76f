"""Async client of one speech worker process (worker.py): start, call, time out, kill, restart.

Processes rather than threads: pocketsphinx holds the GIL while it decodes (end_utt ~60 ms, long
process_raw calls longer), which stalled the event loop even from a thread pool. Here the loop
only moves frames through pipes (asyncio streams, never blocking), and a hung engine call can
be ended by killing its process, which a thread cannot.

Replies are matched to calls by id; a reply whose caller gave up (cancelled) is dropped.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import sys

from skill.stt.base import EngineSpec
from skill.stt.wire import (
    HEADER,
    Call,
    Done,
    Failed,
    FrameError,
    Ready,
    Request,
    Start,
    StartFailed,
    decode,
    encode,
    frame_length,
)

log = logging.getLogger(__name__)

START_TIMEOUT_S = 60.0  # a large vosk model can take tens of seconds to load
STOP_GRACE_S = 0.5  # after closing stdin, how long an idle worker gets to exit on its own
STDERR_LINES = 20


class WorkerFailed(Exception):
    """The worker died, hung, or could not start. It has been (or is being) stopped."""


class WorkerHung(WorkerFailed):
    """No reply within the timeout; the worker was killed."""


class WorkerProcess:
    def __init__(self, spec: EngineSpec, name: str = "stt-worker") -> None:
        self._spec = spec
        self.name = name
        self._proc: asyncio.subprocess.Process | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pending: dict[int, asyncio.Future[Done | Failed]] = {}
        self._next_id = 0
        self._start_lock = asyncio.Lock()
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._failure = ""
        self._closed = False  # after close(), never start again
        self.generation = 0  # +1 per start: a stream pinned to an older generation has lost its state
        self.load = 0  # streams pinned here plus whole-utterance calls running here (for placement)
        self.load_s = 0.0  # engine build time reported by the current process

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self.alive and self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None and not self._failure

    async def ensure_started(self) -> None:
        async with self._start_lock:  # concurrent first callers share one start
            if self._closed:
                raise WorkerFailed("the speech service is closed")
            if not self.alive:
                await self._start()

    async def close(self) -> None:
        self._closed = True
        await self.stop()

    async def call(self, request: Request, timeout_s: float) -> Done | Failed:
        proc = self._proc
        if proc is None or proc.stdin is None or not self.alive:
            raise WorkerFailed(self._failure or "the worker is not running")
        self._next_id += 1
        rid = self._next_id
        fut: asyncio.Future[Done | Failed] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            proc.stdin.write(encode(Call(rid, request)))
            async with asyncio.timeout(timeout_s):
                await proc.stdin.drain()
                return await fut
        except TimeoutError:
            await self._fail(f"no answer within {timeout_s:g} s; the worker was killed")
            raise WorkerHung(self._failure) from None
        except ConnectionError as exc:
            await self._fail(f"lost the pipe to the worker: {exc}")
            raise WorkerFailed(self._failure + self._tail()) from None
        finally:
            self._pending.pop(rid, None)

    def notify(self, request: Request) -> None:
        """Send without waiting for the reply (it will be dropped): for Drop on abandoned streams."""
        proc = self._proc
        if proc is not None and proc.stdin is not None and self.alive:
            self._next_id += 1
            proc.stdin.write(encode(Call(self._next_id, request)))

    async def stop(self) -> None:
        """End the process: close its input (it exits when idle), kill it if it does not, reap it."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                await asyncio.wait_for(asyncio.shield(proc.wait()), STOP_GRACE_S)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        self._fail_pending(WorkerFailed("the speech service is closing"))
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- internals --------------------------------------------------------------------------

    async def _start(self) -> None:
        await self.stop()
        self._failure = ""
        self._stderr.clear()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            # pydantic scans every installed package's entry points for plugins (~35 ms per
            # start); the worker needs none.
            "PYDANTIC_DISABLE_PLUGINS": os.environ.get("PYDANTIC_DISABLE_PLUGINS", "1"),
        }
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "skill.stt.worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,  # the parent's sys.path, so the spec's classes import the same way
            )
        except OSError as exc:
            raise WorkerFailed(f"cannot start a speech worker: {exc}") from exc
        self._proc = proc
        self.generation += 1
        self._tasks = [asyncio.create_task(self._drain_stderr(proc), name=f"{self.name}-stderr")]
        assert proc.stdin is not None and proc.stdout is not None  # noqa: S101 - always piped
        try:
            proc.stdin.write(encode(Start(self._spec)))
            async with asyncio.timeout(START_TIMEOUT_S):
                await proc.stdin.drain()
                ready = await _read_reply(proc.stdout)
        except (TimeoutError, ConnectionError, EOFError, FrameError) as exc:
            await self._fail(f"the speech worker did not start: {type(exc).__name__} {exc}")
            raise WorkerFailed(self._failure + self._tail()) from None
        if not isinstance(ready, Ready):
            error = ready.error if isinstance(ready, StartFailed) else repr(ready)
            await self._fail(f"the speech worker could not load the engine: {error}")
            raise WorkerFailed(self._failure + self._tail())
        self.load_s = ready.load_s
        self._tasks.append(asyncio.create_task(self._read_replies(proc), name=f"{self.name}-replies"))
        log.info("%s started (pid %d, engine loaded in %.2f s)", self.name, proc.pid, ready.load_s)

    async def _read_replies(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None  # noqa: S101
        try:
            while True:
                reply = await _read_reply(proc.stdout)
                if isinstance(reply, Done | Failed):
                    fut = self._pending.pop(reply.id, None)
                    if fut is not None and not fut.done():
                        fut.set_result(reply)
                else:
                    raise FrameError(f"unexpected {type(reply).__name__} from the worker")
        except (EOFError, FrameError, ConnectionError) as exc:
            if self._proc is proc:  # not a stop() we asked for
                code = await _exit_code(proc)
                self._failure = f"the speech worker stopped (exit code {code}): {exc}"
                log.warning("%s%s", self._failure, self._tail())
                self._fail_pending(WorkerFailed(self._failure + self._tail()))

    async def _fail(self, reason: str) -> None:
        """Kill and reap now; callers of this process get WorkerFailed."""
        self._failure = reason
        log.warning("%s: %s%s", self.name, reason, self._tail())
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        await self.stop()
        self._failure = reason  # stop() leaves it; kept for the next caller's message

    def _fail_pending(self, exc: WorkerFailed) -> None:
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(exc)

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None  # noqa: S101
        async for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            if line:
                self._stderr.append(line)

    def _tail(self) -> str:
        return f"; worker said: {' | '.join(self._stderr)}" if self._stderr else ""


async def _read_reply(reader: asyncio.StreamReader) -> object:
    try:
        header = await reader.readexactly(HEADER.size)
        return decode(await reader.readexactly(frame_length(header)))
    except asyncio.IncompleteReadError as exc:
        raise EOFError("the worker closed its output") from exc


async def _exit_code(proc: asyncio.subprocess.Process) -> int | None:
    """Kill (if still running) and reap, so a dead worker never lingers as a zombie."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    return await proc.wait()
