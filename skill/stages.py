"""The understanding and answering stages of the pipeline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from handlers import KnowledgeBase, respond
from intents import IntentMatch, Matcher
from intents.safety import EMERGENCY, OUT_OF_SCOPE

from .errors import InputError
from .events import Answer, Event, TextQuery, Transcript, Understood
from .sessions import Sessions


class Understander:
    """Text or a final transcript -> the intent it asks for, or not-recognized."""

    def __init__(
        self, matcher: Matcher, max_chars: int, off_topic_threshold: float = 1.0, sessions: Sessions | None = None
    ) -> None:
        """`sessions`: where a follow-up that names no subject finds what the conversation is about
        (None: every question is read on its own)."""
        self._matcher = matcher
        self._max_chars = max_chars
        self._off_topic_threshold = off_topic_threshold
        self._sessions = sessions

    async def process(self, event: Event) -> AsyncIterator[Event]:
        if isinstance(event, TextQuery | Transcript) and (not isinstance(event, Transcript) or event.final):
            if len(event.text) > self._max_chars:
                raise InputError(f"question is {len(event.text)} characters long; the limit is {self._max_chars}")
            spoken = event if isinstance(event, Transcript) else None
            doubted = spoken is not None and not spoken.in_domain and bool(spoken.text.strip())
            heard_also = spoken.heard_also if spoken is not None else ()
            # Fetched once here and handed on, so the responder does not fetch it again (a Redis round trip).
            conversation = await self._sessions.get(event.session) if self._sessions is not None else None
            topic = conversation.topic if conversation is not None else None
            if self._matcher.semantic is None:
                result = self._matcher.understand(event.text, heard_also, doubted, topic)
            else:  # the embedding model takes milliseconds: keep the event loop free meanwhile
                result = await asyncio.to_thread(self._matcher.understand, event.text, heard_also, doubted, topic)
            transcript = spoken.text if spoken is not None else None
            if spoken is not None and doubted:
                # The recognizer doubts the speech is on topic: refuse, unless the words still name a
                # red flag or match a question clearly (the doubt is often noise, not a new topic).
                trusted = isinstance(result, IntentMatch) and (
                    result.intent == EMERGENCY or result.confidence >= self._off_topic_threshold
                )
                if not trusted:
                    result = IntentMatch(
                        intent=OUT_OF_SCOPE,
                        slots={"trigger": "off-topic speech"},
                        confidence=spoken.confidence,
                        text=event.text,
                    )
            yield Understood(session=event.session, result=result, transcript=transcript, conversation=conversation)
        else:
            yield event


class Responder:
    """The intent -> an answer from the fact base, remembering the conversation for follow-ups."""

    def __init__(self, kb: KnowledgeBase, sessions: Sessions) -> None:
        self._kb = kb
        self._sessions = sessions

    async def process(self, event: Event) -> AsyncIterator[Event]:
        if not isinstance(event, Understood):
            yield event
            return
        conversation = event.conversation or await self._sessions.get(event.session)
        outcome = respond(event.result, conversation, self._kb)
        if outcome.reply.end_session:
            await self._sessions.end(event.session)
        else:
            await self._sessions.put(outcome.conversation)
        yield Answer(
            session=event.session, transcript=event.transcript, frame=event.result.frame, **outcome.reply.model_dump()
        )
