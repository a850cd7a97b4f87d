"""(b) kill -9 of the worker and of the projections mid-stream: 0 lost, 0 duplicate rows."""

from __future__ import annotations

import threading
import uuid

from compose import processes as supervisor
from connectors.ingest import produce
from schemas import topics
from tests.integration.conftest import restart, wait_for
from tests.integration.helpers import ch_counts, pg_counts, tenant_samples

N = 1500


def test_kill_minus_nine_loses_and_doubles_nothing(pipeline):
    prefix = f"kill{uuid.uuid4().hex[:6]}"
    events, _ = tenant_samples(prefix, N, tenants=3, seed=21)
    result: dict = {}
    producer = threading.Thread(
        target=lambda: result.update(r=produce(pipeline, topics.CONVERSATIONS_RAW, events,
                                               rate=250)))
    producer.start()

    # kill the worker once it has redacted part of the stream, then restart it
    wait_for(lambda: pg_counts(pipeline, prefix)[0] >= 150, 120, "first rows")
    print(supervisor.stop(pipeline, "worker", kill=True))
    restart(pipeline, "worker")

    # kill the projections mid-stream too, then restart them
    done_before = pg_counts(pipeline, prefix)[0]
    wait_for(lambda: pg_counts(pipeline, prefix)[0] >= done_before + 200, 120, "more rows")
    print(supervisor.stop(pipeline, "projections", kill=True))
    restart(pipeline, "projections")

    producer.join(timeout=120)
    assert result["r"].sent == N
    wait_for(lambda: pg_counts(pipeline, prefix)[0] >= N, 240, "all Postgres rows")
    wait_for(lambda: ch_counts(pipeline, prefix)[0] >= N, 120, "all ClickHouse rows")
    assert pg_counts(pipeline, prefix) == (N, N), "lost or duplicate Postgres rows"
    assert ch_counts(pipeline, prefix) == (N, N), "lost or duplicate ClickHouse rows"
