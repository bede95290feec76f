"""The hands-free loop end to end: real espeak-ng speech through a virtual mic, the real skill,
a fake sound sink. The recognizer dithers, so transcripts are checked by key words."""

from __future__ import annotations

import asyncio

import pytest

from skill.app import Skill
from skill.handsfree import (
    Answered,
    BargeIn,
    HandsFree,
    HandsFreeEvent,
    HandsFreeSettings,
    Heard,
    Say,
    Silence,
    StateChanged,
    VirtualMic,
    WaitFor,
    WakeHeard,
)

from .conftest import FakePlayer, Speak, T

pytestmark = pytest.mark.asyncio(loop_scope="module")
QUESTION = "do b twelve shots make you sore"
WAKE = "hello computer"


def states(events: list[HandsFreeEvent]) -> list[str]:
    return [e.state for e in events if isinstance(e, StateChanged)]


def story(events: list[HandsFreeEvent]) -> list[str]:
    """The events a person would notice, in order, as short labels."""
    out = []
    for e in events:
        if isinstance(e, StateChanged):
            out.append(e.state)
        elif isinstance(e, WakeHeard):
            out.append("wake")
        elif isinstance(e, Answered):
            out.append(f"answer:{e.answer.intent}")
        elif isinstance(e, BargeIn):
            out.append(f"barge-in:{e.phrase}")
    return out


async def converse(skill: Skill, mic: VirtualMic, player: FakePlayer, events: list[HandsFreeEvent]) -> HandsFree:
    loop = HandsFree(skill, HandsFreeSettings(), player, events.append)
    await asyncio.wait_for(loop.run(mic.chunks()), T)
    return loop


async def test_wake_question_follow_up_then_thats_all(skill: Skill, espeak: Speak, piper: Speak) -> None:
    events: list[HandsFreeEvent] = []
    player = FakePlayer()
    in_state = lambda s: lambda: bool(states(events)) and states(events)[-1] == s  # noqa: E731
    mic = VirtualMic(
        [
            Silence(1.0),
            Say(espeak(WAKE)),
            Silence(0.5),
            Say(espeak(QUESTION)),
            Silence(1.2),
            WaitFor(in_state("follow-up"), label="the follow-up window"),
            Silence(0.5),
            Say(espeak("why does that happen")),
            Silence(1.2),  # no wake phrase needed
            WaitFor(lambda: states(events).count("follow-up") == 2, label="the second follow-up window"),
            Silence(0.5),
            Say(piper("that's all")),
            Silence(1.2),  # closes the conversation
            WaitFor(lambda: len(player.answers) == 3 and in_state("idle")(), label="the conversation to close"),
            Silence(0.3),
        ]
    )
    await converse(skill, mic, player, events)

    assert story(events) == [
        "wake",
        "listening",
        "thinking",
        "answer:injection_aches",
        "speaking",
        "follow-up",
        "listening",
        "thinking",
        "answer:why",
        "speaking",
        "follow-up",
        "listening",
        "thinking",
        "answer:goodbye",
        "speaking",
        "idle",
    ], (story(events), [e for e in events if isinstance(e, Heard)])
    heard = [e.text for e in events if isinstance(e, Heard)]
    assert "shot" in heard[0] and ("twelve" in heard[0] or "sore" in heard[0]), heard
    answers = [e.answer for e in events if isinstance(e, Answered)]
    assert answers[0].facts and answers[1].facts and not answers[0].end_session and answers[2].end_session
    assert all(a.session == "handsfree" for a in answers)  # one session: "why" knew the topic
    # Earcons: a tone when listening starts and one when it ends, around every question.
    tones = [p.speech.duration for p in player.played]
    assert len(tones) == 3 + 2 * 3 and all(d < 0.2 for d in tones[:2])


async def test_follow_up_window_closes_in_silence(skill: Skill, espeak: Speak) -> None:
    events: list[HandsFreeEvent] = []
    player = FakePlayer()
    mic = VirtualMic(
        [
            Silence(1.0),
            Say(espeak(WAKE)),
            Silence(0.5),
            Say(espeak(QUESTION)),
            Silence(1.2),
            WaitFor(lambda: "follow-up" in states(events), label="the follow-up window"),
            Silence(HandsFreeSettings().follow_up_s + 0.5),
        ]
    )
    await converse(skill, mic, player, events)
    assert states(events) == ["listening", "thinking", "speaking", "follow-up", "idle"]


