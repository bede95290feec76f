"""The small parts: settings validation, earcons, the spotter on real speech."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from skill.errors import ConfigError
from skill.handsfree import HandsFreeSettings, KeywordSpotter, earcon
from skill.tts.speech import read_wav

from .conftest import Speak


def test_settings_forbid_unknown_keys_and_normalize_the_phrase() -> None:
    with pytest.raises(ValidationError):
        HandsFreeSettings.model_validate({"wake_phrase": "hello computer", "wake_word": "x"})
    assert HandsFreeSettings(wake_phrase="  Hello,  Computer ").wake_phrase == "hello computer"


def test_a_wake_word_without_pronunciation_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="zzyzxq"):
        KeywordSpotter(HandsFreeSettings(wake_phrase="hello zzyzxq"))


def test_earcons_are_short_soft_and_start_and_end_in_silence() -> None:
    for kind in ("listen", "done"):
        sound = earcon(kind, volume=0.25)
        pcm, _ = read_wav(sound.wav)
        assert 0.1 < sound.duration < 0.25
        assert np.abs(pcm).max() <= 0.26 * 32767 and abs(int(pcm[0])) < 100 and abs(int(pcm[-1])) < 100


def spots(spotter: KeywordSpotter, pcm: bytes) -> list[str]:
    return [d.phrase for i in range(0, len(pcm), 960) if (d := spotter.feed(pcm[i : i + 960])) is not None]


def test_spotter_hears_the_wake_phrase_after_a_pause_only(espeak: Speak) -> None:
    spotter = KeywordSpotter(HandsFreeSettings())
    pause = bytes(16000)
    assert spots(spotter, pause + espeak("hello computer") + pause) == ["hello computer"]
    assert spots(spotter, pause + espeak("what time is it in london") + pause) == []


def test_barge_mode_also_spots_stop(espeak: Speak) -> None:
    spotter = KeywordSpotter(HandsFreeSettings())
    spotter.request("barge")
    assert spots(spotter, bytes(16000) + espeak("stop") + bytes(16000)) == ["stop"]
    spotter.request("wake")
    assert spots(spotter, bytes(16000) + espeak("stop") + bytes(16000)) == []
