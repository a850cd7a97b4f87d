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

A completed `create_task` / `update_crm` result is also the CRM change it made
(processors/ai_agents/crm.py): a `crm_tasks` row keyed by its CRM task id, a
`crm_customer_updates` row keyed by the task id (the view `crm_customer_fields` gives each
field's latest value); keyed like the task, so a redelivered result changes nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, TypeVar

from confluent_kafka import Message
from pydantic import BaseModel, ValidationError

from processors.ai_agents.crm import CreatedTask, CrmUpdated
from projections.postgres_sink import Rejected
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


CRM_TASK_COLUMNS = ("tenant_id", "crm_task_id", "task_id", "customer_ref", "title",
                    "description", "priority", "assignee", "due_at", "event_id", "created_at",
                    *SOURCE)
CRM_TASKS = Target("crm_tasks", CRM_TASK_COLUMNS,
                   latest_wins("crm_tasks", CRM_TASK_COLUMNS, "tenant_id, crm_task_id"))
CRM_UPDATE_COLUMNS = ("tenant_id", "task_id", "customer_ref", "fields", "event_id",
                      "created_at", *SOURCE)
CRM_UPDATES = Target("crm_customer_updates", CRM_UPDATE_COLUMNS,
                     latest_wins("crm_customer_updates", CRM_UPDATE_COLUMNS,
                                 "tenant_id, task_id"))


M = TypeVar("M", bound=BaseModel)


def _crm_change(ev: AgentTaskCompleted, output: Any, model: type[M]) -> M:
    """The result's output as the CRM change `model`, or Rejected naming the agent (a
    plugin offering the task type with another output shape is dead-lettered, never a
    projection that stops on a missing key)."""
    try:
        return model.model_validate(output)
    except ValidationError as exc:
        raise Rejected("schema_invalid", f"{ev.task_type} result of agent {ev.agent_id} is "
                       f"not a {model.__name__} (processors/ai_agents/crm.py): "
                       f"{exc.errors()[0]['loc']} {exc.errors()[0]['msg']}",
                       ev.tenant_id) from exc


def crm_rows(m: Message, ev: AgentTaskCompleted, output: Any) -> Rows:
    """The CRM change a completed create_task / update_crm result carries (processors/
    ai_agents/crm.py); a CRM task is due `due_in_days` after the result's time."""
    if ev.status != "completed":
        return []
    if ev.task_type == "create_task":
        task = _crm_change(ev, output, CreatedTask)
        return [(CRM_TASKS, (
            ev.tenant_id, task.crm_task_id, ev.task_id, task.customer_ref, task.title,
            task.description, task.priority, task.assignee,
            ev.occurred_at + timedelta(days=task.due_in_days), ev.event_id, ev.occurred_at,
            *source_of(m)))]
    if ev.task_type == "update_crm":
        update = _crm_change(ev, output, CrmUpdated)
        return [(CRM_UPDATES, (ev.tenant_id, ev.task_id, update.customer_ref,
                               json.dumps(update.fields), ev.event_id, ev.occurred_at,
                               *source_of(m)))]
    return []


def task_rows(m: Message, ev: AgentTaskCompleted) -> Rows:
    output = json_field(ev, "output_json")
    return [(TASKS, (
        ev.tenant_id, ev.task_id, ev.event_id, ev.agent_id, ev.agent_type, ev.task_type,
        ev.status, output, ev.confidence, ev.execution_ms, ev.cost_usd,
        ev.attempts, ev.selection_reason, ev.error, json.dumps(ev.output_redactions),
        ev.occurred_at, *source_of(m))), *crm_rows(m, ev, json.loads(output))]


class PostgresAgentSink(TargetedProjection):
    """Projection `postgres_agents` of agents.registered and agent.tasks.completed."""

    name = "postgres_agents"
    step = "postgres_agents_projection"
    specs = (topics.AGENTS_REGISTERED, topics.AGENT_TASKS_COMPLETED)
    handlers = {AgentRegistered: agent_rows, AgentTaskCompleted: task_rows}
    targets = (AGENTS, TASKS, CRM_TASKS, CRM_UPDATES)