async def test_wake_phrase_during_playback_stops_it_at_once(skill: Skill, espeak: Speak) -> None:
    events: list[HandsFreeEvent] = []
    player = FakePlayer(speed=1.0)  # the answer "plays" for its real length, ~15 s
    said_at: list[float] = []
    mic = VirtualMic(
        [
            Silence(1.0),
            Say(espeak(WAKE)),
            Silence(0.5),
            Say(espeak(QUESTION)),
            Silence(1.2),
            WaitFor(lambda: "speaking" in states(events), label="the answer to play"),
            Silence(0.5),
            Say(espeak(WAKE)),
            Silence(0.6),
            WaitFor(lambda: states(events)[-1] == "listening", label="listening again"),
            Silence(6.0),  # then say nothing: back to idle after the no-speech timeout
        ]
    )
    original = mic._send

    async def spy(pcm: bytes):  # type: ignore[no-untyped-def]
        async for c in original(pcm):
            yield c
        if pcm == espeak(WAKE) and "speaking" in states(events):
            said_at.append(asyncio.get_running_loop().time())

    mic._send = spy  # type: ignore[method-assign]
    await converse(skill, mic, player, events)

    assert story(events)[:8] == [
        "wake",
        "listening",
        "thinking",
        "answer:injection_aches",
        "speaking",
        f"barge-in:{WAKE}",
        "wake",
        "listening",
    ], story(events)
    answer = player.answers[0]
    assert answer.stopped and answer.stopped_at is not None
    # "At once": within 0.5 s of the phrase's last sample reaching the loop (kws_delay is 0.1 s).
    assert answer.stopped_at - said_at[0] < 0.5
    assert states(events)[-1] == "idle"


async def test_stop_during_playback_closes_the_conversation(skill: Skill, espeak: Speak) -> None:
    events: list[HandsFreeEvent] = []
    player = FakePlayer(speed=1.0)
    mic = VirtualMic(
        [
            Silence(1.0),
            Say(espeak(WAKE)),
            Silence(0.5),
            Say(espeak(QUESTION)),
            Silence(1.2),
            WaitFor(lambda: "speaking" in states(events), label="the answer to play"),
            Silence(0.5),
            Say(espeak("stop")),
            Silence(0.6),
            WaitFor(lambda: states(events)[-1] == "idle", label="idle"),
        ]
    )
    await converse(skill, mic, player, events)
    assert story(events) == [
        "wake",
        "listening",
        "thinking",
        "answer:injection_aches",
        "speaking",
        "barge-in:stop",
        "idle",
    ], story(events)
    assert player.answers[0].stopped


async def test_speech_without_the_wake_phrase_is_ignored(skill: Skill, espeak: Speak) -> None:
    events: list[HandsFreeEvent] = []
    mic = VirtualMic([Silence(0.5), Say(espeak(QUESTION)), Silence(1.5), Say(espeak("what time is it")), Silence(1)])
    await converse(skill, mic, FakePlayer(), events)
    assert events == []


async def _silence_before_thinking(skill: Skill, speech: bytes) -> float:
    """Seconds of silence the loop heard after the question before it stopped listening."""
    loop = HandsFree(skill, HandsFreeSettings(), FakePlayer(), lambda _e: None)
    await loop._listen("listening", 5.0)  # as if the wake phrase had just been heard
    fed = 0
    silence = bytes(640)  # 20 ms
    for i in range(0, len(speech), 640):
        await loop.feed(speech[i : i + 640])
    while loop.state == "listening" and fed < 2 * 16000 * 2:
        await loop.feed(silence)
        fed += len(silence)
    await loop.close()
    return fed / 2 / 16000


async def test_a_whole_question_ends_after_a_short_pause_anything_else_after_the_full_one(
    skill: Skill, piper: Speak
) -> None:
    settings = HandsFreeSettings()
    understood = await asyncio.wait_for(_silence_before_thinking(skill, piper(QUESTION)), T)
    mumbled = await asyncio.wait_for(_silence_before_thinking(skill, piper("purple elephants are dancing")), T)
    # The clips end with a little quiet of their own, which the endpointer counts too.
    assert understood <= settings.early_end_silence_s + 0.25, understood
    assert mumbled >= settings.end_silence_s - 0.2 and mumbled > understood + 0.3, (mumbled, understood)
