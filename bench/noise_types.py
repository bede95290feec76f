"""Does the final pass's steady-noise suppression help beyond the pink noise it was chosen on?

    python -m bench.noise_types [--set dev/questions-2.toml] [--every 2] [--snr 12]

Every `--every`-th question of a set, both voices, mixed at `--snr` dB with white, brown, fan-like
and pink noise, through `skill.listen` twice: with `[stt] pocketsphinx_denoise` on and off.
Prints right intents for each (and how often the steadiness gate fired on the whole clip).
"""

from __future__ import annotations

import argparse
import asyncio
import tomllib

import numpy as np

from bench.speech_accuracy import CACHE, ROOT, same
from bench.voices import espeak, mix, pad, pink_noise, piper, steady_noises
from skill.app import build_skill
from skill.config import Settings
from skill.events import Answer
from skill.stt.denoise import steady_noise


def settings(denoise: bool) -> Settings:
    base = Settings()
    return base.model_copy(update={"stt": base.stt.model_copy(update={"pocketsphinx_denoise": denoise})})


async def run(args: argparse.Namespace) -> None:
    cases = tomllib.loads((ROOT / "tests" / args.set).read_text())["case"][:: args.every]
    n = 16000 * 20
    noises = {**steady_noises(n, np.random.default_rng(11)), "pink": pink_noise(n, np.random.default_rng(7))}
    voices = {"espeak": espeak(CACHE), "piper": piper(CACHE)}
    skills = {on: build_skill(settings(on)) for on in (False, True)}
    print(f"{len(cases)} questions of {args.set}, {args.snr:g} dB; right intents without -> with suppression")
    for voice_name, voice in voices.items():
        for noise_name, noise in noises.items():
            clips = [mix(pad(voice(case["text"])), noise, args.snr) for case in cases]
            right = {}
            for on, skill in skills.items():
                answers = [await skill.listen(pcm, f"{voice_name}-{noise_name}-{k}") for k, pcm in enumerate(clips)]
                right[on] = sum(
                    same((a.intent or "fallback") if isinstance(a, Answer) else "error", case["intent"])
                    for a, case in zip(answers, cases, strict=True)
                )
            fired = sum(map(steady_noise, clips))
            print(
                f"{voice_name:7s} {noise_name:6s} {right[False]:3d} -> {right[True]:3d}  (gate fired on {fired})",
                flush=True,
            )
    for skill in skills.values():
        await skill.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", default="dev/questions-2.toml", help="question file under tests/")
    parser.add_argument("--every", type=int, default=2)
    parser.add_argument("--snr", type=float, default=12.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
