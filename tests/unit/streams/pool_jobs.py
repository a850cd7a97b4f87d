"""Jobs for the process-pool tests (module-level, so spawned workers can import them)."""

from __future__ import annotations

import os
import signal
import time


def pid() -> int:
    return os.getpid()


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def crash() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def slow(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


def crash_after(seconds: float) -> None:
    time.sleep(seconds)
    os.kill(os.getpid(), signal.SIGKILL)
