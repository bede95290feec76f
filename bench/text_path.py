"""Text-path benchmark: utterances per second and latency of the in-process pipeline.

    python -m bench.text_path [--rounds 20]

Runs every golden sentence through the whole pipeline (understand + answer,
sessions included) and reports p50/p99 per utterance: with the word rules only,
then with the semantic red-flag check as well, whose own time per question
(zero where a rule fired and it never ran) is reported apart. The baseline in
the same run is a pipeline whose only stage echoes the text, so the ratio
shows what understanding costs.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path

from intents.semantic import SemanticFlag, SemanticRedFlags
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


class _Timed:
    """The semantic check, timed: seconds spent in it since the last `take`."""

    def __init__(self, check: SemanticRedFlags) -> None:
        self._check = check
        self._spent = 0.0
        self.embedded = 0  # questions that had a clause to embed

    def find(self, text: str) -> SemanticFlag | None:
        self.embedded += bool(self._check.clauses(text))
        start = time.perf_counter()
        try:
            return self._check.find(text)
        finally:
            self._spent += time.perf_counter() - start

    def take(self) -> float:
        spent, self._spent = self._spent, 0.0
        return spent


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    ordered = sorted(samples)
    return 1e3 * ordered[len(ordered) // 2], 1e3 * ordered[int(0.99 * (len(ordered) - 1))]


def _report(name: str, samples: list[float]) -> float:
    p50, p99 = percentiles(samples)
    rate = len(samples) / sum(samples)
    print(f"{name:28s} {rate:9.0f} utt/s   p50 {p50:6.3f} ms   p99 {p99:6.3f} ms   (n={len(samples)})")
    return p50


async def _semantic_share(pipeline: Pipeline, timed: _Timed, sentences: list[str], rounds: int) -> list[float]:
    out = []
    for r in range(rounds):
        for n, text in enumerate(sentences):
            timed.take()
            await pipeline.ask(text, f"t{r}-{n}")
            out.append(timed.take())
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    sentences = [c["text"] for c in tomllib.loads(GOLDEN.read_text())["case"]]
    start = time.perf_counter()
    skill = build_skill(Settings())
    print(f"start-up (catalogue, matcher index, fact base, embeddings): {(time.perf_counter() - start) * 1e3:.0f} ms")
    rules = build_skill(Settings.model_validate({"matcher": {"semantic_red_flags": False}}))
    for warm in (skill, rules):
        asyncio.run(_time(warm.pipeline, sentences, 2))
    echo = _report("baseline echo pipeline", asyncio.run(_time(Pipeline([_Echo()]), sentences, args.rounds)))
    only = _report("text pipeline, rules only", asyncio.run(_time(rules.pipeline, sentences, args.rounds)))
    full = _report("text pipeline + semantic", asyncio.run(_time(skill.pipeline, sentences, args.rounds)))
    print(f"median cost ratio rules-only/echo: {only / echo:.1f}x, with semantic/echo: {full / echo:.1f}x")
    if skill.matcher.semantic is not None:
        timed = _Timed(skill.matcher.semantic)
        skill.matcher.semantic = timed  # type: ignore[assignment]
        spent = asyncio.run(_semantic_share(skill.pipeline, timed, sentences, args.rounds))
        p50, p99 = percentiles(spent)
        print(
            f"semantic check's own time per question: p50 {p50:.3f} ms, p99 {p99:.3f} ms "
            f"({timed.embedded} of {len(spent)} questions had a clause to embed)"
        )


if __name__ == "__main__":
    main()
