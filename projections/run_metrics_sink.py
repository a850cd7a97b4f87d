"""Workflow run events -> ClickHouse `run_metrics` (no text): runs started, completed,
failed and cancelled, step latency since the step was scheduled, timer lateness, per
workflow, version and tenant; any tenant reads its own rows through the metrics endpoint.

Invariant (nothing lost, nothing doubled), as for `step_metrics`: one insert per
topic-partition offset range with the deduplication token `topic:partition:first-last`;
each row carries its own topic/partition/offset, and on start the consumer seeks to
max(offset)+1 read from the table itself. A record that does not decode still gets a row
(kind = the decode error), so it is counted, never skipped.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message

from projections.clickhouse_sink import ClickHouseRowSink, ch_datetime
from schemas import serde
from schemas.events import WorkflowRunEvent

TABLE = "run_metrics"
STEP = "workflow_runs"


def run_row(m: Message) -> dict[str, Any]:
    """The run_metrics row of one record of workflow.runs."""
    base = {"topic": m.topic(), "partition": m.partition(), "offset": m.offset(), "step": STEP,
            "run_id": "", "workflow_id": "", "workflow_version": 0, "step_id": "",
            "attempt": 0, "duration_ms": None, "lateness_ms": None}
    try:
        ev = serde.decode(m.value(), WorkflowRunEvent)
    except serde.DecodeError as exc:
        return {**base, "event_id": f"{m.topic()}:{m.partition()}:{m.offset()}",
                "tenant_id": "unknown", "kind": exc.kind,
                "created_at": ch_datetime(datetime.now(UTC))}
    lateness = None
    if ev.kind == "step_completed":
        try:
            late_s = json.loads(ev.output_json).get("late_s")
        except (ValueError, AttributeError):
            late_s = None
        lateness = None if late_s is None else float(late_s) * 1000
    return {**base, "event_id": ev.event_id, "tenant_id": ev.tenant_id, "run_id": ev.run_id,
            "workflow_id": ev.workflow_id, "workflow_version": ev.workflow_version,
            "kind": ev.kind, "step_id": ev.step_id or "", "attempt": ev.attempt,
            "duration_ms": ev.duration_ms, "lateness_ms": lateness,
            "created_at": ch_datetime(ev.occurred_at)}


class RunMetricsSink(ClickHouseRowSink):
    """Projection `clickhouse_runs` of workflow.runs."""

    name = "clickhouse_runs"
    table = TABLE
    row = staticmethod(run_row)
