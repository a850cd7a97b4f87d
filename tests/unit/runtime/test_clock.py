"""The controlled clock: moved by tests, accelerated by the demo, never backwards, shared
through its file by every process."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from runtime import clock
from runtime.settings import Settings


def test_the_file_clock_moves_forward_only_and_keeps_its_speed(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, clock="file")
    start = clock.now(s)
    moved = clock.advance(s, timedelta(days=3))
    assert timedelta(days=3) <= moved - start < timedelta(days=3, seconds=5)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(s, timedelta(seconds=-1))
    fast = clock.set_speed(s, 3600)
    assert fast >= moved
    again = Settings(home=tmp_path, clock="file")  # another process reads the same file
    assert clock.now(again) >= fast
    with pytest.raises(ValueError, match="wall clock"):
        clock.advance(Settings(home=tmp_path, clock="wall"), timedelta(days=1))
