"""One-shot helpers for the CLI: `b12-skill say "TEXT" -o OUT.wav` and `--speak` / `--speak-to`.

Long-running code (servers, the pipeline) should keep one Synthesizer open instead: a worker start
costs about 0.1 s, a warm request a few ms.
"""

from __future__ import annotations

from pathlib import Path

from skill.settings.tts import TtsSettings
from skill.tts.playback import play
from skill.tts.speech import Speech, save_speech
from skill.tts.synthesizer import Synthesizer


async def say_once(
    text: str,
    settings: TtsSettings | None = None,
    *,
    out: str | Path | None = None,
    speak: bool = False,
    sample_rate: int | None = None,
    voice: str | None = None,
) -> Speech:
    """Synthesize text; write it to `out` (OutputError if unwritable) and/or play it to the end
    (OutputError "no sound output device" when there is none)."""
    async with Synthesizer(settings) as tts:
        speech = await tts.synthesize(text, sample_rate=sample_rate, voice=voice)
    if out is not None:
        save_speech(speech, out)
    if speak:
        handle = await play(speech)
        try:
            await handle.wait()
        finally:
            handle.stop()  # Ctrl-C while speaking stops the sound too
    return speech
