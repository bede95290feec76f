"""Conversations in a real Redis (redis-server started here on a free port): shared by instances,
expiring with a TTL, bounded, password-protected, and never a crash when Redis goes away."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from server_support import RedisServer, T, free_port, serving, settings

from handlers import Conversation
from skill.app import Skill
from skill.config import SessionSettings, Settings
from skill.errors import ConfigError
from skill.redis_sessions import RedisSessions
from skill.server.run import start_servers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: scripts/setup.sh --test installs it")
    server = RedisServer(free_port(), password="correct-horse-battery")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _skill(url: str, **sessions: object) -> Skill:
    return Skill(Settings(sessions=SessionSettings(backend="redis", redis_url=url, **sessions)))  # type: ignore[arg-type]


async def test_a_follow_up_asked_of_another_instance_continues_the_conversation(redis_server: RedisServer) -> None:
    kitchen, hallway = _skill(redis_server.url), _skill(redis_server.url)
    try:
        first = await kitchen.ask("do b12 shots make you sore", "flat-3")
        follow = await hallway.ask("how long does that last", "flat-3")
        alone = await Skill(Settings()).ask("how long does that last", "flat-3")
        assert first.intent == "injection_aches"  # type: ignore[union-attr]
        assert "injection" in follow.text.lower() and follow.facts[0] == "compare.onset.injection"  # type: ignore[union-attr]
        assert follow.text != alone.text  # without the shared conversation it is not about the shots
    finally:
        await kitchen.close()
        await hallway.close()


async def test_keys_are_namespaced_expire_with_the_idle_timeout_and_are_bounded(redis_server: RedisServer) -> None:
    from redis import asyncio as aioredis

    store = RedisSessions(redis_server.url, idle_timeout_s=120, max_sessions=2, prefix="test-b12:")
    client = aioredis.from_url(redis_server.url, decode_responses=True)
    try:
        await store.open()
        for sid in ("a", "b", "c"):
            await store.put(Conversation(id=sid, turns=1))
            await asyncio.sleep(0.01)
        keys = sorted(await client.keys("*"))
        assert keys == ["test-b12:session:b", "test-b12:session:c", "test-b12:sessions"]  # "a", the oldest, dropped
        assert 0 < await client.ttl("test-b12:session:c") <= 120
        assert await store.count() == 2 and (await store.get("a")).turns == 0 and (await store.get("c")).turns == 1
        await store.end("c")
        assert (await store.get("c")).turns == 0 and await store.count() == 1
        await client.set("test-b12:session:b", "not json")  # another version's value: start afresh
        assert (await store.get("b")).turns == 0
    finally:
        await client.aclose()
        await store.close()


async def test_an_expired_conversation_starts_afresh(redis_server: RedisServer) -> None:
    store = RedisSessions(redis_server.url, idle_timeout_s=1, max_sessions=10)
    try:
        await store.put(Conversation(id="brief", turns=3))
        assert (await store.get("brief")).turns == 3
        await asyncio.sleep(2.2)
        assert (await store.get("brief")).turns == 0
    finally:
        await store.close()


async def test_an_unreachable_or_refusing_redis_stops_the_start_with_one_line(redis_server: RedisServer) -> None:
    wrong = RedisServer(redis_server.port, password="wrong-password-here")
    for url, reason in ((f"redis://127.0.0.1:{free_port()}/0", "connect"), (wrong.url, "password")):
        skill = _skill(url)
        try:
            with pytest.raises(ConfigError) as caught:
                await asyncio.wait_for(start_servers(settings(), skill), T)
        finally:
            await skill.close()
        message = caught.value.message
        assert message.startswith("[sessions] cannot reach Redis at redis://") and "\n" not in message
        assert reason in message.lower() and "wrong-password-here" not in message  # the secret is never shown


def test_serve_exits_2_when_redis_is_down(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[sessions]\nbackend = "redis"\nredis_url = "redis://127.0.0.1:{free_port()}/0"\n')
    out = subprocess.run(
        [sys.executable, "-m", "skill.cli", "--config", str(config), "serve", "--port", "0", "--wyoming-port", "0"],
        capture_output=True,
        timeout=60,
        cwd=ROOT,
    )
    err = out.stderr.decode()
    assert out.returncode == 2 and err.startswith("b12-skill: [sessions] cannot reach Redis") and "Traceback" not in err


async def test_redis_going_away_degrades_to_answers_without_memory_then_recovers(redis_server: RedisServer) -> None:
    skill = _skill(redis_server.url)
    try:
        async with serving(skill) as running, aiohttp.ClientSession() as http:
            base = f"http://127.0.0.1:{running.http_port}"

            async def ask(text: str) -> dict[str, object]:
                async with http.post(f"{base}/v1/ask", json={"text": text, "session": "den"}) as r:
                    assert r.status == 200
                    return await r.json()  # type: ignore[no-any-return]

            async def health() -> dict[str, object]:
                async with http.get(f"{base}/healthz") as r:
                    return await r.json()  # type: ignore[no-any-return]

            await ask("do b12 shots make you sore")
            assert (await health())["sessions_backend"] == "redis" and (await health())["sessions"] == 1
            redis_server.stop()
            down = await ask("can b12 make me ache")  # still answered
            assert down["intent"] == "can_b12_cause_aches"
            state = await health()
            assert state["status"] == "degraded" and "Redis unreachable" in str(state["sessions_error"])
            async with http.get(f"{base}/metrics") as r:
                assert "b12_sessions_store_up 0" in await r.text()
            redis_server.start()  # an empty Redis on the same port
            await asyncio.sleep(1.0)  # past the first back-off
            await ask("what are the symptoms of low b12")
            follow = await ask("tell me more")
            assert follow["intent"] == "tell_me_more" and (await health())["sessions_error"] is None
            async with http.get(f"{base}/metrics") as r:
                assert "b12_sessions_store_up 1" in await r.text()
    finally:
        await skill.close()
