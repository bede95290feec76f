"""The async facade of the speaker stage: text in, Speech (or a stream of PCM chunks) out.

Nothing here blocks the event loop: the engine runs in a worker process (engine.py), and file
I/O, resampling and WAV encoding go through asyncio.to_thread. Requests are serialized on one
worker with a lock; each gets its own temp file, so no request can receive another's audio.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
import uuid
import wave
from collections.abc import AsyncGenerator, Sequence
from pathlib import Path

import numpy as np

from skill.audio.pcm import resample_int16
from skill.errors import InputError, OverloadedError, SynthesisError
from skill.settings.tts import TtsSettings
from skill.tts.cache import SpeechCache, cache_key
from skill.tts.engine import EngineProcess, WorkerFailed
from skill.tts.speech import Speech, VoiceInfo, read_wav, speech_from_pcm, speech_from_wav
from skill.tts.speech_text import speech_pieces, to_speech_text

log = logging.getLogger(__name__)

PREFERRED_VOICE = "en-us"  # the product speaks US English unless told otherwise
MIN_RATE, MAX_RATE = 8000, 48000


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "b12-skill" / "tts"


class Synthesizer:
    """Usage: `async with Synthesizer(settings) as tts: speech = await tts.synthesize("Hi.")`."""

    def __init__(self, settings: TtsSettings | None = None, *, worker_command: Sequence[str] | None = None) -> None:
        self.settings = settings or TtsSettings()
        self._engine = EngineProcess(worker_command)
        self._lock = asyncio.Lock()  # one request at a time on the worker
        self._waiting = 0
        cache_dir = self.settings.cache_dir or default_cache_dir()
        self._cache = SpeechCache(cache_dir, self.settings.cache_max_mb * 2**20, self.settings.memory_cache_mb * 2**20)
        self._tmpdir: Path | None = None
        self._voices: list[VoiceInfo] = []
        self._default_voice = ""
        self.native_rate = 22050

    async def __aenter__(self) -> Synthesizer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the worker (about 0.1 s) and read the disk cache index."""
        self._tmpdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="b12-tts-"))
        try:
            await asyncio.to_thread(self._cache.load_index)
        except OSError as exc:
            log.warning("speech cache folder unusable, caching in memory only: %s", exc)
            self._cache = SpeechCache(None, 0, self.settings.memory_cache_mb * 2**20)
        await self._start_engine()

    async def close(self) -> None:
        """Stop at once, without waiting for a request in flight: it fails with SynthesisError."""
        tmpdir, self._tmpdir = self._tmpdir, None
        await self._engine.stop()
        if tmpdir is not None:
            await asyncio.to_thread(shutil.rmtree, tmpdir, True)

    @property
    def worker_pid(self) -> int | None:
        """The engine process id (tests kill it to check recovery)."""
        return self._engine.pid

    @property
    def worker_starts(self) -> int:
        return self._engine.starts

    async def voices(self) -> list[VoiceInfo]:
        if not self._voices:
            await self._start_engine()
        return list(self._voices)

    def resolve_voice(self, name: str | None) -> str:
        """Voice id, name or language -> the engine's voice id; InputError naming it if unknown."""
        if name is None:
            return self._default_voice
        wanted = name.strip().lower()
        for match in (
            lambda v: v.id.lower() == wanted,
            lambda v: v.id.lower().rsplit("/", 1)[-1] == wanted,
            lambda v: v.name.lower() == wanted,
            lambda v: wanted in (lang.lower() for lang in v.languages),
        ):
            found = [v for v in self._voices if match(v)]
            if found:
                return found[0].id
        raise InputError(f"unknown voice {name!r}: `b12-skill voices` lists the installed ones")

    async def synthesize(self, text: str, *, sample_rate: int | None = None, voice: str | None = None) -> Speech:
        """Speak text into a WAV at sample_rate (default: settings, else the engine's 22050 Hz)."""
        speech_text, voice_id, rate = self._prepare(text, voice, sample_rate)
        if len(speech_text) > self.settings.max_chars:
            raise InputError(
                f"text too long to speak in one piece: {len(speech_text)} characters after "
                f"clean-up, limit {self.settings.max_chars}; use stream() for long text"
            )
        key = self._key(speech_text, voice_id, rate)
        hit = self._cache.get_memory(key) or await asyncio.to_thread(self._cache.get, key)
        if hit is not None:
            return speech_from_wav(hit, cached=True)
        parts = []
        for piece in speech_pieces(speech_text, self.settings.piece_chars):
            native = await self._run_piece(piece, voice_id)
            parts.append(await asyncio.to_thread(resample_int16, native, self.native_rate, rate))
        speech = await asyncio.to_thread(self._finish, parts, rate)
        await asyncio.to_thread(self._cache.put, key, speech.wav)
        return speech

    async def stream(
        self,
        text: str,
        *,
        sample_rate: int | None = None,
        voice: str | None = None,
        chunk_ms: int = 100,
    ) -> AsyncGenerator[bytes, None]:
        """Yield 16-bit mono PCM chunks of chunk_ms as soon as each piece of text is spoken.
        Any length of text: only one piece is held at a time (long text is not cached)."""
        speech_text, voice_id, rate = self._prepare(text, voice, sample_rate)
        chunk = max(1, rate * chunk_ms // 1000) * 2
        key = self._key(speech_text, voice_id, rate)
        hit = self._cache.get_memory(key) or await asyncio.to_thread(self._cache.get, key)
        if hit is not None:
            pcm = read_wav(hit)[0].tobytes()
            for i in range(0, len(pcm), chunk):
                yield pcm[i : i + chunk]
            return
        keep = len(speech_text) <= self.settings.max_chars
        parts: list[np.ndarray] = []
        pending = b""
        for piece in speech_pieces(speech_text, self.settings.piece_chars):
            native = await self._run_piece(piece, voice_id)
            out = await asyncio.to_thread(resample_int16, native, self.native_rate, rate)
            if keep:
                parts.append(out)
            data = pending + out.tobytes()
            whole = len(data) - len(data) % chunk
            for i in range(0, whole, chunk):
                yield data[i : i + chunk]
            pending = data[whole:]
        if pending:
            yield pending
        if keep:
            speech = await asyncio.to_thread(self._finish, parts, rate)
            await asyncio.to_thread(self._cache.put, key, speech.wav)

    # -- internals ---------------------------------------------------------------------------

    def _prepare(self, text: str, voice: str | None, sample_rate: int | None) -> tuple[str, str, int]:
        if not isinstance(text, str):
            raise InputError("text to speak must be a string")
        speech_text = to_speech_text(text)
        if not speech_text:
            raise InputError("nothing to say: the text is empty (or only symbols)")
        if not self._voices:
            raise SynthesisError("the synthesizer is not started")
        voice_id = self.resolve_voice(voice if voice is not None else self.settings.voice)
        rate = sample_rate or self.settings.sample_rate or self.native_rate
        if not isinstance(rate, int) or not MIN_RATE <= rate <= MAX_RATE:
            raise InputError(f"sample rate {rate!r} is outside {MIN_RATE}..{MAX_RATE} Hz")
        return speech_text, voice_id, rate

    def _key(self, speech_text: str, voice_id: str, rate: int) -> str:
        s = self.settings
        return cache_key(speech_text, voice_id, s.rate_wpm, s.volume, rate)

    @staticmethod
    def _finish(parts: list[np.ndarray], rate: int) -> Speech:
        """Pieces already at the output rate -> one WAV. Same path for synthesize and stream, so
        both give the same audio for the same text."""
        return speech_from_pcm(np.concatenate(parts) if parts else np.zeros(0, np.int16), rate)

    async def _start_engine(self) -> None:
        ready = await self._engine.start()
        self.native_rate = int(ready.get("sample_rate", 22050))
        self._voices = [
            VoiceInfo(v["id"], v["name"], tuple(v.get("languages") or ()), v.get("gender"))
            for v in ready.get("voices", [])
        ]
        ids = {v.id for v in self._voices}
        preferred = [v.id for v in self._voices if v.id.rsplit("/", 1)[-1] == PREFERRED_VOICE]
        self._default_voice = preferred[0] if preferred else ready.get("default_voice") or ""
        if self._default_voice not in ids and self._voices:
            self._default_voice = self._voices[0].id

    async def _run_piece(self, text: str, voice_id: str) -> np.ndarray:
        if self._waiting >= self.settings.max_queue:
            raise OverloadedError(f"{self._waiting} speech requests already waiting; try again shortly")
        self._waiting += 1
        try:
            async with self._lock:
                return await self._run_locked(text, voice_id)
        finally:
            self._waiting -= 1

    async def _run_locked(self, text: str, voice_id: str) -> np.ndarray:
        """One piece on the worker; on death, hang or engine failure: restart and retry once."""
        failure: WorkerFailed | None = None
        for attempt in (1, 2):
            if self._tmpdir is None:  # not started, or closed while this request waited
                raise SynthesisError("the synthesizer is not started (or was closed)")
            if not self._engine.running:
                await self._start_engine()
            path = self._tmpdir / f"{uuid.uuid4().hex}.wav"
            try:
                reply = await self._engine.request(
                    "synth",
                    self.settings.timeout_s,
                    text=text,
                    voice=voice_id,
                    rate=self.settings.rate_wpm,
                    volume=self.settings.volume,
                    path=str(path),
                )
                if reply.get("ok"):
                    return await asyncio.to_thread(_read_piece, path, int(reply["frames"]))
                if reply.get("kind") == "input":
                    raise InputError(str(reply.get("error")))
                await self._engine.stop()  # the engine may be in a bad state: start clean
                raise WorkerFailed(str(reply.get("error")))
            except WorkerFailed as exc:
                failure = exc
                log.warning("speech engine failed (attempt %d of 2): %s", attempt, exc)
            finally:
                await asyncio.to_thread(path.unlink, True)
        raise SynthesisError(f"speech synthesis failed, also after restarting the engine: {failure}")


def _read_piece(path: Path, frames: int) -> np.ndarray:
    """Read the worker's WAV; the frame count must match its reply, or it is not our audio."""
    try:
        with wave.open(str(path), "rb") as w:
            data = w.readframes(w.getnframes())
    except (OSError, wave.Error, EOFError) as exc:
        raise WorkerFailed(f"cannot read the engine's audio: {exc}") from exc
    pcm = np.frombuffer(data, dtype="<i2")
    if len(pcm) != frames:
        raise WorkerFailed(f"engine audio has {len(pcm)} frames, the worker reported {frames}")
    return pcm
