"""AI agent task results -> ClickHouse `agent_metrics` (no input or output text): the per
agent and task type performance over time (success rate, execution time, confidence, cost,
executions per hour or day), read by `auterity agents performance --clickhouse` and by any
tenant through the metrics endpoint (its rows only).

Invariant (nothing lost, nothing doubled), as for `step_metrics`: one insert per
topic-partition offset range with the deduplication token `topic:partition:first-last`;
each row carries its own topic/partition/offset, and on start the consumer seeks to
max(offset)+1 read from the table itself. A record that does not decode still gets a row
(status = the decode error), so it is counted, never skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message

from projections.clickhouse_sink import ClickHouseRowSink, ch_datetime
from schemas import serde
from schemas.events import AgentTaskCompleted

TABLE = "agent_metrics"
STEP = "agent_tasks"


def agent_row(m: Message) -> dict[str, Any]:
    """The agent_metrics row of one record of agent.tasks.completed."""
    base = {"topic": m.topic(), "partition": m.partition(), "offset": m.offset(), "step": STEP,
            "task_id": "", "agent_id": "", "agent_type": "", "task_type": "",
            "execution_ms": 0.0, "confidence": None, "cost_usd": 0.0, "attempts": 0,
            "recalled": 0, "memory_error": 0, "output_redactions": 0}
    try:
        ev = serde.decode(m.value(), AgentTaskCompleted)
    except serde.DecodeError as exc:
        return {**base, "event_id": f"{m.topic()}:{m.partition()}:{m.offset()}",
                "tenant_id": "unknown", "status": exc.kind,
                "created_at": ch_datetime(datetime.now(UTC))}
    return {**base, "event_id": ev.event_id, "tenant_id": ev.tenant_id, "task_id": ev.task_id,
            "agent_id": ev.agent_id or "", "agent_type": ev.agent_type,
            "task_type": ev.task_type, "status": ev.status, "execution_ms": ev.execution_ms,
            "confidence": ev.confidence, "cost_usd": ev.cost_usd, "attempts": ev.attempts,
            "recalled": len(ev.recalled_task_ids), "memory_error": int(bool(ev.memory_error)),
            "output_redactions": sum(ev.output_redactions.values()),
            "created_at": ch_datetime(ev.occurred_at)}


class AgentMetricsSink(ClickHouseRowSink):
    """Projection `clickhouse_agents` of agent.tasks.completed."""

    name = "clickhouse_agents"
    table = TABLE
    row = staticmethod(agent_row)
