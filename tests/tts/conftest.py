"""Fixtures for the TTS tests: a real engine worker per test, a private cache folder.

Tests mark themselves with pytest.mark.asyncio (works whether or not asyncio_mode = auto is set)
and wrap every await in asyncio.wait_for via `tts_helpers.within`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from tts_helpers import within

from skill.tts import Synthesizer, TtsSettings


@pytest.fixture
def settings(tmp_path: Path) -> TtsSettings:
    return TtsSettings(cache_dir=tmp_path / "cache", timeout_s=5.0)


@pytest_asyncio.fixture
async def tts(settings: TtsSettings) -> AsyncIterator[Synthesizer]:
    synth = Synthesizer(settings)
    await within(synth.start())
    try:
        yield synth
    finally:
        await within(synth.close())
