"""Hands-free: wake phrase, listen, answer aloud, follow-up window, barge-in.

Public API:
    run_handsfree(skill, settings, chunks, player=None, on_state=None)   the `b12-skill run` entry
    HandsFree(skill, settings, player, on_event)                         the state machine itself
    HandsFreeSettings                                                    the [handsfree] config table
    events: StateChanged, WakeHeard, Partial, Heard, NothingHeard, Answered, BargeIn, Trouble
    VirtualMic, Say, Silence, WaitFor                                    WAV files as a microphone
    earcon(kind), KeywordSpotter, DevicePlayer / Player / Playback
"""

from skill.settings.handsfree import HandsFreeSettings

from .earcons import earcon
from .events import (
    Answered,
    BargeIn,
    HandsFreeEvent,
    Heard,
    NothingHeard,
    Partial,
    State,
    StateChanged,
    Trouble,
    WakeHeard,
)
from .loop import HandsFree
from .player import DevicePlayer, Playback, Player
from .run import log_event, run_handsfree
from .sources import Say, Silence, VirtualMic, WaitFor
from .spotter import Detection, KeywordSpotter

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
