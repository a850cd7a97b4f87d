"""Process liveness and readiness markers under `$AUTERITY_HOME/run`, and service health.

A process started by the stack launcher (compose/processes.py) writes `<name>.ready` holding
its own pid once it can do work (`mark_ready`). Invariant: a ready file only counts while its
pid is the live process named by `<name>.pid`, so a stale marker of a dead process is never
taken for readiness.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import psutil

from runtime.settings import Settings


@dataclass
class ServiceHealth:
    name: str
    healthy: bool
    detail: str


def pid_alive(pid: int) -> bool:
    """True if `pid` runs (a zombie child of ours counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:  # raced with the exit: treat as dead
        return False


def read_pid(path: Path) -> int | None:
    """The live pid recorded in `path`, or None (missing, unreadable or dead)."""
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def ready_file(settings: Settings, name: str) -> Path:
    return settings.home / "run" / f"{name}.ready"


def is_ready(settings: Settings, name: str, pid: int | None) -> bool:
    """True if process `name` (running as `pid`) has reported itself ready."""
    try:
        return pid is not None and int(ready_file(settings, name).read_text()) == pid
    except (FileNotFoundError, ValueError):
        return False


def mark_ready(settings: Settings, name: str) -> None:
    """Record that this process (`name`) is ready to work."""
    path = ready_file(settings, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(os.getpid()))
