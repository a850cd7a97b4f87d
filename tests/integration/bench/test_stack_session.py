"""The bench stops exactly the stack it started (bench/stack_session.py, bench/run.py).

Each test gets a fresh AUTERITY_HOME (mode 0755, outside pytest's 0700 basetemp: pgserver
runs pg_ctl as the `pgserver` user, which must reach the data directory) and ports of its
own, so it never touches the integration suite's stack (19092) or a demo stack (9092).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

import bench.run
from bench.stack_session import stack_session
from bench.table import row
from compose import stack
from runtime.settings import Settings
from tests.integration.conftest import wait_for

pytestmark = pytest.mark.integration

PORTS = {"AUTERITY_KAFKA_PORT": "29092", "AUTERITY_KAFKA_CONTROLLER_PORT": "29093",
         "AUTERITY_METRICS_PORT": "28124"}


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _kafka_pid(s: Settings) -> int | None:
    path = s.kafka_dir / "kafka.pid"
    return int(path.read_text()) if path.exists() else None


def _postgres_pid(s: Settings) -> int | None:
    path = s.pg_dir / "postmaster.pid"
    return int(path.read_text().split("\n", 1)[0]) if path.exists() else None


def _running_pids(s: Settings) -> tuple[int, int]:
    kafka, postgres = _kafka_pid(s), _postgres_pid(s)
    assert kafka is not None and _alive(kafka), "Kafka does not run"
    assert postgres is not None and _alive(postgres), "Postgres does not run"
    return kafka, postgres


def _assert_gone(*pids: int) -> None:
    wait_for(lambda: not any(_alive(p) for p in pids), 30,
             f"pids {pids} to exit (still alive: {[p for p in pids if _alive(p)]})")


@pytest.fixture()
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings over a new, empty AUTERITY_HOME; whatever still runs there is stopped after."""
    home = Path(tempfile.mkdtemp(prefix="auterity-bench-test-"))
    home.chmod(0o755)
    monkeypatch.setenv("AUTERITY_HOME", str(home))
    for name, value in PORTS.items():
        monkeypatch.setenv(name, value)
    for name in ("AUTERITY_KAFKA_BOOTSTRAP", "DATABASE_URL", "CLICKHOUSE_URL"):
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert s.home == home and s.kafka_port == 29092 and not s.kafka_bootstrap
    try:
        yield s
    finally:
        stack.down(s)  # a no-op when the code under test stopped everything itself
        shutil.rmtree(home, ignore_errors=True)


def test_session_stops_the_kafka_and_postgres_it_started(fresh: Settings) -> None:
    assert _kafka_pid(fresh) is None and _postgres_pid(fresh) is None
    with stack_session(fresh) as health:
        assert [h.healthy for h in health] == [True, True], health
        pids = _running_pids(fresh)
    _assert_gone(*pids)


def test_session_stops_what_it_started_on_keyboard_interrupt(fresh: Settings) -> None:
    with pytest.raises(KeyboardInterrupt), stack_session(fresh):
        pids = _running_pids(fresh)
        raise KeyboardInterrupt
    _assert_gone(*pids)


def test_session_leaves_a_stack_that_ran_before_running(fresh: Settings) -> None:
    stack.up(fresh)
    pids = _running_pids(fresh)
    with stack_session(fresh):
        assert _running_pids(fresh) == pids
    assert _running_pids(fresh) == pids  # stopped by the fixture's cleanup


def test_bench_main_stops_the_stack_it_started(fresh: Settings,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """`auterity bench` with a trivial body in place of the benchmarks."""
    seen: list[tuple[int, int]] = []

    def trivial(bench_settings: Settings, quick: bool) -> Iterator[list[dict]]:
        seen.append(_running_pids(fresh))
        yield [row("trivial", "-", 1.0, 2.0, "x")]

    monkeypatch.setattr(bench.run, "benchmarks", trivial)
    assert bench.run.main(fresh, quick=True) == 0
    assert "trivial" in capsys.readouterr().out
    assert len(seen) == 1
    _assert_gone(*seen[0])
