"""The `b12-skill voices` listing."""

from __future__ import annotations

import asyncio

from skill.settings.tts import TtsSettings
from skill.tts.speech import VoiceInfo
from skill.tts.synthesizer import Synthesizer


async def list_voices(settings: TtsSettings | None = None) -> list[VoiceInfo]:
    """Start a worker just long enough to ask the engine which voices it has."""
    # No disk cache: listing voices must not create a cache folder.
    quiet = (settings or TtsSettings()).model_copy(update={"cache_max_mb": 0})
    async with Synthesizer(quiet) as tts:
        return await tts.voices()


def format_voices(voices: list[VoiceInfo], *, english_only: bool = False) -> str:
    """One voice per line: id, languages, name; ids are what `voice = ...` in config.toml takes."""
    rows = [v for v in voices if not english_only or any(lang.startswith("en") for lang in v.languages)]
    width = max((len(v.id) for v in rows), default=0)
    return "\n".join(f"{v.id:<{width}}  {','.join(v.languages):<12} {v.name}" for v in rows)


def voices_main(settings: TtsSettings | None = None, *, english_only: bool = False) -> str:
    """For a synchronous CLI: the formatted listing."""
    return format_voices(asyncio.run(list_voices(settings)), english_only=english_only)
