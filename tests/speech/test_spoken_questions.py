"""Spoken questions end to end: two synthesizers, the real recognizer, the whole pipeline.

The phrasings come from the golden set; audio is made at test time by espeak-ng and Piper.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bench.voices import Voice, espeak, pad, piper
from skill.app import Skill, build_skill
from skill.config import Settings
from skill.events import Answer, Failed

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.asyncio(loop_scope="module")
REMINDER = Settings().skill.reminder

SPOKEN = [
    ("can b twelve make me ache", "can_b12_cause_aches"),
    ("what is b twelve", "what_is_b12"),
    ("can b twelve help my pain", "b12_relieves_pain"),
    ("what are the symptoms of b twelve deficiency", "deficiency_symptoms"),
    ("why does b twelve deficiency hurt", "why_deficiency_hurts"),
    ("do b twelve shots make you sore", "injection_aches"),
    ("why do i ache after my b twelve shot", "injection_reasons"),
    ("should i take b twelve pills or shots", "oral_vs_injection"),
    ("what is pernicious anemia", "pernicious_anemia"),
    ("can you take too much b twelve", "too_much_b12"),
    ("how do i find out if i have b twelve deficiency", "diagnosis"),
    ("when should i see a doctor", "see_doctor"),
    ("how much b twelve should i take", "dose_question"),
    ("can b twelve cause aches i also can't breathe", "emergency"),
    ("does vitamin d cause aches", "out_of_scope"),
]


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Voice]:
    folder = tmp_path_factory.mktemp("voices")
    return {"espeak": espeak(folder), "piper": piper(folder)}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def skill(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Skill]:
    # Module-scoped, on one event loop: the recognizer's worker processes belong to the loop that started them.
    cache = tmp_path_factory.mktemp("cache")
    settings = Settings()
    built = build_skill(settings.model_copy(update={"skill": settings.skill.model_copy(update={"cache_dir": cache})}))
    yield built
    await built.close()


@pytest.mark.parametrize("voice", ["espeak", "piper"])
async def test_spoken_golden_questions_get_the_right_answer(skill: Skill, voices: dict[str, Voice], voice: str) -> None:
    wrong = []
    for n, (text, intent) in enumerate(SPOKEN):
        answer = await asyncio.wait_for(skill.listen(pad(voices[voice](text)), f"{voice}-{n}"), timeout=20)
        assert isinstance(answer, Answer), answer
        assert answer.text.endswith(REMINDER) and answer.transcript is not None
        if answer.intent != intent:
            wrong.append((text, answer.transcript, answer.intent))
    # Measured: Piper 15/15, espeak-ng 10/15 (espeak's "twelve" is often heard as "will"): the bounds
    # leave one miss of room each, so a broken recognizer, model or matcher fails here.
    allowed = {"piper": 1, "espeak": 6}[voice]
    assert len(wrong) <= allowed, wrong


SPOKEN_RED_FLAGS = [  # said as a worried person would; each must get the emergency answer
    "my husband collapsed and he won't wake up",
    "she is having a seizure",
    "i have crushing pain in my chest",
    "my throat is closing up after the shot",
    "his face is drooping on one side",
    "i took a whole bottle of my pills on purpose",
    "he's not breathing",
    "i'm coughing up blood",
]


@pytest.mark.parametrize("voice", ["espeak", "piper"])
async def test_spoken_red_flags_get_the_emergency_answer(skill: Skill, voices: dict[str, Voice], voice: str) -> None:
    missed = []
    for n, text in enumerate(SPOKEN_RED_FLAGS):
        answer = await asyncio.wait_for(skill.listen(pad(voices[voice](text)), f"red-{voice}-{n}"), timeout=20)
        assert isinstance(answer, Answer), answer
        if answer.intent != "emergency":
            missed.append((text, answer.transcript, answer.intent))
        else:
            assert "emergency" in answer.text.lower()
    assert not missed, missed  # the red flags' words are in the recognizer's vocabulary (tests/text/test_safety.py)


@pytest.mark.parametrize("voice", ["espeak", "piper"])
async def test_spoken_questions_in_steady_noise(skill: Skill, voices: dict[str, Voice], voice: str) -> None:
    """Pink noise at 12 dB SNR, as from a fan or traffic: the final pass suppresses it first."""
    import numpy as np

    from bench.voices import mix, pink_noise

    noise = pink_noise(16000 * 20, np.random.default_rng(2))
    wrong, missed = [], []
    for n, (text, intent) in enumerate(SPOKEN):
        answer = await asyncio.wait_for(skill.listen(mix(pad(voices[voice](text)), noise, 12.0), f"n{voice}{n}"), 20)
        if not isinstance(answer, Answer) or answer.intent != intent:
            wrong.append(text)
    for n, text in enumerate(SPOKEN_RED_FLAGS):
        answer = await asyncio.wait_for(skill.listen(mix(pad(voices[voice](text)), noise, 12.0), f"nr{voice}{n}"), 20)
        if not isinstance(answer, Answer) or answer.intent != "emergency":
            missed.append(text)
    # Measured with suppression: espeak-ng 14/15 and 8/8, Piper 15/15 and 8/8; without it
    # espeak-ng 13/15 and Piper 6/8 red flags (skill/stt/denoise.py).
    assert len(wrong) <= 1 and not missed, (wrong, missed)


async def test_streamed_chunks_give_partials_then_the_answer(skill: Skill, voices: dict[str, Voice]) -> None:
    from skill.events import AudioChunk, AudioEnd, Transcript

    pcm = pad(voices["piper"]("what is pernicious anemia"))
    partials = []
    for start in range(0, len(pcm), 3200):  # 100 ms chunks, as a microphone sends them
        async for event in skill.pipeline.run(AudioChunk(session="stream", pcm=pcm[start : start + 3200])):
            assert isinstance(event, Transcript) and not event.final
            partials.append(event.text)
    outs = [e async for e in skill.pipeline.run(AudioEnd(session="stream"))]
    assert partials and isinstance(outs[-1], Answer)
    assert outs[-1].intent == "pernicious_anemia" and outs[-1].transcript == "what is pernicious anemia"


async def test_silence_and_noise_get_a_clear_answer_and_the_next_question_works(
    skill: Skill, voices: dict[str, Voice]
) -> None:
    import numpy as np

    silence = b"\x00\x00" * 16000 * 2
    noise = (np.random.default_rng(1).normal(0, 3000, 16000 * 2)).astype(np.int16).tobytes()
    for n, pcm in enumerate((silence, noise)):
        answer = await asyncio.wait_for(skill.listen(pcm, f"quiet-{n}"), timeout=20)
        assert isinstance(answer, Answer) and answer.intent in (None, "out_of_scope"), answer
        assert answer.text.endswith(REMINDER)
    good = await asyncio.wait_for(skill.listen(pad(voices["piper"]("what is pernicious anemia")), "after"), 20)
    assert isinstance(good, Answer) and good.intent == "pernicious_anemia"


async def test_too_long_audio_is_refused_clearly(skill: Skill) -> None:
    ten_minutes = b"\x00\x00" * 16000 * 600
    failed = await asyncio.wait_for(skill.listen(ten_minutes, "long"), timeout=20)
    assert isinstance(failed, Failed) and "too long" in failed.message and "600" in failed.message
