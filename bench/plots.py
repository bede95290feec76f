"""PNG figures from the results of bench.report.run (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the headless backend

CATEGORIES = ["domain", "out_of_scope", "emergency", "dose_question", "builtin"]
LABELS = {
    "domain": "answers\n(domain intents)",
    "out_of_scope": "refusals\n(out of scope)",
    "emergency": "emergencies\ncaught",
    "dose_question": "dose\nquestions",
    "builtin": "built-ins",
}


def text_accuracy(section: dict[str, Any], out: Path) -> Path:
    rows = section["rows"]
    fig, ax = plt.subplots(figsize=(10, 5.5))
    width = 0.8 / len(rows)
    for n, row in enumerate(rows):
        values = [100 * row["categories"][c][0] / row["categories"][c][1] for c in CATEGORIES]
        xs = [i + (n - (len(rows) - 1) / 2) * width for i in range(len(CATEGORIES))]
        ax.bar(xs, values, width, label=f"{row['system']}: {100 * row['right'] / row['total']:.0f}% overall")
    ax.set_xticks(range(len(CATEGORIES)), [LABELS[c] for c in CATEGORIES])
    ax.set_ylabel("% of held-out questions right")
    ax.set_ylim(0, 105)
    ax.set_title(f"Understanding on text: {section['cases']} held-out questions")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, out / "text_accuracy.png")


def speech_snr(section: dict[str, Any], out: Path, rhino: float) -> Path:
    rows = section["rows"]
    fig, ax = plt.subplots(figsize=(9, 5))
    engines = list(dict.fromkeys(r.get("engine", "pocketsphinx") for r in rows))
    for engine, marker in zip(engines, ("o", "x", "s"), strict=False):
        for voice, colour in (("espeak", "tab:blue"), ("piper", "tab:orange")):
            mine = [r for r in rows if r.get("engine", "pocketsphinx") == engine and r["voice"] == voice]
            clean = [r for r in mine if r["snr"] == "clean"]
            for noise, style in (("pink", "-"), ("babble", "--")):
                pts = sorted(
                    ((float(r["snr"]), 100 * r["ok"] / r["n"]) for r in mine if r["noise"] == noise), reverse=True
                )
                if pts:
                    ax.plot(
                        [p[0] for p in pts],
                        [p[1] for p in pts],
                        style,
                        marker=marker,
                        color=colour,
                        alpha=1.0 if engine == engines[0] else 0.5,
                        label=f"{engine}, {voice}, {noise}",
                    )
            if clean:
                ax.scatter(
                    [27],
                    [100 * clean[0]["ok"] / clean[0]["n"]],
                    marker="*" if engine == engines[0] else "P",
                    s=160,
                    color=colour,
                    zorder=3,
                    label=f"{engine}, {voice}, clean",
                )
    ax.axhline(rhino, color="grey", linestyle=":", label=f"Rhino {rhino}% (own coffee task, 6-24 dB; not comparable)")
    ax.set_xlim(28.5, 4.5)  # noisier to the right
    ticks = [27, 24, 21, 18, 15, 12, 9, 6]
    ax.set_xticks(ticks, ["clean", *[str(t) for t in ticks[1:]]])
    ax.set_xlabel("signal-to-noise ratio, dB")
    ax.set_ylabel("% spoken questions answered right")
    ax.set_ylim(0, 100)
    ax.set_title(f"Spoken held-out questions ({section['questions']}): Whisper tiny.en hybrid vs pocketsphinx")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(alpha=0.3)
    return _save(fig, out / "speech_snr.png")


def scaling_intents(rows: list[dict[str, Any]], out: Path) -> Path:
    built = [r for r in rows if r["built"]]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    ks = [r["size"] for r in built]
    axes[0].plot(ks, [r["build_s"] for r in built], marker="o")
    axes[0].set_title("matcher build time, s")
    axes[1].plot(ks, [r["memory_mb"] for r in built], marker="o", label="measured")
    est = [r for r in rows if not r["built"]]
    if est:
        axes[1].plot(
            [r["size"] for r in est],
            [1000 * r["index_gb"] for r in est],
            marker="x",
            linestyle="none",
            color="red",
            label="index, estimated (not built)",
        )
    axes[1].set_title("memory added by the matcher, MB")
    axes[1].set_yscale("log")
    axes[1].legend(fontsize=8)
    axes[2].plot(ks, [r["p50_ms"] for r in built], marker="o", label="p50")
    axes[2].plot(ks, [r["p99_ms"] for r in built], marker="o", label="p99")
    axes[2].set_title("per-utterance latency, ms")
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("catalogue size (x the real 23 intents)")
        ax.grid(alpha=0.3)
    return _save(fig, out / "scaling_intents.png")


def scaling_http(rows: list[dict[str, Any]], out: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    cs = [r["clients"] for r in rows]
    axes[0].plot(cs, [r["ask_rps"] for r in rows], marker="o", label="POST /v1/ask")
    axes[0].plot(cs, [r["trivial_rps"] for r in rows], marker="o", label="trivial aiohttp endpoint")
    axes[0].set_title("throughput, requests/s")
    axes[1].plot(cs, [r["ask_p95_ms"] for r in rows], marker="o", label="POST /v1/ask")
    axes[1].plot(cs, [r["trivial_p95_ms"] for r in rows], marker="o", label="trivial aiohttp endpoint")
    axes[1].set_title("p95 latency, ms")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(cs, [str(c) for c in cs])
        ax.set_xlabel("concurrent clients")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return _save(fig, out / "scaling_http.png")


def fleet(section: dict[str, Any], out: Path) -> Path:
    rows = section["rows"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    counts = [r["instances"] for r in rows]
    left.bar(counts, [r["questions_per_s"] for r in rows], color="tab:blue")
    left.set_xticks(counts)
    left.set_xlabel("skill instances (sharing 2 cores)")
    left.set_ylabel("questions answered per second")
    left.set_title(f"{rows[0]['satellites']} satellites over MQTT")
    right.plot(counts, [r["p50_s"] for r in rows], "o-", label="p50")
    right.plot(counts, [r["p95_s"] for r in rows], "s--", label="p95")
    right.set_xticks(counts)
    right.set_xlabel("skill instances")
    right.set_ylabel("seconds from question end to answer")
    right.legend()
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return _save(fig, out / "fleet.png")


def _save(fig: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
