"""Spoken questions end to end: two synthesizers, the real recognizer, the whole pipeline.

The phrasings come from the golden set; audio is made at test time by espeak-ng and Piper.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.voices import Voice, espeak, pad, piper
from skill.app import Skill, build_skill
from skill.config import Settings
from skill.events import Answer, Failed

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.fixture(scope="module")
def skill(tmp_path_factory: pytest.TempPathFactory) -> Skill:
    cache = tmp_path_factory.mktemp("cache")
    settings = Settings()
    return build_skill(settings.model_copy(update={"skill": settings.skill.model_copy(update={"cache_dir": cache})}))


@pytest.mark.parametrize("voice", ["espeak", "piper"])
async def test_spoken_golden_questions_get_the_right_answer(skill: Skill, voices: dict[str, Voice], voice: str) -> None:
    wrong = []
    for n, (text, intent) in enumerate(SPOKEN):
        answer = await asyncio.wait_for(skill.listen(pad(voices[voice](text)), f"{voice}-{n}"), timeout=20)
        assert isinstance(answer, Answer), answer
        assert answer.text.endswith(REMINDER) and answer.transcript is not None
        if answer.intent != intent:
            wrong.append((text, answer.transcript, answer.intent))
    # Synthesized speech through the embedded recognizer: at most two misses in fifteen.
    assert len(wrong) <= 2, wrong


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


async def test_silence_and_noise_get_a_clear_answer_and_the_next_question_works(skill: Skill, voices: dict[str, Voice]) -> None:
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


def test_listen_cli_answers_each_file_and_reports_bad_ones(tmp_path: Path) -> None:
    good = tmp_path / "q.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(good), "do b twelve shots make you sore"],
                   check=True, timeout=30)
    stereo = tmp_path / "stereo44k.wav"
    subprocess.run(["sox", str(good), "-r", "44100", "-c", "2", "-b", "8", str(stereo)], check=True, timeout=30)
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("not audio")
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(good.read_bytes()[:2000])
    files = [good, tmp_path / "empty.wav", tmp_path / "text.wav", truncated, stereo]
    out = subprocess.run(
        [sys.executable, "-m", "skill.cli", "listen", *map(str, files), "--json", "--speak-to", str(tmp_path / "a.wav")],
        capture_output=True, timeout=120, cwd=ROOT,
    )
    results = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["file"] for r in results] == [str(f) for f in files]
    assert results[0]["type"] == "answer" and "b twelve shots" in results[0]["transcript"]
    assert results[1]["type"] == "error" and "empty" in results[1]["message"]
    assert results[2]["type"] == "error" and "not a WAV" in results[2]["message"]
    assert results[3]["type"] == "error" and "truncated" in results[3]["message"]
    assert results[4]["type"] == "answer" and "shots" in results[4]["transcript"]
    assert (tmp_path / "a-1.wav").stat().st_size > 10_000 and (tmp_path / "a-5.wav").exists()
    assert not (tmp_path / "a-2.wav").exists()
    assert out.returncode == 1  # some files failed


def test_say_and_voices_cli(tmp_path: Path) -> None:
    out = tmp_path / "say.wav"
    run = subprocess.run([sys.executable, "-m", "skill.cli", "say", "B12 and aches.", "-o", str(out)],
                         capture_output=True, timeout=60, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes()[:4] == b"RIFF"
    bad = subprocess.run([sys.executable, "-m", "skill.cli", "say", "x", "-o", str(tmp_path / "no" / "x.wav")],
                         capture_output=True, timeout=60, cwd=ROOT)
    assert bad.returncode == 2 and b"cannot write speech" in bad.stderr and b"Traceback" not in bad.stderr
    voices = subprocess.run([sys.executable, "-m", "skill.cli", "voices", "--english"], capture_output=True,
                            timeout=60, cwd=ROOT)
    assert voices.returncode == 0 and b"en-us" in voices.stdout
