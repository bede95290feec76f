"""serve(): HTTP and Wyoming together until cancelled, then a graceful stop; create_app owning its skill."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from server_support import T, free_port, settings
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info

from skill.app import Skill
from skill.server import create_app, serve

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def wait_until_up(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.02)
    raise AssertionError(f"nothing listening on {port}")


async def test_serve_runs_both_doors_until_cancelled(skill: Skill) -> None:
    http_port, wy_port = free_port(), free_port()
    task = asyncio.create_task(serve(settings(port=http_port, wyoming_port=wy_port), skill))
    await asyncio.wait_for(wait_until_up(http_port), T)
    await asyncio.wait_for(wait_until_up(wy_port), T)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
        async with http.post(f"http://127.0.0.1:{http_port}/v1/ask", json={"text": "help"}) as resp:
            assert resp.status == 200
        ws = await asyncio.wait_for(http.ws_connect(f"http://127.0.0.1:{http_port}/v1/stream?speak=0"), T)
        await asyncio.wait_for(ws.receive(), T)  # ready
        async with AsyncTcpClient("127.0.0.1", wy_port) as c:
            await asyncio.wait_for(c.write_event(Describe().event()), T)
            event = await asyncio.wait_for(c.read_event(), T)
            assert event is not None and Info.is_type(event.type)
        task.cancel()  # with a WebSocket still open: shutdown must close it, not hang
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, T)
        closing = await asyncio.wait_for(ws.receive(), T)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
        await ws.close()
    with pytest.raises(OSError):
        await asyncio.wait_for(asyncio.open_connection("127.0.0.1", http_port), T)


async def test_create_app_builds_and_closes_its_own_skill() -> None:
    app = create_app(settings())
    runner = web.AppRunner(app)
    await asyncio.wait_for(runner.setup(), T)  # builds the skill, starts loading the recognizer
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await asyncio.wait_for(site.start(), T)
    port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
            async with http.post(f"http://127.0.0.1:{port}/v1/ask", json={"text": "what is b12"}) as resp:
                assert resp.status == 200 and (await resp.json())["intent"] == "what_is_b12"
            for _ in range(600):  # both engines load in the background: up to 30 s on a busy machine
                async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    health = await resp.json()
                if health["stt_loaded"] and health["tts_loaded"]:
                    break
                await asyncio.sleep(0.05)
            assert health["status"] == "ok" and health["stt_note"]
    finally:
        await asyncio.wait_for(runner.cleanup(), T)
