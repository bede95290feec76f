"""A fleet of Hermes satellites against 1, 2 and 3 skill instances sharing a broker and Redis.

    python -m bench.fleet [--satellites 50] [--instances 1,2,3] [--kill]
    python -m bench.fleet --cluster 3        (or scripts/cluster.sh 3: the same cluster, kept running)

For each instance count it starts mosquitto (password-protected), redis-server and that many
`b12-skill serve` processes (Hermes door on, conversations in Redis), then every satellite runs a
spoken dialogue (startSession, its question as WAV audio frames, an answer spoken back, a spoken
"tell me more" follow-up answered from the shared conversation, endSession) and two typed NLU
queries. It reports questions per second, p50/p95 latency from the end of a question to its
answer, and how many questions got no answer. All instances share this machine's two cores, so the
figure that matters is the ratio to one instance, and the loss count. `--kill` also kills one
instance with SIGKILL in the middle of the 3-instance run and counts the questions lost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import io
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiomqtt

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "fleet-" + uuid.uuid4().hex[:12]
QUESTIONS = ["do b twelve shots make you sore", "can low b twelve cause tingling", "what is vitamin b twelve"]
TYPED = ["can b12 make me ache", "why do b12 injections hurt", "what are the symptoms of low b12"]
WAIT_S = 120.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def _espeak(text: str) -> bytes:
    out = subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "--stdout", text], capture_output=True, check=True)
    return out.stdout


def _chunks(wav: bytes, frames: int = 2048) -> list[bytes]:
    with wave.open(io.BytesIO(wav)) as w:
        rate, width, pcm = w.getframerate(), w.getsampwidth(), w.readframes(w.getnframes())
    pad = b"\0" * (width * rate // 2)  # half a second of silence either side, as a microphone hears it
    pcm = pad + pcm + pad
    out = []
    for start in range(0, len(pcm), frames * width):
        buf = io.BytesIO()
        with wave.open(buf, "wb") as chunk:
            chunk.setnchannels(1)
            chunk.setsampwidth(width)
            chunk.setframerate(rate)
            chunk.writeframes(pcm[start : start + frames * width])
        out.append(buf.getvalue())
    return out


@dataclass
class Cluster:
    folder: Path
    instances: int
    mqtt_port: int = field(default_factory=_port)
    redis_port: int = field(default_factory=_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    skills: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> None:
        passwd = self.folder / "passwd"
        subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), "b12", PASSWORD], check=True)
        (self.folder / "mosquitto.conf").write_text(
            f"user {getpass.getuser()}\nlistener {self.mqtt_port} 127.0.0.1\nallow_anonymous false\n"
            f"password_file {passwd}\n"
        )
        self._spawn(["mosquitto", "-c", str(self.folder / "mosquitto.conf")])
        self._spawn(
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--requirepass",
                PASSWORD,
            ]
        )
        _wait_port(self.mqtt_port)
        _wait_port(self.redis_port)
        for n in range(self.instances):
            self.skills.append(self._skill(n))
        for n in range(self.instances):
            self._healthy(n)

    def _spawn(self, command: list[str], log: Path | None = None) -> subprocess.Popen[bytes]:
        err = log.open("ab") if log is not None else subprocess.DEVNULL
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err)
        self.processes.append(process)
        return process

    def _skill(self, n: int) -> subprocess.Popen[bytes]:
        config = self.folder / f"skill-{n}.toml"
        config.write_text(
            f'[sessions]\nbackend = "redis"\nredis_url = "redis://:{PASSWORD}@127.0.0.1:{self.redis_port}/0"\n'
            f'[mqtt]\nenabled = true\nport = {self.mqtt_port}\nusername = "b12"\npassword = "{PASSWORD}"\n'
            f"[server]\nport = {8400 + n}\nwyoming_enabled = false\nrate_per_minute = 100000\nrate_burst = 100000\n"
        )
        command = [sys.executable, "-m", "skill.cli", "--config", str(config), "serve"]
        logs = os.environ.get("FLEET_LOGS")  # a folder for each instance's log, when debugging
        return self._spawn(command, Path(logs) / f"skill-{n}.log" if logs else None)

    def _healthy(self, n: int) -> None:
        import urllib.request

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                with urllib.request.urlopen(f"http://127.0.0.1:{8400 + n}/healthz", timeout=2) as r:
                    health = json.loads(r.read())
                if health["status"] == "ok" and health["mqtt"] == "connected":
                    return
            time.sleep(0.3)
        raise RuntimeError(f"skill instance {n} did not become healthy")

    def stop(self) -> None:
        for process in reversed(self.processes):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.contextmanager
def cluster(instances: int) -> Iterator[Cluster]:
    with tempfile.TemporaryDirectory(prefix="b12-fleet-") as folder:
        c = Cluster(Path(folder), instances)
        try:
            c.start()
            yield c
        finally:
            c.stop()


class Router:
    """One MQTT connection for the whole fleet: replies are routed to the satellite waiting for them.
    An answer nobody waits for any more (an intent id already answered, a spoken answer to a site that
    has its own) is a duplicate: delivery is at least once, and a client drops them by id."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self._waiting: dict[tuple[str, str], asyncio.Future[dict[str, Any]]] = {}
        self.duplicates = 0

    def expect(self, kind: str, key: str) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[(kind, key)] = future
        return future

    async def run(self) -> None:
        async for message in self.client.messages:
            topic = str(message.topic)
            payload = bytes(message.payload)  # type: ignore[arg-type]
            if "/playBytes/" in topic:
                kind, key, body = "play", topic.split("/")[2], {"bytes": len(payload)}
            else:
                body = json.loads(payload)
                if topic.startswith("hermes/intent/") or topic.endswith("intentNotRecognized"):
                    kind, key = "intent", str(body.get("id"))
                else:
                    kind, key = topic.rsplit("/", 1)[-1], str(body.get("siteId"))
            future = self._waiting.pop((kind, key), None)
            if future is not None and not future.done():
                future.set_result(body)
            elif kind in ("play", "intent"):
                self.duplicates += 1


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    asked: int = 0


