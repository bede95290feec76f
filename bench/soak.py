"""Soak: a real `b12-skill serve` under a steady mix of good and bad traffic for minutes.

    .venv/bin/python -m bench.soak --minutes 10 [--json out.json]

Every second: four typed questions, a spoken one every other second (POST /v1/listen), a WebSocket
stream every five seconds (audio in 100-ms frames, then "end"), and bad input of every door
(malformed JSON, a mangled WAV, deep JSON on the WebSocket, garbage to Wyoming, a rebound Host
name). Reported: resident memory of the server and of its worker processes at the start and the
end, good requests that failed, bad ones that got anything but a clean 4xx or error event, the
server's log lines that carry a traceback, and p50/p99 latency of the good requests.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench.report import _question_wav, _tree_rss_mb, healthy, served

QUESTION = "do b twelve shots make you sore"


async def _soak(base: str, wyoming_port: int, seconds: float, wav: bytes, pid: int) -> dict[str, Any]:
    latency: dict[str, list[float]] = {"ask": [], "listen": [], "stream": []}
    good_failed: Counter[str] = Counter()
    bad_unclean: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    pcm = wav[44:]
    rss: list[tuple[float, float, float]] = []  # (seconds, server MB, server + workers MB)
    start = time.perf_counter()
    deadline = start + seconds

    async def timed(kind: str, call: Any) -> None:
        t0 = time.perf_counter()
        try:
            ok = await call
        except (aiohttp.ClientError, TimeoutError, ConnectionError):
            ok = False
        counts[kind] += 1
        if ok:
            latency[kind].append(time.perf_counter() - t0)
        else:
            good_failed[kind] += 1

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        if not await healthy(http, base, 600):
            raise RuntimeError("the server did not become ready")

        async def ask() -> bool:
            async with http.post(f"{base}/v1/ask", json={"text": "can b12 make me ache"}) as r:
                return r.status == 200 and (await r.json())["intent"] == "can_b12_cause_aches"

        async def listen() -> bool:
            headers = {"Content-Type": "audio/wav"}
            async with http.post(f"{base}/v1/listen", data=wav, headers=headers) as r:
                return r.status == 200

        async def stream() -> bool:
            async with http.ws_connect(f"{base}/v1/stream?speak=0") as ws:
                await ws.receive_json()
                for i in range(0, len(pcm), 3200):
                    await ws.send_bytes(pcm[i : i + 3200])
                await ws.send_json({"type": "end"})
                while True:
                    msg = json.loads((await ws.receive()).data)
                    if msg["type"] in ("answer", "error"):
                        return bool(msg["type"] == "answer")

        async def bad(n: int) -> None:
            kind = ("json", "wav", "ws", "wyoming", "host")[n % 5]
            counts[f"bad {kind}"] += 1
            try:
                if kind == "json":
                    headers = {"Content-Type": "application/json"}
                    async with http.post(f"{base}/v1/ask", data=b'{"text": [1, {', headers=headers) as r:
                        clean = r.status == 400 and (await r.json())["code"] == "bad_json"
                elif kind == "wav":
                    mangled = b"RIFF\xff\xff\xff\xffWAVEfmt " + wav[16:60]
                    async with http.post(f"{base}/v1/listen", data=mangled, headers={"Content-Type": "audio/wav"}) as r:
                        clean = r.status == 400 and (await r.json())["code"] == "bad_audio"
                elif kind == "ws":
                    async with http.ws_connect(f"{base}/v1/stream?speak=0") as ws:
                        await ws.receive_json()
                        await ws.send_str("[" * 5000)
                        clean = (await ws.receive_json())["code"] == "bad_message"
                elif kind == "wyoming":
                    reader, writer = await asyncio.open_connection("127.0.0.1", wyoming_port)
                    writer.write(b"this is not json\n")
                    await writer.drain()
                    clean = b'"type": "error"' in await asyncio.wait_for(reader.readline(), 10)
                    writer.close()
                else:
                    async with http.get(f"{base}/openapi.json", headers={"Host": "rebind.example"}) as r:
                        clean = r.status == 403
            except (aiohttp.ClientError, TimeoutError, ConnectionError, ValueError, KeyError):
                clean = False
            if not clean:
                bad_unclean[kind] += 1

        # Warm-up: every engine and worker started, so the first memory sample is the steady start.
        await asyncio.gather(ask(), listen(), stream(), listen())
        start = time.perf_counter()
        deadline = start + seconds
        tasks: set[asyncio.Task[None]] = set()
        tick = 0
        while time.perf_counter() < deadline:
            work = [timed("ask", ask()) for _ in range(4)] + [bad(tick)]
            if tick % 2 == 0:
                work.append(timed("listen", listen()))
            if tick % 5 == 0:
                work.append(timed("stream", stream()))
                server, tree = _tree_rss_mb(pid)
                rss.append((round(time.perf_counter() - start, 1), round(server, 1), round(tree, 1)))
            for coro in work:
                task = asyncio.ensure_future(coro)
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            tick += 1
            await asyncio.sleep(max(0.0, start + tick - time.perf_counter()))
        await asyncio.gather(*tasks)
        server, tree = _tree_rss_mb(pid)
        rss.append((round(time.perf_counter() - start, 1), round(server, 1), round(tree, 1)))

    def pct(xs: list[float], q: float) -> float:
        return round(1e3 * sorted(xs)[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else 0.0

    return {
        "seconds": round(time.perf_counter() - start, 1),
        "counts": dict(counts),
        "good_failed": dict(good_failed),
        "bad_unclean": dict(bad_unclean),
        "latency_ms": {k: {"p50": pct(v, 0.5), "p99": pct(v, 0.99), "n": len(v)} for k, v in latency.items()},
        "rss_mb": rss,
        "rss_first_last": {"server": [rss[0][1], rss[-1][1]], "with_workers": [rss[0][2], rss[-1][2]]},
        "median_rss_with_workers": statistics.median(r[2] for r in rss),
    }


def run(minutes: float) -> dict[str, Any]:
    wav = _question_wav(QUESTION)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with log.open("w") as err, served(Path(tmp), err) as (proc, base, wyoming_port):
            result = asyncio.run(_soak(base, wyoming_port, minutes * 60, wav, proc.pid))
        text = log.read_text()
    result["tracebacks_in_log"] = text.count("Traceback (most recent call last)")
    result["log_lines"] = len(text.splitlines())
    result["command"] = f".venv/bin/python -m bench.soak --minutes {minutes:g}"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args(argv)
    result = run(args.minutes)
    text = json.dumps(result, indent=1)
    if args.json:
        args.json.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
