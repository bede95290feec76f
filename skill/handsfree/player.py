"""Where speech goes. The loop only needs `play(speech) -> Playback`; tests pass a fake sink."""

from __future__ import annotations

from typing import Protocol

from skill.tts import Speech, play


class Playback(Protocol):
    @property
    def done(self) -> bool: ...

    def stop(self) -> None:
        """Stop at once (barge-in); idempotent."""
        ...

    async def wait(self) -> None: ...


class Player(Protocol):
    async def play(self, speech: Speech) -> Playback: ...


class DevicePlayer:
    """The default sound device (raises OutputError "no sound output device" when there is none)."""

    async def play(self, speech: Speech) -> Playback:
        return await play(speech)
