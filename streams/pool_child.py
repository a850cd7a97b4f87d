"""Start-up of a process-pool worker: die with the parent, then the step's own initializer.

Kept apart from streams/process_pool.py and importing only the standard library, so a
spawned worker does not load Faust or Kafka clients just to start.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

PR_SET_PDEATHSIG = 1


def _request_parent_death_signal() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux prctl)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)) == 0
    except (OSError, AttributeError):  # no libc prctl (not Linux): the watchdog still applies
        return False


def _die_with_parent(parent: int) -> None:
    """Make this process die when `parent` does: the kernel's death signal where there is
    one, and a watchdog thread polling the parent pid in every case."""
    _request_parent_death_signal()
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def init_child(parent: int, init: Callable[..., object] | None, initargs: Sequence[Any]) -> None:
    """ProcessPoolExecutor initializer of every step pool (streams/process_pool.py)."""
    _die_with_parent(parent)
    if init is not None:
        init(*initargs)
