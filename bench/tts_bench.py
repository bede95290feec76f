"""Text-to-speech latency: time to first audio (cold, warm, cached) and real-time factor.

    .venv/bin/python bench/tts_bench.py [--runs 20] [--rates 22050,16000] [--json]

cold   = a fresh worker process: start() plus the first chunk of stream()
warm   = worker running, cache off: first chunk of stream(), and the whole synthesize()
cached = the same answer again from the in-memory cache
rtf    = warm synthesize() time / audio duration (lower is faster; 0.01 = 100x real time)
Targets: warm first audio < 50 ms, cached < 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from skill.tts import Synthesizer, TtsSettings  # noqa: E402 - after the path fix above

ANSWER = "Yes. Low B12 can cause nerve pain, and B12 shots can cause short-lived aches. Please check with your doctor."


def ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1000, 2)


async def first_chunk(tts: Synthesizer, rate: int) -> float:
    started = time.perf_counter()
    chunks = tts.stream(ANSWER, sample_rate=rate)
    await anext(chunks)
    elapsed = time.perf_counter() - started
    await chunks.aclose()
    return elapsed


async def bench_rate(rate: int, runs: int, cache_dir: Path) -> dict[str, float]:
    no_cache = TtsSettings(cache_dir=cache_dir, cache_max_mb=0, memory_cache_mb=0)
    cold, cold_start = [], []
    for _ in range(max(3, runs // 4)):
        started = time.perf_counter()
        tts = Synthesizer(no_cache)
        await tts.start()
        cold_start.append(time.perf_counter() - started)
        await first_chunk(tts, rate)
        cold.append(time.perf_counter() - started)
        await tts.close()

    warm_first, warm_full, rtf = [], [], []
    async with Synthesizer(no_cache) as tts:
        await tts.synthesize(ANSWER, sample_rate=rate)  # let the worker settle
        for _ in range(runs):
            warm_first.append(await first_chunk(tts, rate))
            started = time.perf_counter()
            speech = await tts.synthesize(ANSWER, sample_rate=rate)
            warm_full.append(time.perf_counter() - started)
            rtf.append(warm_full[-1] / speech.duration)

    cached, cached_stream = [], []
    async with Synthesizer(TtsSettings(cache_dir=cache_dir)) as tts:
        await tts.synthesize(ANSWER, sample_rate=rate)
        for _ in range(runs):
            started = time.perf_counter()
            speech = await tts.synthesize(ANSWER, sample_rate=rate)
            cached.append(time.perf_counter() - started)
            assert speech.cached  # noqa: S101 - a benchmark sanity check
            cached_stream.append(await first_chunk(tts, rate))

    return {
        "sample_rate": rate,
        "audio_s": round(speech.duration, 2),
        "cold_start_ms": ms(cold_start),
        "cold_first_audio_ms": ms(cold),
        "warm_first_audio_ms": ms(warm_first),
        "warm_synthesize_ms": ms(warm_full),
        "cached_synthesize_ms": ms(cached),
        "cached_first_audio_ms": ms(cached_stream),
        "rtf": round(statistics.median(rtf), 4),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rates", default="22050,16000")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [await bench_rate(int(r), args.runs, Path(tmp) / r) for r in args.rates.split(",")]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"two-sentence answer, medians over {args.runs} runs (cold: {max(3, args.runs // 4)})")
    for key in rows[0]:
        print(f"{key:<24}" + "".join(f"{row[key]:>12}" for row in rows))


if __name__ == "__main__":
    asyncio.run(main())
