"""Fixtures: one real skill per test module, servers on ephemeral ports, real test audio."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from server_support import QUESTION, Broker, T, espeak_wav, settings

from skill.app import Skill, build_skill
from skill.server.run import Running, start_servers


@pytest.fixture(scope="session")
def question_wav(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return espeak_wav(QUESTION, tmp_path_factory.mktemp("audio") / "q.wav")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def skill() -> AsyncIterator[Skill]:
    built = await asyncio.to_thread(build_skill, settings())
    await asyncio.wait_for(built.speech(), 30)  # load the recognizer once, before any timed test
    yield built
    await asyncio.wait_for(built.close(), T)


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    """[server] settings for this module's server; a module overrides this fixture to change them."""
    return {}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(skill: Skill, server_options: dict[str, Any]) -> AsyncIterator[Running]:
    servers = await asyncio.wait_for(start_servers(settings(**server_options), skill), T)
    yield servers
    await asyncio.wait_for(servers.stop(), T)


@pytest.fixture(scope="module")
def base(running: Running) -> str:
    return f"http://127.0.0.1:{running.http_port}"


@pytest.fixture(scope="session")
def tmp_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("more-audio")


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A password-protected mosquitto of this module's own (Hermes door tests)."""
    if shutil.which("mosquitto") is None:
        pytest.fail("mosquitto is not installed: scripts/setup.sh --test installs it")
    b = Broker(tmp_path_factory.mktemp("broker"))
    b.start()
    yield b
    b.stop()
