"""Shared test helpers (a module, not conftest, so test files can import it by name)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def within(aw: Awaitable[T], limit_s: float = 10.0) -> T:
    """Every await in these tests has a timeout: a hang fails the test instead of the run."""
    return await asyncio.wait_for(aw, limit_s)