async def _timed(tally: Tally, future: asyncio.Future[dict[str, Any]], since: float) -> dict[str, Any] | None:
    try:
        result = await asyncio.wait_for(future, WAIT_S)
    except TimeoutError:
        return None
    tally.latencies.append(time.perf_counter() - since)
    return result


async def satellite(router: Router, n: int, audio: list[list[bytes]], follow: list[bytes], tally: Tally) -> None:
    """Two spoken questions in a dialogue, then two typed ones: four asked, whatever happens to them."""
    tally.asked += 4
    site = f"sat-{n}"
    publish = router.client.publish
    started = router.expect("sessionStarted", site)
    listening = router.expect("startListening", site)
    await publish(
        "hermes/dialogueManager/startSession", json.dumps({"siteId": site, "init": {"type": "action"}}), qos=1
    )
    try:
        session = (await asyncio.wait_for(started, WAIT_S))["sessionId"]
        await asyncio.wait_for(listening, WAIT_S)
    except TimeoutError:  # the dialogue never started: its two questions count as lost
        session = None
    for frames in (audio[n % len(audio)], follow) if session else ():
        answer, again = router.expect("play", site), router.expect("startListening", site)
        for chunk in frames:
            await publish(f"hermes/audioServer/{site}/audioFrame", chunk)
        await publish("hermes/asr/stopListening", json.dumps({"siteId": site, "sessionId": session}), qos=1)
        if await _timed(tally, answer, time.perf_counter()) is None:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(again, WAIT_S)
    if session:
        ended = router.expect("sessionEnded", site)
        await publish("hermes/dialogueManager/endSession", json.dumps({"sessionId": session}), qos=1)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ended, WAIT_S)
    for k in range(2):
        query_id = f"{site}-q{k}"
        reply = router.expect("intent", query_id)
        body = {"input": TYPED[(n + k) % len(TYPED)], "siteId": site, "id": query_id}
        await publish("hermes/nlu/query", json.dumps(body), qos=1)
        await _timed(tally, reply, time.perf_counter())


