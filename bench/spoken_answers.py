"""Spoken answers scored by what they say: a question set of bench.answer_accuracy, spoken to the real skill.

    python -m bench.spoken_answers --set tests/heldout/answers-19.toml [--every 2]
        [--voices piper,espeak] [--conditions clean,babble:12,pink:12] [--dump answers.jsonl]

Each question is synthesized (espeak-ng, Piper's joe voice), mixed with noise at a speech-to-noise ratio,
and sent through `skill.listen` (recognizer -> understanding -> answer); the earlier turns of a follow-up
are asked as text in the same session first. Each answer is judged as bench.answer_accuracy judges a
typed one, and the typed answers to the same questions are scored beside them: the gap is what hearing
costs. Held-out sets are run without --dump being read: reading the misses makes them development sets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import tomllib
from pathlib import Path
from typing import Any

from bench.answer_accuracy import Verdict, reminders_of, run_cases, summarize, verdict
from bench.speech_accuracy import CACHE, make_noise
from bench.voices import Voice, espeak, mix, pad, piper
from skill.app import Skill, build_skill
from skill.config import load_settings


async def spoken_verdicts(
    skill: Skill, cases: list[dict[str, Any]], voice: Voice, noise: Any, snr: float | None, tag: str
) -> tuple[list[Verdict], list[float]]:
    reminders = reminders_of(skill)
    verdicts, rtfs = [], []
    for n, case in enumerate(cases):
        session = f"{tag}-{n}"
        for turn in case.get("before", []):
            await skill.ask(turn, session)
        pcm = pad(voice(case["text"]))
        if snr is not None:
            pcm = mix(pcm, noise, snr)
        start = time.perf_counter()
        result = await skill.listen(pcm, session)
        rtfs.append((time.perf_counter() - start) / (len(pcm) / 32000))
        verdicts.append(verdict(case, result, reminders))
    return verdicts, rtfs


def line(name: str, summary: dict[str, Any], rtf: float | None = None) -> str:
    right, n = summary["right"], summary["cases"]
    red, calm = summary["red_flags_escalated"], summary["false_alarms_all"]
    extra = f"  wall/audio s {rtf:.3f}" if rtf is not None else ""
    return (
        f"{name:22s} {right:4d}/{n:<4d} {100 * right / n:5.1f}%  red flags {red[0]}/{red[1]}"
        f"  false alarms {calm[0]}/{calm[1]}{extra}"
    )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    cases = tomllib.loads(args.set.read_text())["case"][:: args.every]
    skill = build_skill(load_settings(None))
    try:
        await skill.speech()
        print(f"{len(cases)} questions from {args.set}; recognizer: {skill.engine_note}")
        typed = summarize(await run_cases(skill, cases))
        print(line("typed", typed))
        voices = {"espeak": espeak(CACHE), "piper": piper(CACHE)}
        results: dict[str, Any] = {"typed": typed, "spoken": {}}
        dump = args.dump.open("w") if args.dump else None
        for name in args.voices.split(","):
            for condition in args.conditions.split(","):
                kind, _, level = condition.partition(":")
                noise = make_noise(kind, voices) if kind != "clean" else None
                snr = float(level) if kind != "clean" else None
                verdicts, rtfs = await spoken_verdicts(skill, cases, voices[name], noise, snr, f"{name}-{condition}")
                summary = summarize(verdicts)
                rtf = sorted(rtfs)[len(rtfs) // 2]
                results["spoken"][f"{name} {condition}"] = {**summary, "wall_per_audio_s": round(rtf, 3)}
                print(line(f"{name} {condition}", summary, rtf), flush=True)
                for v in verdicts if dump else ():
                    row = {"voice": name, "condition": condition, "case": v.case, "answer": v.answer, "right": v.right}
                    dump.write(json.dumps(row) + "\n")  # type: ignore[union-attr]
        if dump:
            dump.close()
        return results
    finally:
        await skill.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spoken_answers", description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, required=True, help="question set (TOML, as bench.answer_accuracy)")
    parser.add_argument("--every", type=int, default=1, help="every n-th question only")
    parser.add_argument("--voices", default="piper,espeak")
    parser.add_argument("--conditions", default="clean,babble:12,pink:12", help="clean, or noise:snr_db")
    parser.add_argument("--dump", type=Path, default=None, help="write every spoken answer as JSON lines")
    parser.add_argument("--json", type=Path, default=None, help="write the summaries as JSON")
    args = parser.parse_args(argv)
    results = asyncio.run(run(args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
