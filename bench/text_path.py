"""Text-path benchmark: utterances per second and latency of the in-process pipeline.

    python -m bench.text_path [--rounds 20]

Runs every golden sentence through the whole pipeline (understand + answer,
sessions included), and through the matcher alone, and reports medians,
p50/p99 per utterance. The baseline in the same run is a pipeline whose only
stage echoes the text, so the ratio shows what understanding costs.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

from skill.app import build_skill
from skill.config import Settings
from skill.events import Answer, Event, TextQuery
from skill.pipeline import Pipeline

GOLDEN = Path(__file__).resolve().parent.parent / "tests" / "golden" / "en-us.toml"


class _Echo:
    async def process(self, event: Event) -> AsyncIterator[Event]:
        assert isinstance(event, TextQuery)
        yield Answer(session=event.session, text=event.text, intent=None, confidence=0.0)


async def _time(pipeline: Pipeline, sentences: list[str], rounds: int) -> list[float]:
    out = []
    for r in range(rounds):
        for n, text in enumerate(sentences):
            start = time.perf_counter()
            await pipeline.ask(text, f"s{r}-{n}")
            out.append(time.perf_counter() - start)
    return out


def _report(name: str, samples: list[float]) -> float:
    samples = sorted(samples)
    p50 = samples[len(samples) // 2]
    p99 = samples[int(len(samples) * 0.99)]
    rate = len(samples) / sum(samples)
    print(f"{name:22s} {rate:9.0f} utt/s   p50 {p50 * 1e3:6.3f} ms   p99 {p99 * 1e3:6.3f} ms   (n={len(samples)})")
    return p50


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    sentences = [c["text"] for c in tomllib.loads(GOLDEN.read_text())["case"]]
    start = time.perf_counter()
    skill = build_skill(Settings())
    print(f"start-up (catalogue, matcher index, fact base): {(time.perf_counter() - start) * 1e3:.0f} ms")
    asyncio.run(_time(skill.pipeline, sentences, 2))  # warm caches
    echo = _report("baseline echo pipeline", asyncio.run(_time(Pipeline([_Echo()]), sentences, args.rounds)))
    full = _report("full text pipeline", asyncio.run(_time(skill.pipeline, sentences, args.rounds)))
    print(f"median cost ratio full/echo: {full / echo:.1f}x")


if __name__ == "__main__":
    main()