async def run_fleet(c: Cluster, satellites: int, kill: bool) -> dict[str, Any]:
    audio = [_chunks(_espeak(q)) for q in QUESTIONS]
    follow = _chunks(_espeak("tell me more"))
    tally = Tally()
    async with aiomqtt.Client(
        "127.0.0.1", c.mqtt_port, username="b12", password=PASSWORD, identifier=f"fleet-{uuid.uuid4().hex[:6]}"
    ) as client:
        for topic in ("hermes/dialogueManager/#", "hermes/asr/startListening", "hermes/audioServer/+/playBytes/#"):
            await client.subscribe(topic, qos=1)
        await client.subscribe("hermes/intent/#", qos=1)
        await client.subscribe("hermes/nlu/intentNotRecognized", qos=1)
        router = Router(client)
        reader = asyncio.create_task(router.run())
        start = time.perf_counter()
        tasks = [asyncio.create_task(satellite(router, n, audio, follow, tally)) for n in range(satellites)]
        if kill and len(c.skills) > 1:
            await asyncio.sleep(5)
            os.kill(c.skills[-1].pid, signal.SIGKILL)
        await asyncio.gather(*tasks, return_exceptions=True)
        elapsed = time.perf_counter() - start
        reader.cancel()
    answered = len(tally.latencies)
    ordered = sorted(tally.latencies) or [float("nan")]
    return {
        "instances": len(c.skills),
        "satellites": satellites,
        "questions": tally.asked,
        "answered": answered,
        "lost": tally.asked - answered,
        "duplicates": router.duplicates,
        "questions_per_s": round(answered / elapsed, 2),
        "p50_s": round(statistics.median(ordered), 3),
        "p95_s": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "killed_one": kill and len(c.skills) > 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--satellites", type=int, default=50)
    parser.add_argument("--instances", default="1,2,3")
    parser.add_argument("--kill", action="store_true", help="SIGKILL one instance during the largest run")
    parser.add_argument("--cluster", type=int, default=0, help="only start this many instances and keep them running")
    args = parser.parse_args()
    if args.cluster:
        with cluster(args.cluster) as c:
            print(f"broker 127.0.0.1:{c.mqtt_port} (user b12, password {PASSWORD}), Redis 127.0.0.1:{c.redis_port}")
            for n in range(args.cluster):
                print(f"skill instance {n}: http://127.0.0.1:{8400 + n}/ (Hermes door on the broker)")
            print("Ctrl-C stops them all.", flush=True)
            stop = {signal.SIGINT, signal.SIGTERM}
            signal.pthread_sigmask(signal.SIG_BLOCK, stop)
            signal.sigwait(stop)
        return
    counts = [int(x) for x in args.instances.split(",")]
    rows = []
    for count in counts:
        with cluster(count) as c:
            row = asyncio.run(run_fleet(c, args.satellites, args.kill and count == max(counts)))
        rows.append(row)
        print(json.dumps(row), flush=True)
    base = rows[0]["questions_per_s"] or float("nan")
    for row in rows:
        print(
            f"{row['instances']} instance(s): {row['questions_per_s']} questions/s "
            f"({row['questions_per_s'] / base:.2f}x one), p50 {row['p50_s']} s, p95 {row['p95_s']} s, "
            f"{row['answered']}/{row['questions']} answered, {row['lost']} lost, {row['duplicates']} duplicate answers"
            + (" (one instance killed mid-run)" if row["killed_one"] else "")
        )


if __name__ == "__main__":
    main()
