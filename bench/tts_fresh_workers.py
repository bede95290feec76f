"""Fresh text-to-speech workers, many at once: does each speak its first utterances at the rate asked?

    python -m bench.tts_fresh_workers [--workers 4500] [--parallel 8]

Starts the pyttsx3/espeak-ng worker process (skill/tts/worker.py) again and again, several at a time,
and has each say three sentences at 170 words a minute; prints how often each set of lengths (in
frames) came back. Every worker should give the same lengths: a different set means a sentence was
spoken at another rate (espeak applying a queued parameter late; about 1 fresh worker in 1,500 did so
before the rate travelled with the text as an embedded command).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import json
import subprocess
import sys
import tempfile
from pathlib import Path

WORKER = Path(__file__).resolve().parent.parent / "skill" / "tts" / "worker.py"
SENTENCES = ["apple.", "The next one works.", "Hello there, how are you today."]


def one_worker(_: int) -> tuple[int | None, ...]:
    with tempfile.TemporaryDirectory() as folder:
        process = subprocess.Popen(
            [sys.executable, str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdin is not None and process.stdout is not None  # noqa: S101 - pipes were asked for
        voice = json.loads(process.stdout.readline())["default_voice"]
        lengths = []
        for n, text in enumerate(SENTENCES):
            request = {"op": "synth", "id": n, "voice": voice, "rate": 170, "volume": 1.0, "text": text}
            process.stdin.write(json.dumps(request | {"path": f"{folder}/{n}.wav"}) + "\n")
            process.stdin.flush()
            lengths.append(json.loads(process.stdout.readline()).get("frames"))
        process.stdin.close()
        process.wait(10)
    return tuple(lengths)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.tts_fresh_workers")
    parser.add_argument("--workers", type=int, default=1500)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    counts: collections.Counter[tuple[int | None, ...]] = collections.Counter()
    with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
        counts.update(pool.map(one_worker, range(args.workers)))
    for lengths, n in counts.most_common():
        print(f"{n:6d} workers: frames {lengths}")
    print(f"{args.workers - counts.most_common(1)[0][1]} of {args.workers} fresh workers differed from the rest")


if __name__ == "__main__":
    main()
