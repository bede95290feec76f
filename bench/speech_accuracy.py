"""Spoken accuracy: held-out questions, synthesized, through the real skill (recognizer -> answer).

    python -m bench.speech_accuracy [--quick] [--snr clean,12,6] [--voices espeak,piper] [--noise pink|babble]

For every voice and noise level: the share of questions answered with the intent their label
names (and, separately, with the same intent the text path gives for the exact words, which
isolates what speech recognition costs), word error rate, real-time factor, recognizer load time.
The held-out questions (tests/heldout/questions.toml) were never used to build the intents, so
they are not in the language model either.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.voices import Voice, babble, espeak, mix, pad, pink_noise, piper
from skill.app import Skill, build_skill
from skill.config import Settings
from skill.events import Answer
from skill.stt.domain_model import normalize  # the reference as the recognizer spells it: "b twelve", no punctuation

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench-speech"
REFUSAL = {"out_of_scope", "fallback"}


def wer(ref: str, hyp: str) -> float:
    r, h = ref.split(), hyp.split()
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(h)] / max(1, len(r))


def same(a: str, b: str) -> bool:
    return a == b or (a in REFUSAL and b in REFUSAL)


BABBLE_TEXTS = [  # the talkers of the babble noise: a room talking about other things
    "what time does the train leave for the city tomorrow morning",
    "i think we should paint the kitchen a lighter colour this year",
    "the football match was cancelled because of the storm last night",
    "could you pass me the salt and the pepper please",
    "my sister is moving to a new flat near the river next month",
    "they say the new bakery on the corner makes excellent bread",
]


@dataclass(frozen=True)
class SpeechRow:
    engine: str
    voice: str
    noise: str
    snr: str  # "clean" or dB as text
    n: int
    ok: int  # answered with the labelled intent
    agree: int  # same intent as the text path gives for the exact words
    wer: float
    rtf: float


def make_noise(kind: str, voices: dict[str, Voice], seed: int = 7) -> np.ndarray:
    if kind == "pink":
        return pink_noise(16000 * 20, np.random.default_rng(seed))
    return babble([voices["espeak"], voices["piper"]], BABBLE_TEXTS)


async def measure(
    skill: Skill,
    cases: list[dict],  # type: ignore[type-arg]
    voice_names: list[str],
    conditions: list[tuple[str, str]],  # (noise kind, snr) pairs; snr "clean" ignores the noise
    on_row: Callable[[SpeechRow], None] | None = None,
) -> list[SpeechRow]:
    """Every voice x condition over `cases`, through skill.listen (recognizer -> understanding -> answer).

    A question counts when its answer is the labelled one: the labelled intent, or an answer that says the
    labelled answer's first fact (bench.text_accuracy.answer_ok), as on the text path."""
    from bench.text_accuracy import answer_ok

    engine = (await skill.speech()).engine.name
    voices = {"espeak": espeak(CACHE), "piper": piper(CACHE)}
    noises = {kind: make_noise(kind, voices) for kind in {k for k, snr in conditions if snr != "clean"}}
    text_intent: dict[int, str] = {}
    for n, case in enumerate(cases):
        text_answer = await skill.ask(case["text"], f"text-{n}")
        text_intent[n] = (text_answer.intent or "fallback") if isinstance(text_answer, Answer) else "error"

    def right(case: dict, answer: object) -> bool:  # type: ignore[type-arg]
        if not isinstance(answer, Answer):
            return False
        got = answer.intent or "fallback"
        parts = answer.frame.parts if answer.frame else ()
        slots = next((dict(p.slots) for p in parts if p.intent == answer.intent), {})
        return answer_ok(case, got, slots, answer.facts, skill.knowledge)

    rows = []
    for name in voice_names:
        voice = voices[name]
        for kind, snr in conditions:
            ok = agree = 0
            errors, rtfs = [], []
            for n, case in enumerate(cases):
                pcm = pad(voice(case["text"]))
                if snr != "clean":
                    pcm = mix(pcm, noises[kind], float(snr))
                t0 = time.perf_counter()
                answer = await skill.listen(pcm, f"{name}-{kind}-{snr}-{n}")
                rtfs.append((time.perf_counter() - t0) / (len(pcm) / 32000))
                got = (answer.intent or "fallback") if isinstance(answer, Answer) else "error"
                ok += right(case, answer)
                agree += same(got, text_intent[n])
                heard = answer.transcript or "" if isinstance(answer, Answer) else ""
                # Both sides spelled alike ("b12" and "b twelve", digits as words): Whisper writes "B12".
                errors.append(wer(" ".join(normalize(case["text"])), " ".join(normalize(heard))))
            row = SpeechRow(
                engine,
                name,
                "none" if snr == "clean" else kind,
                snr,
                len(cases),
                ok,
                agree,
                statistics.mean(errors),
                statistics.median(rtfs),
            )
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows


def settings_with(off_topic_threshold: float | None, engine: str = "auto") -> Settings:
    settings = Settings()
    settings = settings.model_copy(update={"stt": settings.stt.model_copy(update={"engine": engine})})
    if off_topic_threshold is not None:
        matcher = settings.matcher.model_copy(update={"off_topic_threshold": off_topic_threshold})
        settings = settings.model_copy(update={"matcher": matcher})
    return settings


async def run(args: argparse.Namespace) -> None:
    cases = tomllib.loads((ROOT / "tests" / args.set).read_text())["case"]
    if args.quick:
        cases = cases[::6]
    skill = build_skill(settings_with(args.off_topic_threshold, args.engine))
    start = time.perf_counter()
    await skill.speech()
    load_s = time.perf_counter() - start
    print(f"recognizer: {skill.engine_note}\nload (domain model cached or built + decoder): {load_s * 1000:.0f} ms")
    print(f"{len(cases)} held-out questions; noise: {args.noise}\n")
    print(f"{'voice':7s} {'snr':>6s} {'intent ok':>10s} {'same as text':>13s} {'WER':>6s} {'RTF':>6s}")

    def show(row: SpeechRow) -> None:
        print(
            f"{row.voice:7s} {row.snr:>6s} {100 * row.ok / row.n:9.1f}% {100 * row.agree / row.n:12.1f}% "
            f"{100 * row.wer:5.1f}% {row.rtf:6.3f}"
        )

    conditions = [(args.noise, snr) for snr in args.snr.split(",")]
    await measure(skill, cases, args.voices.split(","), conditions, show)
    print(
        f"\npeak memory (whole benchmark process): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    await skill.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="every sixth question only")
    parser.add_argument("--snr", default="clean,12,6")
    parser.add_argument("--voices", default="espeak,piper")
    parser.add_argument("--noise", default="pink", choices=["pink", "babble"])
    parser.add_argument(
        "--set", default="heldout/questions.toml", help="question file under tests/ (dev sets for tuning)"
    )
    parser.add_argument(
        "--off-topic-threshold", type=float, default=None, help="override [matcher] off_topic_threshold"
    )
    parser.add_argument("--engine", default="auto", choices=["auto", "whisper", "pocketsphinx", "vosk"])
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
