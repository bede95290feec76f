"""Benchmark the HTTP/WebSocket front door on this machine.

    .venv/bin/python bench/server_bench.py [--seconds 5] [--concurrency 8] [--streams 1,2,4,6]

1. POST /v1/ask requests per second, next to a trivial aiohttp endpoint served by the same process
   (the ratio is what our middleware, validation and the skill cost on top of aiohttp itself).
2. Concurrent WebSocket audio streams (real speech from espeak-ng, sent in real time in 100 ms
   frames), with the server's event-loop lag sampled every 10 ms while they run.

The server runs in a child process (its own core), the load generator here; medians are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUESTION = "do b twelve shots make you sore"
FRAME = 3200  # 100 ms of 16 kHz int16


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the server process ---------------------------------------------------------------------------


def run_server(port: int, trivial_port: int) -> None:
    asyncio.run(_serve(port, trivial_port))


async def _serve(port: int, trivial_port: int) -> None:
    from skill.app import build_skill
    from skill.config import Settings
    from skill.server.run import start_servers
    from skill.settings.server import ServerSettings

    settings = Settings(
        server=ServerSettings(port=port, wyoming_enabled=False, rate_per_minute=1e9, rate_burst=10**9, max_streams=64)
    )
    skill = build_skill(settings)
    await skill.speech()
    await skill.voice()
    running = await start_servers(settings, skill)
    lags: list[float] = []

    async def probe() -> None:  # event-loop lag: how late a 10 ms sleep wakes up
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            lags.append(time.perf_counter() - start - 0.01)

    async def trivial(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"type": "answer", "text": "ok"})

    async def lag(request: web.Request) -> web.Response:
        samples = list(lags)
        lags.clear()
        return web.json_response(samples)

    app = web.Application()
    app.router.add_post("/trivial", trivial)
    app.router.add_get("/lag", lag)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", trivial_port).start()
    probe_task = asyncio.create_task(probe())
    try:
        await asyncio.Event().wait()
    finally:
        probe_task.cancel()
        await runner.cleanup()
        await running.stop()
        await skill.close()


# --- the load generator ---------------------------------------------------------------------------


async def wait_up(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"server did not come up at {url}")


async def rps(url: str, body: dict[str, str], seconds: float, concurrency: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                async with http.post(url, json=body) as resp:
                    await resp.read()
                    assert resp.status == 200, resp.status
                latencies.append(time.perf_counter() - start)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return len(latencies) / elapsed, latencies


async def one_stream(http: aiohttp.ClientSession, url: str, pcm: bytes) -> tuple[float, str]:
    """Send one utterance in real time; return (seconds from "end" to the answer, outcome)."""
    async with http.ws_connect(url) as ws:
        await ws.receive()  # ready
        for i in range(0, len(pcm), FRAME):
            await ws.send_bytes(pcm[i : i + FRAME])
            await asyncio.sleep(0.1)
        end = time.perf_counter()
        await ws.send_json({"type": "end"})
        while True:
            msg = await ws.receive(timeout=30)
            if msg.type != aiohttp.WSMsgType.TEXT:
                return time.perf_counter() - end, f"closed: {msg.type}"
            data = json.loads(msg.data)
            if data["type"] in ("answer", "error"):
                outcome = data.get("transcript") or "" if data["type"] == "answer" else f"error {data['code']}"
                return time.perf_counter() - end, outcome


async def streams_round(base: str, trivial: str, pcm: bytes, n: int) -> dict[str, object]:
    async with aiohttp.ClientSession() as http:
        await (await http.get(f"{trivial}/lag")).read()  # reset the lag samples
        results = await asyncio.gather(
            *(one_stream(http, f"{base}/v1/stream?speak=0&session=bench-{n}-{i}", pcm) for i in range(n))
        )
        async with http.get(f"{trivial}/lag") as resp:
            lags = await resp.json()
    errors = [o for _, o in results if o.startswith(("error", "closed"))]
    return {
        "streams": n,
        "answer_after_end_median_s": round(statistics.median(t for t, _ in results), 3),
        "loop_lag_median_ms": round(1000 * statistics.median(lags), 2),
        "loop_lag_p95_ms": round(1000 * sorted(lags)[int(0.95 * (len(lags) - 1))], 2),
        "loop_lag_max_ms": round(1000 * max(lags), 2),
        "errors": errors,
    }


def question_pcm() -> bytes:
    from skill.audio.pcm import decode_wav

    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is needed for the stream benchmark")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "q.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(out), QUESTION], check=True)
        pcm = decode_wav(out)
    pad = b"\0\0" * 8000
    return pad + pcm + pad


async def main_async(args: argparse.Namespace) -> None:
    port, trivial_port = free_port(), free_port()
    ctx = mp.get_context("spawn")
    server = ctx.Process(target=run_server, args=(port, trivial_port), daemon=True)
    server.start()
    base, trivial = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{trivial_port}"
    try:
        await wait_up(f"{base}/healthz")
        await wait_up(f"{trivial}/lag")
        await rps(f"{base}/v1/ask", {"text": "can b12 make me ache"}, 1.0, args.concurrency)  # warm-up
        ask_rps, ask_lat = await rps(f"{base}/v1/ask", {"text": "can b12 make me ache"}, args.seconds, args.concurrency)
        triv_rps, triv_lat = await rps(f"{trivial}/trivial", {"text": "x"}, args.seconds, args.concurrency)
        print(f"concurrency {args.concurrency}, {args.seconds:g} s each")
        print(f"  /v1/ask   {ask_rps:8.0f} req/s   median latency {1000 * statistics.median(ask_lat):6.2f} ms")
        print(f"  trivial   {triv_rps:8.0f} req/s   median latency {1000 * statistics.median(triv_lat):6.2f} ms")
        print(f"  ratio ask/trivial = {ask_rps / triv_rps:.2f}")
        pcm = question_pcm()
        print(f"websocket streams ({len(pcm) / 32000:.1f} s of speech each, sent in real time):")
        for n in args.streams:
            print("  " + json.dumps(await streams_round(base, trivial, pcm, n)))
    finally:
        server.terminate()
        server.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--streams", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4, 6])
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
