"""Events, the pipeline's error boundary and sessions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pydantic import TypeAdapter, ValidationError

from handlers import Conversation
from intents import IntentMatch, NotRecognized
from skill.app import Skill
from skill.errors import InputError
from skill.events import (
    Answer,
    AudioCancel,
    AudioChunk,
    AudioEnd,
    AudioQuery,
    Event,
    Failed,
    TextQuery,
    Transcript,
    Understood,
)
from skill.pipeline import Pipeline
from skill.sessions import SessionStore

EVENTS = TypeAdapter(Event)

SAMPLES = [
    TextQuery(session="s", text="can b12 make me ache"),
    AudioQuery(session="s", pcm=b"\x00\x01\xff\x7f"),
    AudioChunk(session="s", pcm=b"\x10\x00"),
    AudioEnd(session="s"),
    AudioCancel(session="s"),
    Transcript(session="s", text="tell me more", final=False, confidence=0.4, in_domain=False),
    Understood(
        session="s", result=IntentMatch(intent="compare", slots={"side": "injection"}, confidence=0.9, text="x")
    ),
    Understood(session="s", result=NotRecognized(text="zzz", best_guess="help", confidence=0.2), transcript="zzz"),
    Answer(session="s", text="Yes.", intent="can_b12_cause_aches", confidence=1.0, facts=("conclusion.yes",)),
    Failed(session="s", code="bad_input", message="nope"),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
def test_every_event_round_trips_through_json(event: Event) -> None:
    assert EVENTS.validate_json(event.model_dump_json()) == event


def test_events_are_immutable() -> None:
    with pytest.raises(ValidationError):
        SAMPLES[0].text = "changed"  # type: ignore[misc]


class _Explode:
    def __init__(self) -> None:
        self.calls = 0

    async def process(self, event: Event) -> AsyncIterator[Event]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("boom")
        if self.calls == 2:
            raise InputError("that input is bad")
        yield event


async def test_errors_become_failed_events_and_the_next_request_works() -> None:
    pipeline = Pipeline([_Explode()])
    first = await asyncio.wait_for(pipeline.final(TextQuery(session="a", text="x")), 1)
    assert isinstance(first, Failed) and first.code == "internal_error" and "boom" not in first.message
    second = await asyncio.wait_for(pipeline.final(TextQuery(session="a", text="x")), 1)
    assert isinstance(second, Failed) and second.code == "bad_input" and second.message == "that input is bad"
    outs = [e async for e in pipeline.run(TextQuery(session="a", text="x"))]
    assert outs == [TextQuery(session="a", text="x")]


async def test_text_path_emits_understood_then_answer(skill: Skill) -> None:
    seen: list[str] = []

    class Tap:
        async def process(self, event: Event) -> AsyncIterator[Event]:
            seen.append(event.type)
            yield event

    stages = list(skill.pipeline.stages)
    pipeline = Pipeline([stages[0], Tap(), stages[1], Tap(), stages[2], Tap()])
    await asyncio.wait_for(pipeline.final(TextQuery(session="tap", text="what is b12")), 1)
    assert seen == ["text", "understood", "answer"]


async def test_too_long_text_is_a_clear_error_and_the_skill_keeps_answering(skill: Skill) -> None:
    failed = await asyncio.wait_for(skill.ask("b12 " * 25_000, "long"), 2)
    assert isinstance(failed, Failed) and "100000 characters" in failed.message and "limit is 1000" in failed.message
    answer = await asyncio.wait_for(skill.ask("what is b12", "long"), 1)
    assert isinstance(answer, Answer) and answer.intent == "what_is_b12"


async def test_follow_up_needs_the_same_session(skill: Skill) -> None:
    await skill.ask("do b12 shots make you sore", "one")
    same = await skill.ask("how long does that last", "one")
    other = await skill.ask("how long does that last", "two")
    assert same.facts == ("compare.onset.injection", "doctor.severe_side_effects")  # type: ignore[union-attr]
    assert other.facts == ("compare.onset.deficiency", "compare.onset.injection")  # type: ignore[union-attr]


async def test_each_question_reads_its_session_once(skill: Skill, monkeypatch: pytest.MonkeyPatch) -> None:
    """The understanding stage hands the conversation it read to the responder (with Redis sessions each
    read is a round trip), and a follow-up is read once, with the last answer's topic."""
    reads: list[str] = []
    get = skill.sessions.get

    async def counted(session_id: str) -> Conversation:
        reads.append(session_id)
        return await get(session_id)

    monkeypatch.setattr(skill.sessions, "get", counted)
    understand = skill.matcher.reader.read
    readings: list[str] = []
    monkeypatch.setattr(skill.matcher.reader, "read", lambda text, *a: readings.append(text) or understand(text, *a))
    await skill.ask("do b12 shots make you sore", "once")
    follow_up = await skill.ask("how long does that last", "once")
    assert reads == ["once", "once"]
    assert readings == ["do b12 shots make you sore", "how long does that last"]
    assert follow_up.facts == ("compare.onset.injection", "doctor.severe_side_effects")  # type: ignore[union-attr]


async def test_sessions_expire_when_idle_and_are_bounded() -> None:
    now = [0.0]
    store = SessionStore(idle_timeout_s=10, max_sessions=2, clock=lambda: now[0])
    await store.put(Conversation(id="a", turns=1))
    now[0] = 5
    assert (await store.get("a")).turns == 1
    now[0] = 16
    assert (await store.get("a")).turns == 0  # idle too long: a fresh conversation
    for sid in "abc":
        await store.put(Conversation(id=sid, turns=1))
    assert await store.count() == 2 and (await store.get("a")).turns == 0 and (await store.get("c")).turns == 1


async def test_a_cancel_is_an_event_consumed_by_the_recognizer(skill: Skill) -> None:
    # Doors abandon an utterance by sending AudioCancel down the pipeline, never by reaching into a stage.
    assert await skill.pipeline.drain(AudioCancel(session="never-spoke")) == []  # nothing to cancel: no error
    assert await skill.hearing.drain(AudioCancel(session="never-spoke")) == []


async def test_are_you_sure_gets_the_last_answer_as_what_the_source_says(skill: Skill) -> None:
    first = await skill.ask("what is a healing crisis", "doubting")
    again = await skill.ask("is that real or is it rubbish", "doubting")
    assert isinstance(first, Answer) and isinstance(again, Answer)
    assert again.intent == "doubt" and again.text.startswith(skill.knowledge.say.doubt)
    assert first.text.split(".")[0] in again.text and "practitioners" in again.text  # its hedge kept
