"""Playback (no sound card here) and the voices listing."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from tts_helpers import within

from skill.errors import OutputError
from skill.tts import Synthesizer, TtsSettings, find_output, format_voices, list_voices, play, say_once

pytestmark = [pytest.mark.asyncio, pytest.mark.filterwarnings("error")]


@pytest.mark.skipif(find_output() is not None, reason="this machine has a sound device")
async def test_no_device_is_output_error(tts: Synthesizer) -> None:
    speech = await within(tts.synthesize("Hello."))
    with pytest.raises(OutputError, match="no sound output device"):
        await within(play(speech))


async def test_barge_in_stops_playback_at_once(tts: Synthesizer) -> None:
    speech = await within(tts.synthesize("Hello."))
    # A stand-in player that reads the WAV and then plays for 30 s.
    player = [sys.executable, "-c", "import sys, time; sys.stdin.buffer.read(); time.sleep(30)"]
    handle = await within(play(speech, command=player))
    assert not handle.done
    started = time.perf_counter()
    handle.stop()
    await within(handle.wait(), 2)
    assert handle.done and time.perf_counter() - started < 1.0
    handle.stop()  # idempotent


async def test_missing_player_is_output_error(tts: Synthesizer) -> None:
    speech = await within(tts.synthesize("Hello."))
    with pytest.raises(OutputError, match="no sound output device"):
        await within(play(speech, command=["/nonexistent/player"]))


async def test_voices_listing_for_the_cli() -> None:
    voices = await within(list_voices())
    assert len(voices) > 10 and any(v.id == "gmw/en-us" for v in voices)
    text = format_voices(voices, english_only=True)
    assert "gmw/en-us" in text and "gmw/af" not in text


async def test_say_once_writes_the_file(tmp_path: Path) -> None:
    settings = TtsSettings(cache_dir=tmp_path / "cache")
    speech = await within(say_once("Please check with your doctor.", settings, out=tmp_path / "out.wav"))
    assert (tmp_path / "out.wav").read_bytes() == speech.wav  # noqa: ASYNC240 - a test, tmpfs
    with pytest.raises(OutputError):
        await within(say_once("Hello.", settings, out=tmp_path / "missing" / "out.wav"))
