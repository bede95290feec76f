"""The hands-free loop: an event-driven state machine over a live 16 kHz PCM stream.

    idle --wake phrase--> listening --end of speech--> thinking --answer--> speaking
    speaking --playback ends--> follow-up (or idle when the answer ends the session)
    follow-up --speech--> listening;  follow-up --silence for follow_up_s--> idle
    speaking --wake phrase--> listening;  speaking --"stop"--> idle   (barge-in: playback stops at once)

One consumer reads the audio (`feed`); answering and playing run in one background task, so the
microphone keeps being read - and spotted - while an answer plays. Decoding never runs on the event
loop: the spotter goes through asyncio.to_thread, recognition through the skill's SpeechService.
Time is counted in audio samples (the endpointer's), so a test can feed audio faster than real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from intents import IntentMatch
from skill.app import Skill
from skill.audio.endpoint import Endpointer
from skill.errors import SkillError
from skill.events import Answer, AudioCancel, AudioChunk, AudioEnd, Failed, Transcript
from skill.settings.handsfree import HandsFreeSettings

from .earcons import Earcon, earcon
from .events import (
    Answered,
    BargeIn,
    HandsFreeEvent,
    Heard,
    NothingHeard,
    Partial,
    State,
    StateChanged,
    Trouble,
    WakeHeard,
)
from .player import Playback, Player
from .spotter import Detection, KeywordSpotter

log = logging.getLogger(__name__)
# Understood, but perhaps only part of the question ("what about vitamin d and..."): wait the full pause.
INCOMPLETE = frozenset({"out_of_scope"})
OnEvent = Callable[[HandsFreeEvent], None]


class HandsFree:
    def __init__(
        self,
        skill: Skill,
        settings: HandsFreeSettings,
        player: Player,
        on_event: OnEvent | None = None,
        spotter: KeywordSpotter | None = None,
    ) -> None:
        self.skill = skill
        self.settings = settings
        self.player = player
        self.on_event = on_event or (lambda _e: None)
        self.spotter = spotter or KeywordSpotter(settings, skill.settings.skill.locale)
        self.session = settings.session
        self.state: State = "idle"
        self._endpointer: Endpointer | None = None
        self._streaming = False  # the recognizer holds audio of the utterance in progress
        self._mute_bytes = 0  # our own earcon is playing: the mic hears it, so feed silence instead
        self._task: asyncio.Task[None] | None = None  # thinking + speaking
        self._playback: Playback | None = None
        self._sounds: set[Playback] = set()  # earcons in flight (kept so they can be stopped)

    async def run(self, chunks: AsyncIterator[bytes]) -> None:
        """Consume the stream until it ends (or the caller cancels), then tidy up."""
        try:
            async for chunk in chunks:
                await self.feed(chunk)
        finally:
            await self.close()

    async def feed(self, chunk: bytes) -> None:
        if self.state in ("idle", "speaking", "follow-up"):
            found = await asyncio.to_thread(self.spotter.feed, chunk)
            if found is not None:
                await self._spotted(found)
                return
        if self.state in ("listening", "follow-up"):
            await self._hear(chunk)
        # "thinking": the audio is dropped; the answer comes within a second.

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._stop_sounds()
        await self._drop_stream()

    # --- transitions -------------------------------------------------------------------------

    def _set(self, state: State) -> None:
        if state != self.state:
            self.state = state
            log.info("hands-free: %s", state)
            self.on_event(StateChanged(state=state))
        self.spotter.request("barge" if state == "speaking" else "wake")

    def _emit(self, event: HandsFreeEvent) -> None:
        self.on_event(event)

    async def _spotted(self, found: Detection) -> None:
        if self.state == "speaking":
            self._stop_answer()
            self._emit(BargeIn(phrase=found.phrase))
            if not found.is_wake:
                self._set("idle")
                return
        elif not found.is_wake:
            return
        self._emit(WakeHeard(phrase=found.phrase))
        await self._listen("listening", self.settings.no_speech_timeout_s)

    async def _listen(self, state: State, timeout_s: float) -> None:
        """Start (or restart) an utterance: a fresh endpointer and recognizer stream."""
        await self._drop_stream()
        self._endpointer = Endpointer(
            end_silence_s=self.settings.end_silence_s,
            early_end_silence_s=self.settings.early_end_silence_s,
            no_speech_timeout_s=timeout_s,
            max_utterance_s=self.settings.max_utterance_s,
        )
        self._set(state)
        await self._earcon("listen")

    async def _hear(self, chunk: bytes) -> None:
        assert self._endpointer is not None  # noqa: S101 - set whenever the state is listening/follow-up
        if self._mute_bytes:
            n = min(self._mute_bytes, len(chunk))
            chunk, self._mute_bytes = bytes(n) + chunk[n:], self._mute_bytes - n
        state = self._endpointer.feed(chunk)
        if state == "speech" and self.state == "follow-up":
            self._set("listening")
        if state != "timeout":
            self._streaming = True
            async for out in self.skill.pipeline.run(AudioChunk(session=self.session, pcm=chunk)):
                if isinstance(out, Transcript) and not out.final and out.text:
                    self._emit(Partial(text=out.text))
                    if out.settled:  # the pause's final pass: end early if it is already a whole question
                        self._endpointer.complete = self._understood(out.text)
                elif isinstance(out, Failed):  # the recognizer dropped the stream
                    self._streaming = False
                    self._emit(Trouble(code=out.code, message=out.message))
        if state == "timeout":
            await self._drop_stream()
            self._emit(NothingHeard())
            await self._earcon("done")
            self._set("idle")
        elif state == "ended":
            self._set("thinking")
            await self._earcon("done")
            self._task = asyncio.create_task(self._answer(), name="handsfree-answer")

    def _understood(self, text: str) -> bool:
        """A question the skill would answer, understood well enough not to wait for more words."""
        result = self.skill.matcher.understand(text)
        return (
            isinstance(result, IntentMatch)
            and result.intent not in INCOMPLETE
            and result.confidence >= self.settings.early_end_confidence
        )

    # --- answering and speaking (the background task) --------------------------------------

    async def _answer(self) -> None:
        try:
            answer = await self._recognize()
            if answer is None:
                self._set("idle")
                return
            self._emit(Answered(answer=answer))
            speech = await self.skill.speak(answer.text)
            playback = await self.player.play(speech)
            self._playback = playback
            self._set("speaking")
            await playback.wait()
            if self._playback is not playback:  # barged in: the consumer already moved on
                return
            self._playback = None
            if answer.end_session or self.settings.follow_up_s == 0:
                self._set("idle")
            else:
                await self._listen("follow-up", self.settings.follow_up_s)
        except SkillError as exc:  # no sound device, TTS failure: report, and listen for the next one
            self._emit(Trouble(code=exc.code, message=exc.message))
            self._set("idle")

    async def _recognize(self) -> Answer | None:
        if not self._streaming:
            self._emit(NothingHeard())
            return None
        self._streaming = False
        result: Answer | Failed | None = None
        async for out in self.skill.pipeline.run(AudioEnd(session=self.session)):
            if isinstance(out, Answer | Failed):
                result = out
        if isinstance(result, Answer):
            self._emit(Heard(text=result.transcript or ""))
            if not result.transcript:  # noise the recognizer made nothing of: no answer
                self._emit(NothingHeard())
                return None
        if isinstance(result, Answer):
            return result
        failed = result or Failed(session=self.session, code="no_answer", message="no answer was produced")
        self._emit(Trouble(code=failed.code, message=failed.message))
        return None

    def _stop_answer(self) -> None:
        playback, self._playback = self._playback, None
        if playback is not None:
            playback.stop()
        if self._task is not None and not self._task.done():
            self._task.cancel()  # it was only waiting for the playback to end
        self._task = None

    async def _drop_stream(self) -> None:
        if self._streaming:
            self._streaming = False
            await self.skill.pipeline.drain(AudioCancel(session=self.session))

    async def _earcon(self, kind: Earcon) -> None:
        if not self.settings.earcons:
            return
        sound = earcon(kind, self.settings.earcon_volume)
        self._mute_bytes = len(sound.pcm) * 16000 // sound.sample_rate if kind == "listen" else 0
        try:
            playback = await self.player.play(sound)
        except SkillError as exc:
            self._emit(Trouble(code=exc.code, message=exc.message))
            return
        self._sounds = {s for s in self._sounds if not s.done} | {playback}

    def _stop_sounds(self) -> None:
        for sound in self._sounds:
            sound.stop()
        self._sounds.clear()
