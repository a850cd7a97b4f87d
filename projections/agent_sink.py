"""AI agents and their tasks -> Postgres, offsets in the same transaction.

`postgres_agents` reads agents.registered: one `ai_agents` row per agent (the spec's
registry: type, description, capabilities as JSON, status), with the view
`agent_capabilities` as the capability index (one row per agent and task type, always
consistent with `ai_agents`). A re-announcement of an unchanged agent (same event id) leaves
its row as it was; a changed declaration (a new event id) replaces it if it is newer.

It also reads agent.tasks.completed: `agent_tasks` has one row per (tenant, task) with the
agent that ran it, why it was chosen, its output (after the output firewall), confidence, execution
time, cost, attempts and error. Idempotency invariant: keyed (tenant_id, task_id), the row is
the greatest event by (created_at, event_id), so a redelivered result changes nothing; the
step answers a task id once anyway (streams/agent_steps.py). Row-level security keeps a
reader to its tenant (projections/postgres_schema.py, TENANT_TABLES).
"""

from __future__ import annotations

import json

from confluent_kafka import Message

from projections.postgres_targets import (
    SOURCE,
    Rows,
    Target,
    TargetedProjection,
    insert_one_per_key,
    json_field,
    latest_wins,
    source_of,
    update_all_but,
)
from schemas import topics
from schemas.events import AgentRegistered, AgentTaskCompleted

TASK_COLUMNS = ("tenant_id", "task_id", "event_id", "agent_id", "agent_type", "task_type",
                "status", "output", "confidence", "execution_ms", "cost_usd", "attempts",
                "selection_reason", "error", "output_redactions", "created_at", *SOURCE)
TASKS = Target("agent_tasks", TASK_COLUMNS,
               latest_wins("agent_tasks", TASK_COLUMNS, "tenant_id, task_id"))


AGENT_COLUMNS = ("agent_id", "agent_type", "description", "capabilities", "status",
                 "event_id", "created_at", *SOURCE)
AGENTS = Target("ai_agents", AGENT_COLUMNS, (
    insert_one_per_key("ai_agents", AGENT_COLUMNS, "agent_id", "created_at DESC, event_id DESC")
    + update_all_but(AGENT_COLUMNS, keep=("agent_id",))
    + " WHERE EXCLUDED.event_id <> cur.event_id AND EXCLUDED.created_at > cur.created_at"))


def agent_rows(m: Message, ev: AgentRegistered) -> Rows:
    capabilities = [{**c.model_dump(exclude={"input_schema_json", "output_schema_json"}),
                     "input_schema": json.loads(c.input_schema_json),
                     "output_schema": json.loads(c.output_schema_json)}
                    for c in ev.capabilities]
    return [(AGENTS, (ev.agent_id, ev.agent_type, ev.description, json.dumps(capabilities),
                      ev.status, ev.event_id, ev.occurred_at, *source_of(m)))]


def task_rows(m: Message, ev: AgentTaskCompleted) -> Rows:
    return [(TASKS, (
        ev.tenant_id, ev.task_id, ev.event_id, ev.agent_id, ev.agent_type, ev.task_type,
        ev.status, json_field(ev, "output_json"), ev.confidence, ev.execution_ms, ev.cost_usd,
        ev.attempts, ev.selection_reason, ev.error, json.dumps(ev.output_redactions),
        ev.occurred_at, *source_of(m)))]


class PostgresAgentSink(TargetedProjection):
    """Projection `postgres_agents` of agents.registered and agent.tasks.completed."""

    name = "postgres_agents"
    step = "postgres_agents_projection"
    specs = (topics.AGENTS_REGISTERED, topics.AGENT_TASKS_COMPLETED)
    handlers = {AgentRegistered: agent_rows, AgentTaskCompleted: task_rows}
    targets = (AGENTS, TASKS)
