"""Hands-free: wake phrase, listen, answer aloud, follow-up window, barge-in.

Public API:
    run_handsfree(skill, settings, chunks, player=None, on_state=None)   the `b12-skill run` entry
    HandsFree(skill, settings, player, on_event)                         the state machine itself
    HandsFreeSettings                                                    the [handsfree] config table
    events: StateChanged, WakeHeard, Partial, Heard, NothingHeard, Answered, BargeIn, Trouble
    VirtualMic, Say, Silence, WaitFor                                    WAV files as a microphone
    earcon(kind), KeywordSpotter, DevicePlayer / Player / Playback
"""

# skill.config imports skill.handsfree.settings, and the loop imports skill.app: load lazily.
import importlib
from typing import Any

_LAZY = {
    "earcon": ".earcons",
    **dict.fromkeys(
        [
            "Answered",
            "BargeIn",
            "HandsFreeEvent",
            "Heard",
            "NothingHeard",
            "Partial",
            "State",
            "StateChanged",
            "Trouble",
            "WakeHeard",
        ],
        ".events",
    ),
    "HandsFree": ".loop",
    **dict.fromkeys(["DevicePlayer", "Playback", "Player"], ".player"),
    **dict.fromkeys(["log_event", "run_handsfree"], ".run"),
    "HandsFreeSettings": ".settings",
    **dict.fromkeys(["Say", "Silence", "VirtualMic", "WaitFor"], ".sources"),
    **dict.fromkeys(["Detection", "KeywordSpotter"], ".spotter"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Answered",
    "BargeIn",
    "Detection",
    "DevicePlayer",
    "HandsFree",
    "HandsFreeEvent",
    "HandsFreeSettings",
    "Heard",
    "KeywordSpotter",
    "NothingHeard",
    "Partial",
    "Playback",
    "Player",
    "Say",
    "Silence",
    "State",
    "StateChanged",
    "Trouble",
    "VirtualMic",
    "WaitFor",
    "WakeHeard",
    "earcon",
    "log_event",
    "run_handsfree",
]
