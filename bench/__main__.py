"""Run every benchmark; write BENCHMARKS.md and the PNG figures in bench/figures/.

    .venv/bin/python -m bench            # full report (about 15 minutes on 2 cores): BENCHMARKS.md, bench/figures/
    .venv/bin/python -m bench --quick    # smoke run (under 2 minutes): subsets, written under .cache/bench-report/
    .venv/bin/python -m bench --only text,speech   # some sections only (names: see bench/report.py SECTIONS)
    .venv/bin/python -m bench --from-json .cache/bench-report/results.json   # re-render without re-running

Sections: understanding on text (this project vs hassil vs rapidfuzz, tests/heldout), spoken accuracy
against SNR (pink and babble noise, espeak-ng and Piper voices), end of speech to first answer audio,
speech-to-text / text-to-speech / HTTP costs (bench/stt_bench.py, tts_bench.py, server_bench.py as
subprocesses), resident memory of `b12-skill serve`, and scaling (bench/scaling.py). The raw results
are kept as JSON next to the report (.cache/bench-report/). Needs matplotlib (the `bench` extra).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bench import plots, report

ROOT = report.ROOT


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run on subsets (under 2 minutes)")
    parser.add_argument("--only", default=None, help="comma-separated section names")
    parser.add_argument(
        "--out", type=Path, default=None, help="report path (default: BENCHMARKS.md; quick: .cache/bench-report/)"
    )
    parser.add_argument("--from-json", type=Path, default=None, help="render saved results instead of running")
    args = parser.parse_args(argv)

    work = ROOT / ".cache" / "bench-report"
    work.mkdir(parents=True, exist_ok=True)
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        saved = work / f"results{'-quick' if args.quick else ''}.json"
        results = report.run(args.quick, args.only.split(",") if args.only else None)
        if args.only and saved.exists():
            # A partial rerun updates those sections of the last full run; the header says which and when.
            fresh, results = results, json.loads(saved.read_text())
            results["sections"].update(fresh["sections"])
            results["timings_s"].update(fresh["timings_s"])
            m = fresh["machine"]
            # Earlier reruns of only these sections are superseded.
            results["reruns"] = [
                r for r in results.get("reruns", []) if not set(r["sections"]) <= set(fresh["sections"])
            ] + [{"sections": sorted(fresh["sections"]), "date": m["date"], "commit": m["commit"]}]
        saved.write_text(json.dumps(results, indent=1))
    quick = results["quick"]
    out = args.out or (work / "BENCHMARKS-quick.md" if quick else ROOT / "BENCHMARKS.md")
    fig_dir = work / "figures" if quick else ROOT / "bench" / "figures"
    command = ".venv/bin/python -m bench" + (" --quick" if quick else "")
    figures: dict[str, str] = {}
    s = results["sections"]

    def rel(path: Path) -> str:
        try:
            return str(path.relative_to(out.parent.resolve()))
        except ValueError:
            return str(path)

    makers = [
        ("text_accuracy", "text", lambda sec: plots.text_accuracy(sec, fig_dir)),
        ("speech_snr", "speech", lambda sec: plots.speech_snr(sec, fig_dir, report.RHINO_REFERENCE)),
        ("scaling_intents", "scaling", lambda sec: plots.scaling_intents(sec["intents"], fig_dir)),
        ("scaling_http", "scaling", lambda sec: plots.scaling_http(sec["http"], fig_dir)),
        ("fleet", "fleet", lambda sec: plots.fleet(sec, fig_dir)),
    ]
    for key, section, make in makers:
        if report._ok(s.get(section)):  # noqa: SLF001 - same package
            figures[key] = rel(make(s[section]).resolve())
    text = report.to_markdown(results, figures, command)
    images = "\n".join(f"![{k}]({p})" for k, p in figures.items())
    text = text.replace(
        "## What is missing or weak",
        f"## Figures\n\nAll produced by `{command}`.\n\n{images}\n\n## What is missing or weak",
    )
    out.write_text(text)
    print(f"wrote {out} and {len(figures)} figures in {fig_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
