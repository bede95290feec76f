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
from pathlib import Path

import numpy as np

from bench.voices import babble, espeak, mix, pad, pink_noise, piper
from skill.app import build_skill
from skill.config import Settings
from skill.events import Answer

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


async def run(args: argparse.Namespace) -> None:
    cases = tomllib.loads((ROOT / "tests" / args.set).read_text())["case"]
    if args.quick:
        cases = cases[::6]
    voices = {"espeak": espeak(CACHE), "piper": piper(CACHE)}
    settings = Settings()
    if args.off_topic_threshold is not None:
        matcher = settings.matcher.model_copy(update={"off_topic_threshold": args.off_topic_threshold})
        settings = settings.model_copy(update={"matcher": matcher})
    skill = build_skill(settings)
    start = time.perf_counter()
    await skill.speech()
    load_s = time.perf_counter() - start
    print(f"recognizer: {skill.engine_note}\nload (domain model cached or built + decoder): {load_s * 1000:.0f} ms")
    rng = np.random.default_rng(7)
    noise_kind = args.noise
    noise = (
        pink_noise(16000 * 20, rng)
        if noise_kind == "pink"
        else babble([voices["espeak"], voices["piper"]], [c["text"] for c in cases[:6]])
    )
    print(f"{len(cases)} held-out questions; noise: {noise_kind}\n")
    print(f"{'voice':7s} {'snr':>6s} {'intent ok':>10s} {'same as text':>13s} {'WER':>6s} {'RTF':>6s}")
    for name in args.voices.split(","):
        voice = voices[name]
        for snr in args.snr.split(","):
            ok = agree = 0
            errors, rtfs = [], []
            for n, case in enumerate(cases):
                pcm = pad(voice(case["text"]))
                if snr != "clean":
                    pcm = mix(pcm, noise, float(snr))
                t0 = time.perf_counter()
                answer = await skill.listen(pcm, f"{name}-{snr}-{n}")
                rtfs.append((time.perf_counter() - t0) / (len(pcm) / 32000))
                text_answer = await skill.ask(case["text"], f"text-{n}")
                got = (answer.intent or "fallback") if isinstance(answer, Answer) else "error"
                want_text = text_answer.intent or "fallback" if isinstance(text_answer, Answer) else "error"
                ok += same(got, case["intent"])
                agree += same(got, want_text)
                heard = answer.transcript or "" if isinstance(answer, Answer) else ""
                errors.append(wer(" ".join(case["text"].split()), heard))
            total = len(cases)
            print(
                f"{name:7s} {snr:>6s} {100 * ok / total:9.1f}% {100 * agree / total:12.1f}% "
                f"{100 * statistics.mean(errors):5.1f}% {statistics.median(rtfs):6.3f}"
            )
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
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
