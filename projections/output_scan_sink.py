"""Result events -> ClickHouse `output_scans`: what the output firewall masked (no text).

One row per event of requirements.analyzed, workflows.generated, interfaces.generated,
documents.extracted, calls.analyzed and agent.tasks.completed, with its `output_redactions`
counts (an empty map: scanned, nothing found). Invariant (nothing lost, nothing doubled), as
for `step_metrics`: one insert per topic-partition offset range with the deduplication token
`topic:partition:first-last`; on start the consumer seeks to max(offset)+1 read from the
table itself. A record that does not decode still gets a row (kind = the decode error).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message

from projections.clickhouse_sink import ClickHouseRowSink, ch_datetime
from schemas import serde, topics
from schemas.events import (
    AgentTaskCompleted,
    CallAnalyzed,
    DocumentExtracted,
    GeneratedInterface,
    GeneratedWorkflow,
    RequirementAnalysis,
)

TABLE = "output_scans"
SCANNED_TOPICS = (topics.REQUIREMENTS_ANALYZED, topics.WORKFLOWS_GENERATED,
                  topics.INTERFACES_GENERATED, topics.DOCUMENTS_EXTRACTED, topics.CALLS_ANALYZED,
                  topics.AGENT_TASKS_COMPLETED)
#: the step that wrote each scanned event type
STEPS: dict[type, str] = {RequirementAnalysis: "analysis", GeneratedWorkflow: "build",
                          GeneratedInterface: "interface", DocumentExtracted: "ocr",
                          CallAnalyzed: "voice", AgentTaskCompleted: "agent_tasks"}


def scan_row(m: Message) -> dict[str, Any]:
    """The output_scans row of one result record."""
    base = {"topic": m.topic(), "partition": m.partition(), "offset": m.offset()}
    try:
        ev = serde.decode_any(m.value())
    except serde.DecodeError as exc:
        return {**base, "event_id": f"{m.topic()}:{m.partition()}:{m.offset()}",
                "tenant_id": "unknown", "step": "output_scan_projection", "kind": exc.kind,
                "entities": {}, "created_at": ch_datetime(datetime.now(UTC))}
    step = STEPS.get(type(ev))
    return {**base, "event_id": ev.event_id, "tenant_id": ev.tenant_id,
            "step": step or "output_scan_projection",
            "kind": type(ev).__name__ if step else "unexpected_event_type",
            "entities": dict(getattr(ev, "output_redactions", {}) or {}),
            "created_at": ch_datetime(ev.occurred_at)}


class OutputScanSink(ClickHouseRowSink):
    """Projection `clickhouse_output_scans` of the result topics."""

    name = "clickhouse_output_scans"
    table = TABLE
    row = staticmethod(scan_row)
