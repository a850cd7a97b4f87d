"""The one step process pool: timeouts, crashes, and workers that die with their parent."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import psutil
import pytest

from streams.process_pool import StepPool
from streams.step_loop import StepRejected
from tests.unit.streams import pool_jobs

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_a_job_runs_in_a_worker_process() -> None:
    async def go() -> int:
        pool = StepPool("t", 1, 30.0)
        try:
            return await pool.run(pool_jobs.pid)
        finally:
            pool.shutdown()

    assert _run(go()) != os.getpid()


def test_a_hung_job_times_out_and_the_pool_is_replaced() -> None:
    async def go() -> tuple[str, int]:
        pool = StepPool("t", 1, 1.0, timeout_setting="(TEST_TIMEOUT)")
        try:
            with pytest.raises(StepRejected) as err:
                await pool.run(pool_jobs.sleep, 30.0)
            return err.value.kind, await pool.run(pool_jobs.pid)
        finally:
            pool.shutdown()

    kind, pid = _run(go())
    assert kind == "timeout"
    assert pid != os.getpid()  # the new pool works


def test_a_job_that_kills_its_worker_twice_is_rejected_and_the_next_job_runs() -> None:
    async def go() -> tuple[str, int]:
        pool = StepPool("t", 1, 30.0)
        try:
            with pytest.raises(StepRejected) as err:
                await pool.run(pool_jobs.crash)
            return err.value.kind, await pool.run(pool_jobs.pid)
        finally:
            pool.shutdown()

    kind, pid = _run(go())
    assert kind == "worker_crashed"
    assert pid != os.getpid()


def test_a_job_in_flight_beside_a_poison_one_is_not_dead_lettered() -> None:
    """The poison job breaks the pool twice; the healthy job it broke the first time is
    retried alone, so it succeeds instead of being rejected as `worker_crashed`."""
    async def go() -> list[object]:
        pool = StepPool("t", 2, 60.0)
        try:
            await pool.warm_up(pool_jobs.pid)
            return list(await asyncio.gather(pool.run(pool_jobs.slow, 3.0),
                                             pool.run(pool_jobs.crash_after, 1.0),
                                             return_exceptions=True))
        finally:
            pool.shutdown()

    healthy, poison = _run(go())
    assert healthy == "done"
    assert isinstance(poison, StepRejected) and poison.kind == "worker_crashed"


def test_shutdown_kills_the_workers_and_cancels_later_jobs() -> None:
    async def go() -> tuple[list[int], BaseException | None]:
        pool = StepPool("t", 2, 60.0)
        await pool.warm_up(pool_jobs.pid)
        pids = pool.pids()
        pool.shutdown()
        try:
            await pool.run(pool_jobs.pid)
        except asyncio.CancelledError as exc:  # cancelled, not failed: nothing dead-lettered
            return pids, exc
        return pids, None

    pids, err = _run(go())
    assert isinstance(err, asyncio.CancelledError)
    deadline = time.monotonic() + 10
    while _alive_pids(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive_pids(pids)


PARENT = textwrap.dedent("""
    import asyncio, sys
    from streams.process_pool import StepPool
    from tests.unit.streams import pool_jobs

    async def main():
        pool = StepPool("t", 2, 60.0)
        await pool.warm_up(pool_jobs.pid)
        print(" ".join(map(str, pool.pids())), flush=True)
        await asyncio.sleep(3600)

    asyncio.run(main())
""")


def _alive_pids(pids: list[int]) -> list[int]:
    out = []
    for pid in pids:
        try:
            if _running(psutil.Process(pid)):
                out.append(pid)
        except psutil.NoSuchProcess:
            continue
    return out


def _running(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_pool_workers_die_when_their_parent_is_killed() -> None:
    """kill -9 of the process owning a pool (not its process group) takes the workers and
    multiprocessing's resource tracker with it (the defect: ~1 GB left running)."""
    parent = subprocess.Popen([sys.executable, "-c", PARENT], stdout=subprocess.PIPE,
                              text=True, cwd=os.getcwd(), start_new_session=True)
    try:
        assert parent.stdout is not None
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2
        family = psutil.Process(parent.pid).children(recursive=True)
        assert {p.pid for p in family} >= set(pids)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 15
        alive = family
        while alive and time.monotonic() < deadline:
            alive = [p for p in alive if _running(p)]
            time.sleep(0.1)
        assert not alive, f"still running after the parent died: {[p.pid for p in alive]}"
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
