"""How cost grows: with the number of intents and phrasings, and with concurrent HTTP clients.

    .venv/bin/python -m bench.scaling [--quick] [--sizes 1,3,10,100] [--clients 1,4,16,64] [--seconds 3]

Intents: the real catalogue plus (k - 1) synthetic copies of every intent, each copy renamed and
with every content word replaced by a distinct nonsense word (function words, slots and template
syntax kept), so a k-times catalogue has k times the intents, phrasings and vocabulary. Each size
is built in a fresh process (a Matcher from the in-memory Catalog): build time, resident memory
added by the build, per-utterance latency p50/p99 over the held-out questions, and held-out
intent accuracy (the real intents are all still there: the distractors must not steal answers).
The matcher keeps an inverted index (token -> phrasings) per slot combination, which grows with
the number of (token, phrasing) pairs, i.e. linearly in k; a size whose index would pass --max-gb
is not built and its memory is reported as an estimate.

HTTP: the server of bench/server_bench.py (rate limits off) in a child process; for each number
of concurrent clients, POST /v1/ask for --seconds: requests per second and p95 latency, next to
the trivial aiohttp endpoint of the same process.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import multiprocessing as mp
import re
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from intents import Catalog, load_catalog
from intents.catalog import IntentSpec, PhraseGroup

_WORD = re.compile(r"[a-z0-9']+")
_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


@dataclass(frozen=True)
class IntentScaleRow:
    size: int  # k: copies of the real catalogue
    intents: int
    templates: int
    phrasings: int  # distinct token sets the matcher scores against
    vocabulary: int
    index_gb: float  # the inverted indexes: token -> int32 phrasing numbers
    built: bool
    build_s: float | None = None
    memory_mb: float | None = None  # resident memory added by building the matcher
    p50_ms: float | None = None
    p99_ms: float | None = None
    accuracy: float | None = None  # held-out questions answered with the right intent (matcher alone)


@dataclass(frozen=True)
class HttpScaleRow:
    clients: int
    ask_rps: float
    ask_p50_ms: float
    ask_p95_ms: float
    trivial_rps: float
    trivial_p95_ms: float


# --- synthetic intents ------------------------------------------------------------------------------


def _nonsense(word: str, copy: int, taken: set[str]) -> str:
    digest = hashlib.sha1(f"{word}/{copy}".encode()).digest()
    n = 0
    while True:
        syllables = [
            _CONSONANTS[digest[(2 * i + n) % 20] % len(_CONSONANTS)] + _VOWELS[digest[(2 * i + 1 + n) % 20] % 5]
            for i in range(3)
        ]
        out = "".join(syllables) + ("" if n == 0 else str(n))
        if out not in taken:
            taken.add(out)
            return out
        n += 1


def synthetic_catalog(catalog: Catalog, k: int) -> Catalog:
    """The real intents plus k-1 renamed copies with their own nonsense content words."""
    if k <= 1:
        return catalog
    keep = set(catalog.lexicon.function_words)
    # Synonyms the lexicon folds together ("ache", "pain", "sore") share one nonsense word, so a
    # copy has as many distinct phrasings as the real intents, not more.
    fold = {form: target for target, forms in catalog.lexicon.canonical.items() for form in forms if " " not in form}
    taken: set[str] = set()
    intents = list(catalog.intents)
    for copy in range(1, k):
        words: dict[str, str] = {}

        def rename(match: re.Match[str], copy: int = copy, words: dict[str, str] = words) -> str:
            w = match.group(0)
            if w in keep:
                return w
            key = fold.get(w, w)
            key = key[:-1] if key.endswith("s") and len(key) > 4 else key
            if key not in words:
                words[key] = _nonsense(key, copy, taken)
            return words[key]

        for intent in catalog.intents:
            groups = tuple(
                PhraseGroup(set=g.set, phrases=tuple(_rename_template(t, rename) for t in g.phrases))
                for g in intent.groups()
            )
            intents.append(
                IntentSpec(name=f"{intent.name}__syn{copy}", family=intent.family, slots=intent.slots, group=groups)
            )
    return catalog.model_copy(update={"intents": tuple(intents)})


def _rename_template(template: str, rename) -> str:  # type: ignore[no-untyped-def]
    # Words outside {slot} markers only: slot names must stay as they are.
    parts = re.split(r"(\{[a-z_]+\})", template)
    return "".join(p if p.startswith("{") else _WORD.sub(rename, p) for p in parts)


def _shape(catalog: Catalog) -> tuple[int, int]:
    from intents.templates import expand

    return (
        sum(len(g.phrases) for i in catalog.intents for g in i.groups()),
        sum(len(expand(t)) for i in catalog.intents for g in i.groups() for t in g.phrases),
    )


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _measure_size(k: int, questions: list[dict], queue: mp.Queue) -> None:  # type: ignore[type-arg]
    from bench.text_accuracy import REFUSALS
    from intents import IntentMatch, Matcher

    catalog = synthetic_catalog(load_catalog(), k)
    gc.collect()
    before = _rss_mb()
    start = time.perf_counter()
    matcher = Matcher(catalog)
    build_s = time.perf_counter() - start
    gc.collect()
    memory = _rss_mb() - before
    tables = matcher._index.values()  # noqa: SLF001 - a benchmark reads the index sizes
    phrasings = sum(len(t.phrases) for t in tables)
    index_gb = sum(a.nbytes for t in tables for a in t.postings.values()) / 1e9
    for q in questions[:20]:
        matcher.understand(q["text"])  # warm the word-correction cache as a server would be
    samples, right = [], 0
    for q in questions:
        t0 = time.perf_counter()
        got = matcher.understand(q["text"])
        samples.append(time.perf_counter() - t0)
        intent = got.intent if isinstance(got, IntentMatch) else None
        want = q["intent"]
        right += intent == want or (want in REFUSALS and intent in REFUSALS)
    samples.sort()
    templates, _ = _shape(catalog)
    queue.put(
        IntentScaleRow(
            size=k,
            intents=len(catalog.intents),
            templates=templates,
            phrasings=phrasings,
            vocabulary=len(matcher._idf),  # noqa: SLF001
            index_gb=round(index_gb, 4),
            built=True,
            build_s=round(build_s, 3),
            memory_mb=round(memory, 1),
            p50_ms=round(1e3 * samples[len(samples) // 2], 3),
            p99_ms=round(1e3 * samples[min(len(samples) - 1, int(len(samples) * 0.99))], 3),
            accuracy=round(right / len(questions), 4),
        )
    )


def intent_scaling(sizes: list[int], questions: list[dict], max_gb: float = 2.0) -> list[IntentScaleRow]:  # type: ignore[type-arg]
    """One fresh process per size; sizes whose index would pass max_gb are estimated, not built."""
    rows: list[IntentScaleRow] = []
    ctx = mp.get_context("spawn")
    for k in sizes:
        base = rows[0] if rows and rows[0].size == 1 and rows[0].built else None
        if base is not None and base.index_gb * k > max_gb:
            catalog = synthetic_catalog(load_catalog(), k)
            templates, _ = _shape(catalog)
            rows.append(
                IntentScaleRow(
                    size=k,
                    intents=len(catalog.intents),
                    templates=templates,
                    phrasings=base.phrasings * k,
                    vocabulary=base.vocabulary * k,
                    index_gb=round(base.index_gb * k, 3),
                    built=False,
                )
            )
            continue
        queue: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
        proc = ctx.Process(target=_measure_size, args=(k, questions, queue))
        proc.start()
        rows.append(queue.get(timeout=1800))
        proc.join(30)
    return rows


# --- concurrent HTTP clients ------------------------------------------------------------------------


async def http_scaling(clients: list[int], seconds: float) -> list[HttpScaleRow]:
    from bench.server_bench import free_port, rps, run_server, wait_up

    port, trivial_port = free_port(), free_port()
    server = mp.get_context("spawn").Process(target=run_server, args=(port, trivial_port), daemon=True)
    server.start()
    base, trivial = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{trivial_port}"
    body = {"text": "can b12 make me ache"}
    rows = []
    try:
        await wait_up(f"{base}/healthz")
        await wait_up(f"{trivial}/lag")
        await rps(f"{base}/v1/ask", body, 1.0, 4)  # warm-up
        for n in clients:
            ask_rate, ask = await rps(f"{base}/v1/ask", body, seconds, n)
            triv_rate, triv = await rps(f"{trivial}/trivial", {"text": "x"}, seconds, n)
            ask.sort()
            triv.sort()
            rows.append(
                HttpScaleRow(
                    clients=n,
                    ask_rps=round(ask_rate, 1),
                    ask_p50_ms=round(1e3 * statistics.median(ask), 2),
                    ask_p95_ms=round(1e3 * ask[int(0.95 * (len(ask) - 1))], 2),
                    trivial_rps=round(triv_rate, 1),
                    trivial_p95_ms=round(1e3 * triv[int(0.95 * (len(triv) - 1))], 2),
                )
            )
    finally:
        server.terminate()
        server.join(5)
    return rows


def main() -> None:
    from bench.text_accuracy import load_cases

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1,3 and 1 s per client count")
    parser.add_argument("--sizes", default=None, help="catalogue multiples (default 1,3,10,100)")
    parser.add_argument("--clients", default="1,4,16,64")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--max-gb", type=float, default=2.0)
    args = parser.parse_args()
    sizes = [int(s) for s in (args.sizes or ("1,3" if args.quick else "1,3,10,100")).split(",")]
    for row in intent_scaling(sizes, load_cases(), args.max_gb):
        print(json.dumps(asdict(row)))
    seconds = args.seconds or (1.0 if args.quick else 3.0)
    for hrow in asyncio.run(http_scaling([int(c) for c in args.clients.split(",")], seconds)):
        print(json.dumps(asdict(hrow)))


if __name__ == "__main__":
    main()
