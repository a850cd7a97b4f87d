"""Start/stop the pipeline's own processes (Faust worker, projections) in the background.

Each runs as `python -m cli.main <worker|projections>` with its log under
`$AUTERITY_HOME/logs` and its pid under `$AUTERITY_HOME/run`. `start` is idempotent (a live
process is kept); `stop` sends SIGTERM, then SIGKILL after a timeout.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from runtime.readiness import is_ready, read_pid, ready_file
from runtime.settings import Settings

PROCESSES = ("worker", "projections")
#: more workers of the same app (one consumer group): `worker-2`, `worker-3`, ...
EXTRA_WORKER = re.compile(r"^worker-[0-9]+$")


def _pidfile(settings: Settings, name: str) -> Path:
    return settings.home / "run" / f"{name}.pid"


def pid_of(settings: Settings, name: str) -> int | None:
    """The pid of process `name` if it runs."""
    return read_pid(_pidfile(settings, name))


def start(settings: Settings, name: str, env: dict[str, str] | None = None) -> int:
    """Start process `name` unless it runs already; return its pid."""
    pid = pid_of(settings, name)
    if pid is not None:
        return pid
    (settings.home / "run").mkdir(parents=True, exist_ok=True)
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    ready_file(settings, name).unlink(missing_ok=True)
    log = open(settings.logs_dir / f"{name}.log", "ab")
    full_env = dict(os.environ, AUTERITY_HOME=str(settings.home), **(env or {}))
    command = name
    if name == "worker" or EXTRA_WORKER.match(name):  # static group membership, one id each
        number = "1" if name == "worker" else name.split("-")[1]
        full_env.setdefault("AUTERITY_WORKER_INSTANCE",
                            f"{socket.gethostname()}-{settings.app_id}-worker-{number}")
        full_env["AUTERITY_WORKER_NAME"] = name
        command = "worker"
    elif name not in PROCESSES:
        raise ValueError(f"unknown process {name!r}: use {', '.join(PROCESSES)} or worker-N")
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", command], stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True, env=full_env)
    _pidfile(settings, name).write_text(str(proc.pid))
    return proc.pid


def wait_ready(settings: Settings, name: str, timeout: float = 180.0) -> None:
    """Block until process `name` has written its ready file; fail if it died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = pid_of(settings, name)
        if is_ready(settings, name, pid):
            return
        if pid is None:
            tail = (settings.logs_dir / f"{name}.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{name} exited during start-up; log tail:\n{tail}")
        time.sleep(0.2)
    raise TimeoutError(f"{name} not ready after {timeout:.0f}s; see {settings.logs_dir}/{name}.log")


def stop(settings: Settings, name: str, timeout: float = 30.0, kill: bool = False) -> str:
    """Stop process `name` (SIGKILL at once with `kill=True`)."""
    pid = pid_of(settings, name)
    if pid is None:
        return f"{name}: not running"
    os.killpg(pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_of(settings, name) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_of(settings, name) is not None:
        os.killpg(pid, signal.SIGKILL)
        return f"{name}: killed after {timeout:.0f}s"
    ready_file(settings, name).unlink(missing_ok=True)
    return f"{name}: {'killed' if kill else 'stopped'}"
