"""Per-client shares, in isolation (the doors' own tests show them at work on real connections)."""

from __future__ import annotations

import pytest

from skill.errors import OverloadedError
from skill.server.limits import PerClient


def test_each_client_gets_its_own_share_of_each_kind() -> None:
    shares = PerClient()
    with shares.hold("speech requests", "10.0.0.1", 2), shares.hold("speech requests", "10.0.0.1", 2):
        with pytest.raises(OverloadedError, match="already has 2 speech requests open"):
            with shares.hold("speech requests", "10.0.0.1", 2):
                pass
        with shares.hold("speech requests", "10.0.0.2", 2), shares.hold("listens", "10.0.0.1", 2):
            pass  # another client, or another kind of work, is not affected
    with shares.hold("speech requests", "10.0.0.1", 2):  # released when the work ends, errors included
        pass


def test_a_failure_inside_releases_the_share() -> None:
    shares = PerClient()
    with pytest.raises(RuntimeError), shares.hold("streams", "a", 1):
        raise RuntimeError("the work failed")
    assert shares.acquire("streams", "a", 1)
    shares.release("streams", "a")
    shares.release("streams", "a")  # a second release is harmless
    assert shares.acquire("streams", "a", 1) and not shares.acquire("streams", "a", 1)
