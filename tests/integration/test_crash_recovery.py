"""kill -9 of the worker and of the projections mid-stream: nothing lost, nothing doubled;
the dead worker's pool processes die with it; the restarted worker resumes within 10 s."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from datetime import UTC, datetime

import psutil

from compose import processes as supervisor
from connectors.ingest import produce
from schemas import topics
from tests.integration.conftest import STARTUP_S, restart, wait_for
from tests.integration.helpers import (
    ch_rows,
    expected_redacted_ids,
    first_output_after,
    pg_count,
    pg_ids,
    tenant_samples,
)

N = 1500
RESUME_WITHIN_S = 10.0


def _alive(procs: list[psutil.Process]) -> list[int]:
    out = []
    for p in procs:
        try:
            if p.status() != psutil.STATUS_ZOMBIE:
                out.append(p.pid)
        except psutil.NoSuchProcess:
            continue
    return out


def test_kill_minus_nine_loses_and_doubles_nothing(pipeline):
    prefix = f"kill{uuid.uuid4().hex[:6]}"
    events, _ = tenant_samples(prefix, N, tenants=3, seed=21)
    expected = expected_redacted_ids(events)
    result: dict = {}
    producer = threading.Thread(
        target=lambda: result.update(r=produce(pipeline, topics.CONVERSATIONS_RAW, events,
                                               rate=250)))
    producer.start()

    # kill -9 the worker process alone (not its process group) once it has redacted part of
    # the stream: its pool processes must not outlive it
    wait_for(lambda: pg_count(pipeline, prefix) >= 150, 120, "first rows")
    worker = psutil.Process(supervisor.pid_of(pipeline, "worker"))
    children = worker.children(recursive=True)
    assert len(children) >= 2, f"expected the worker's pool processes, found {children}"
    os.kill(worker.pid, signal.SIGKILL)
    killed = datetime.now(UTC)
    wait_for(lambda: not _alive(children), 15,
             "the killed worker's pool processes and resource tracker to exit")

    # the restarted worker takes the dead one's partitions back at once
    restart(pipeline, "worker")
    ready = datetime.now(UTC)
    resumed = wait_for(lambda: first_output_after(pipeline, prefix, ready), 90,
                       "the restarted worker's first output")
    # time to resume beyond the worker's own start-up (measured when the pipeline started);
    # the dead member's partitions used to wait out Faust's 60 s session timeout
    resume = (resumed - killed).total_seconds() - STARTUP_S["worker"]
    print(f"kill -> ready {(ready - killed).total_seconds():.1f}s, -> first output "
          f"{(resumed - killed).total_seconds():.1f}s; start-up {STARTUP_S['worker']:.1f}s")
    assert resume < RESUME_WITHIN_S, f"resumed {resume:.1f}s later than a fresh start"

    # kill the projections mid-stream too, then restart them
    done_before = pg_count(pipeline, prefix)
    if done_before < N - 100:
        wait_for(lambda: pg_count(pipeline, prefix) >= done_before + 50, 120, "more rows")
    print(supervisor.stop(pipeline, "projections", kill=True))
    restart(pipeline, "projections")

    producer.join(timeout=120)
    assert result["r"].sent == N
    # nothing lost and nothing foreign: the ids in each store are exactly the ids produced
    wait_for(lambda: pg_ids(pipeline, prefix) == expected, 240, "every Postgres row")
    wait_for(lambda: ch_rows(pipeline, prefix)[2] == expected, 120, "every ClickHouse row")
    # nothing doubled: rows as stored (no FINAL) equal the distinct records consumed, so a
    # record inserted twice (a broken dedup token) would show; records beyond N are events
    # the killed worker published twice (same id), which FINAL collapses
    rows, records, ids = ch_rows(pipeline, prefix)
    assert rows == records, f"{rows} ClickHouse rows for {records} consumed records"
    assert len(ids) == N
    print(f"{records - N} event(s) published twice by the killed worker (same ids)")
