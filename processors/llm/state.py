"""The live state of a process's LLM gateway, published as a JSON snapshot for other processes.

The worker's gateway holds state no other process can rebuild: the LiteLLM Router's cooldowns
and failure counts, and the spend ledger. `StatePublisher` writes `GatewayState` to
`<home>/run/llm-state.json` (`state_path`) every few seconds and soon after a change,
atomically (a temporary file in the same directory, then rename), so a reader never sees a
partial file. `read_state` + `freshness` tell a reader (`auterity models`) whether the writer
still runs and the snapshot is current.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

log = logging.getLogger("auterity.llm.state")

STATE_FILE = Path("run") / "llm-state.json"
DEFAULT_INTERVAL_S = 5.0


def state_path(home: Path) -> Path:
    """Where the worker publishes its gateway state under the state directory `home`."""
    return home / STATE_FILE


class DeploymentState(BaseModel):
    name: str
    model: str
    provider: str
    tier: int
    latency_ms: float
    input_usd_per_1k: float
    output_usd_per_1k: float
    available: bool
    missing_env: list[str] = Field(default_factory=list)
    health: Literal["ok", "cooling_down", "unavailable"]
    cooldown_until: datetime | None = None
    cooldown_reason: str | None = None
    failures_last_minute: int = 0
    successes_last_minute: int = 0
    last_failure_at: datetime | None = None
    last_error: str | None = None


class TenantSpend(BaseModel):
    tenant_id: str
    spent_usd: float
    budget_usd: float


class GatewayState(BaseModel):
    pid: int
    written_at: datetime
    started_at: datetime
    budgets_seeded: bool
    budgets_seeded_at: datetime | None = None
    seed_error: str | None = None
    default_budget_usd: float
    on_budget_exceeded: str
    deployments: list[DeploymentState]
    tenants: list[TenantSpend]


def write_state(path: Path, state: GatewayState) -> None:
    """Write `state` to `path` atomically (temporary file in the same directory + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(state.model_dump_json(indent=2))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StateUnreadable(ValueError):
    """The snapshot file exists but is not a valid GatewayState."""


def read_state(path: Path) -> GatewayState | None:
    """The published snapshot, or None if there is none."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    try:
        return GatewayState.model_validate_json(text)
    except ValidationError as exc:
        raise StateUnreadable(f"{path} is not a gateway snapshot: {exc}") from exc


class Freshness(BaseModel):
    live: bool
    age_s: float
    reason: str


def freshness(state: GatewayState, pid_alive: Callable[[int], bool],
              max_age_s: float = 4 * DEFAULT_INTERVAL_S,
              now: datetime | None = None) -> Freshness:
    """Whether `state` describes a running process: its writer is alive (`pid_alive`, e.g.
    runtime.readiness.pid_alive) and it is recent."""
    age = ((now or datetime.now(UTC)) - state.written_at).total_seconds()
    if not pid_alive(state.pid):
        return Freshness(live=False, age_s=age,
                         reason=f"the worker that wrote it (pid {state.pid}) is not running")
    if age > max_age_s:
        return Freshness(live=False, age_s=age,
                         reason=f"stale: written {age:.0f}s ago by pid {state.pid} (expected "
                                f"every {DEFAULT_INTERVAL_S:.0f}s; is the worker stuck?)")
    return Freshness(live=True, age_s=age, reason=f"live: pid {state.pid}, {age:.1f}s old")


class StatePublisher:
    """Writes `snapshot()` to `path` every `interval_s` and within `min_gap_s` of a `notify`."""

    def __init__(self, snapshot: Callable[[], GatewayState], path: Path,
                 interval_s: float = DEFAULT_INTERVAL_S, min_gap_s: float = 0.5) -> None:
        self.snapshot = snapshot
        self.path = path
        self.interval_s = interval_s
        self.min_gap_s = min_gap_s
        self._changed = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def notify(self) -> None:
        """Something changed: publish soon (cheap; callable from any thread)."""
        self._changed.set()

    def publish(self) -> bool:
        """Write one snapshot now; False (logged once per failure streak) if it failed."""
        try:
            write_state(self.path, self.snapshot())
        except Exception as exc:  # noqa: BLE001 - logged; publishing must not stop the worker
            if not self._failing:
                log.warning("cannot publish the LLM gateway state to %s: %s: %s",
                            self.path, type(exc).__name__, exc)
            self._failing = True
            return False
        if self._failing:
            log.info("LLM gateway state published to %s again", self.path)
        self._failing = False
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            self.publish()
            self._changed.wait(self.interval_s)
            self._changed.clear()
            self._stop.wait(self.min_gap_s)  # coalesce bursts of changes

    def start(self) -> StatePublisher:
        self._thread = threading.Thread(target=self._run, name="llm-state", daemon=True)
        self._thread.start()
        return self

    def stop(self, remove: bool = True) -> None:
        """Stop publishing; remove the snapshot if it is still this process's (a stopped
        worker has no live state)."""
        self._stop.set()
        self._changed.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not remove:
            return
        try:
            current = read_state(self.path)
        except StateUnreadable:
            current = None
        if current is not None and current.pid == os.getpid():
            self.path.unlink(missing_ok=True)
