"""The clock workflow runs read: the wall clock, or one tests move and the demo accelerates.

`AUTERITY_CLOCK=wall` (default) is the machine's UTC time. `AUTERITY_CLOCK=file` reads
`<home>/clock.json`, `{"offset_s": S, "speed": F, "since": T}`: the time is
`T + offset_s + (wall - T) * F`, so a test jumps three days with `advance(3 days)` and the
demo runs an hour per second with `speed = 3600`. The file is rewritten atomically and read
on every call, so every process (the worker, the CLI, a test) sees the same time, and a
restarted worker (kill -9) goes on from it: timers are durable against the clock too.

Invariant: the controlled clock never goes backwards (`advance` refuses a negative step and
a speed change keeps the current time).
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runtime.settings import Settings


def _wall() -> datetime:
    return datetime.now(UTC)


def clock_file(settings: Settings) -> Path:
    return Path(settings.home) / "clock.json"


def _read(path: Path) -> tuple[float, float, float]:
    try:
        data = json.loads(path.read_text())
        return float(data["offset_s"]), float(data["speed"]), float(data["since"])
    except FileNotFoundError:
        return 0.0, 1.0, _wall().timestamp()


def now(settings: Settings) -> datetime:
    """The time workflow runs live in (module doc)."""
    if settings.clock != "file":
        return _wall()
    offset, speed, since = _read(clock_file(settings))
    wall = _wall().timestamp()
    return datetime.fromtimestamp(since + offset + (wall - since) * speed, UTC)


def _write(path: Path, offset: float, speed: float, since: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".clock-")
    with os.fdopen(fd, "w") as f:
        json.dump({"offset_s": offset, "speed": speed, "since": since}, f)
    os.replace(tmp, path)


def advance(settings: Settings, by: timedelta) -> datetime:
    """Move the controlled clock forward by `by`; the new time."""
    if settings.clock != "file":
        raise ValueError("the clock is the wall clock (set AUTERITY_CLOCK=file to move it)")
    if by < timedelta(0):
        raise ValueError("the clock does not go backwards")
    path = clock_file(settings)
    current = now(settings)
    wall = _wall().timestamp()
    _, speed, _ = _read(path)
    # re-anchor at this moment so the speed applies from here on
    _write(path, current.timestamp() - wall + by.total_seconds(), speed, wall)
    return now(settings)


def set_speed(settings: Settings, speed: float) -> datetime:
    """Run the controlled clock at `speed` times the wall clock from now on."""
    if settings.clock != "file":
        raise ValueError("the clock is the wall clock (set AUTERITY_CLOCK=file)")
    if not 0 < speed <= 1_000_000:
        raise ValueError("speed must be in (0, 1000000]")
    current = now(settings)
    wall = _wall().timestamp()
    _write(clock_file(settings), current.timestamp() - wall, speed, wall)
    return now(settings)
