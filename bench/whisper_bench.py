"""What the Whisper final pass costs on this machine: load time, CPU real-time factor, memory.

    python -m bench.whisper_bench [--questions 20] [--threads 1]

Every question is one whole-utterance pass (as a file, or a stream's pass in the closing pause), on
held-out questions spoken by both voices, clean. CPU time includes CTranslate2's own threads
(process time), so it is the cost on a shared machine, not the wall time. The pocketsphinx pass the
hybrid runs beside it is measured the same way, so the two add up to the hybrid's cost.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
import tomllib
from pathlib import Path

from bench.voices import espeak, pad, piper
from skill.config import Settings
from skill.corpus import pronunciations, spoken_sentences
from skill.settings.stt import SttSettings
from skill.stt.factory import choose_engine

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "bench-speech"


def measure(questions: int, threads: int) -> dict[str, object]:
    from handlers import load_knowledge
    from intents import load_catalog

    settings = Settings()
    catalog = load_catalog()
    kb = load_knowledge(settings.skill.reminder)
    cases = tomllib.loads((ROOT / "tests" / "heldout" / "questions.toml").read_text())["case"]
    cases = cases[:: max(1, len(cases) // questions)][:questions]
    sentences = spoken_sentences(catalog, kb)
    cache = settings.skill.cache_path() / "stt"
    out: dict[str, object] = {"questions": len(cases), "threads": threads}
    # "whisper, short window": the same weights on the question plus 10 s ([stt] whisper_full_window = false).
    for engine in ("whisper", "whisper, short window", "pocketsphinx"):
        full = engine != "whisper, short window"
        stt = SttSettings(engine=engine.split(",")[0], whisper_cpu_threads=threads, whisper_full_window=full)
        spec = choose_engine(stt, sentences, cache, pronunciations("en-us"), catalog.lexicon.prompt_terms).engine.spec()
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        built = spec.build()
        load_s = time.perf_counter() - t0
        rtfs: dict[str, list[float]] = {}
        for name, voice in (("espeak", espeak(CACHE)), ("piper", piper(CACHE))):
            for case in cases:
                pcm = pad(voice(case["text"]))
                seconds = len(pcm) / 32000
                c0 = time.process_time()
                built.transcribe(pcm)  # the whole utterance as the engine hears it (the hybrid: both passes)
                rtfs.setdefault(name, []).append((time.process_time() - c0) / seconds)
                if engine.startswith("whisper"):
                    c0 = time.process_time()
                    built.final_result(pcm, seconds)  # the Whisper pass alone
                    rtfs.setdefault(f"{name}, Whisper pass alone", []).append((time.process_time() - c0) / seconds)
        out[engine] = {
            "load_s": round(load_s, 2),
            "rtf_median": {k: round(statistics.median(v), 3) for k, v in rtfs.items()},
            "peak_rss_added_mb": round((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    print(json.dumps(measure(args.questions, args.threads), indent=1))


if __name__ == "__main__":
    main()
