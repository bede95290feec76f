"""The one place that composes the skill: settings in, a ready pipeline out."""

from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path

from handlers import KnowledgeBase, load_knowledge
from intents import Catalog, Matcher, load_catalog, semantic
from intents.catalog import data_digest
from intents.reading import FrameReader

from .config import SessionSettings, Settings
from .corpus import pronunciations, spoken_sentences
from .embedding import SentenceEmbedder
from .errors import ModelError
from .events import Answer, AudioQuery, Failed
from .hearing import Recognizer
from .pipeline import Pipeline
from .sessions import Sessions, SessionStore
from .speaking import Speaker
from .stages import Responder, Understander
from .stt.service import SpeechService
from .tts import Speech, Synthesizer

log = logging.getLogger(__name__)


class Skill:
    """Everything a front door needs: the pipeline, sessions, and engines loaded on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.catalog: Catalog = load_catalog(settings.skill.locale)
        self.knowledge: KnowledgeBase = load_knowledge(settings.skill.reminder, settings.skill.reminder_short)
        self.matcher = Matcher(self.catalog, settings.matcher.threshold, settings.skill.cache_path())
        self.semantic_note = "off in config.toml"
        if settings.matcher.semantic_red_flags:
            self.matcher.semantic, self.semantic_note = _semantic_red_flags(
                self.catalog,
                self.matcher.reader,
                settings.skill.locale,
                settings.skill.cache_path(),
                settings.matcher.semantic_threads,
            )
        self.sessions = open_sessions(settings.sessions)
        self.recognizer = Recognizer(self.speech)
        limits = (settings.skill.max_text_chars, settings.matcher.off_topic_threshold)
        understander = Understander(self.matcher, *limits, sessions=self.sessions)
        self.pipeline = Pipeline([self.recognizer, understander, Responder(self.knowledge, self.sessions)])
        # Speech to text only (Wyoming's transcribe, Hermes ASR): the recognizer stage, conversations untouched.
        self.hearing = Pipeline([self.recognizer])
        # Understanding only (Hermes NLU): what is asked, no answer and no conversation.
        self.understanding = Pipeline([Understander(self.matcher, *limits)])
        self._speech: SpeechService | None = None
        self._speech_lock = asyncio.Lock()
        self.engine_note = ""
        self._voice: Synthesizer | None = None
        self._voice_lock = asyncio.Lock()
        self._spoken: dict[int | None, Pipeline] = {}

    def spoken_pipeline(self, sample_rate: int | None = None) -> Pipeline:
        """The same stages, then the speaker: answers come with their audio at `sample_rate`."""
        if sample_rate not in self._spoken:
            self._spoken[sample_rate] = Pipeline([*self.pipeline.stages, Speaker(self.speak, sample_rate)])
        return self._spoken[sample_rate]

    async def voice(self) -> Synthesizer:
        """The text-to-speech worker, started on first use."""
        async with self._voice_lock:
            if self._voice is None:
                voice = Synthesizer(self.settings.tts)
                await voice.start()
                self._voice = voice
            return self._voice

    async def speak(self, text: str, sample_rate: int | None = None) -> Speech:
        """`text` as speech (WAV), rendered for the ear, at `sample_rate` (default: the engine's own)."""
        return await (await self.voice()).synthesize(text, sample_rate=sample_rate)

    async def speech(self) -> SpeechService:
        """The speech recognizer, built on first use (domain model cached on disk)."""
        async with self._speech_lock:
            if self._speech is None:
                from .stt.factory import choose_engine  # the engines' imports, only once speech is needed

                sentences = spoken_sentences(self.catalog, self.knowledge)
                choice = await asyncio.to_thread(
                    choose_engine,
                    self.settings.stt,
                    sentences,
                    self.settings.skill.cache_path() / "stt",
                    pronunciations(self.settings.skill.locale),
                    self.catalog.lexicon.prompt_terms,
                )
                self.engine_note = choice.reason
                log.info("speech recognizer: %s", choice.reason)
                self._speech = SpeechService(choice.engine, self.settings.stt)
            return self._speech

    async def ask(self, text: str, session: str) -> Answer | Failed:
        return await self.pipeline.ask(text, session)

    async def listen(self, pcm16k: bytes, session: str) -> Answer | Failed:
        """One spoken question (16 kHz mono 16-bit PCM) -> its answer, transcript included."""
        return await self.pipeline.final(AudioQuery(session=session, pcm=pcm16k))

    async def close(self) -> None:
        await self.sessions.close()
        if self._speech is not None:
            await self._speech.aclose()
            self._speech = None
        if self._voice is not None:
            await self._voice.close()
            self._voice = None


@functools.cache
def _embedder(threads: int) -> SentenceEmbedder | ModelError:
    """One model per process (its files checked once)."""
    try:
        return SentenceEmbedder(threads)
    except ModelError as exc:
        return exc


def _semantic_red_flags(
    catalog: Catalog, reader: FrameReader, locale: str, cache_dir: Path, threads: int
) -> tuple[semantic.SemanticRedFlags | None, str]:
    embedder = _embedder(threads)
    if isinstance(embedder, ModelError):
        log.warning("semantic red flags off (rules only): %s", embedder.message)
        return None, f"off: {embedder.message}"
    key = f"{data_digest(locale)} recipe {semantic.RECIPE}"
    anchors, vectors = embedder.cached_anchors(key, cache_dir, lambda: semantic.anchor_sentences(catalog, reader))
    return semantic.checker(catalog, reader, embedder.embed, anchors, vectors), f"on ({embedder.name})"


def open_sessions(settings: SessionSettings) -> Sessions:
    if settings.backend == "redis":
        from .redis_sessions import RedisSessions

        return RedisSessions(settings.redis_url, settings.idle_timeout_s, settings.max_sessions, settings.redis_prefix)
    return SessionStore(settings.idle_timeout_s, settings.max_sessions)


def build_skill(settings: Settings) -> Skill:
    return Skill(settings)
