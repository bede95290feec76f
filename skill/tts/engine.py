"""Async client for one engine worker process (worker.py): spawn, ask, time out, kill, restart.

A process rather than a thread: a hung espeak call cannot be interrupted inside a thread, but a
process can be killed and replaced, and pyttsx3 gets exactly one user.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from skill.errors import SynthesisError

WORKER_SCRIPT = Path(__file__).with_name("worker.py")
START_TIMEOUT_S = 15.0
STDERR_LINES = 20  # last lines of the worker's stderr, quoted when it fails


class WorkerFailed(Exception):
    """The worker died, hung or failed inside the engine; it has been stopped."""


class EngineProcess:
    """One worker process. Not concurrency-safe: the caller sends one request at a time."""

    def __init__(self, command: Sequence[str] | None = None) -> None:
        self._command = list(command) if command else [sys.executable, str(WORKER_SCRIPT)]
        self._proc: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._next_id = 0
        self.ready: dict[str, Any] = {}
        self.starts = 0  # how many processes were spawned (restarts = starts - 1)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.returncode is None else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    async def start(self) -> dict[str, Any]:
        """Spawn the worker and wait for its ready message (voices, default voice, rate)."""
        await self.stop()
        self.starts += 1
        self._stderr.clear()
        try:
            self._proc = await asyncio.create_subprocess_exec(
                *self._command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                limit=16 * 1024 * 1024,  # the ready line lists every voice
            )
        except OSError as exc:
            raise SynthesisError(f"cannot start the speech engine worker: {exc}") from exc
        self._stderr_task = asyncio.create_task(self._drain_stderr(self._proc))
        try:
            msg = await asyncio.wait_for(self._read(self._proc), START_TIMEOUT_S)
        except (WorkerFailed, TimeoutError) as exc:
            await self.stop()
            raise SynthesisError(f"the speech engine did not start: {exc or 'timed out'}{self._tail()}") from exc
        if msg.get("type") != "ready":
            await self.stop()
            raise SynthesisError(f"the speech engine did not start: {msg.get('error', msg)}{self._tail()}")
        self.ready = msg
        return msg

    async def request(self, op: str, timeout_s: float, **fields: Any) -> dict[str, Any]:
        """Send one request and return its reply. Raises WorkerFailed (process already stopped)."""
        proc = self._proc  # stop() may clear self._proc while we wait
        if proc is None or proc.stdin is None or proc.returncode is not None:
            raise WorkerFailed("the worker is not running")
        self._next_id += 1
        rid = self._next_id
        try:
            proc.stdin.write((json.dumps({"id": rid, "op": op, **fields}) + "\n").encode())
            await proc.stdin.drain()
            async with asyncio.timeout(timeout_s):
                while True:
                    reply = await self._read(proc)
                    # A reply for an older id belongs to a request whose caller was cancelled.
                    if reply.get("id") == rid:
                        return reply
        except TimeoutError:
            await self.stop()
            raise WorkerFailed(f"no answer from the engine within {timeout_s:g} s (killed it)") from None
        except (ConnectionError, WorkerFailed) as exc:
            await self.stop()
            raise WorkerFailed(f"{exc}{self._tail()}") from None

    @staticmethod
    async def _read(proc: asyncio.subprocess.Process) -> dict[str, Any]:
        assert proc.stdout is not None  # noqa: S101 - always piped
        line = await proc.stdout.readline()
        if not line:
            code = await proc.wait()
            raise WorkerFailed(f"the engine worker exited (code {code})")
        try:
            msg: dict[str, Any] = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkerFailed(f"garbled reply from the engine worker: {line[:80]!r}") from exc
        return msg

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        # Keep only a tail for error messages; "Audio saved to ..." lines are pyttsx3 chatter.
        assert proc.stderr is not None  # noqa: S101
        async for raw in proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            if line and not line.startswith("Audio saved to"):
                self._stderr.append(line)

    def _tail(self) -> str:
        return f"; worker said: {' | '.join(self._stderr)}" if self._stderr else ""

    async def stop(self) -> None:
        """Kill the process (it holds no state worth a graceful exit) and reap it."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
            await proc.wait()
            if proc.stdin is not None:
                proc.stdin.close()
        if self._stderr_task is not None:
            task, self._stderr_task = self._stderr_task, None
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 1.0)
