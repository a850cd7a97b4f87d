"""Workflow run histories -> Postgres `workflow_run_events`; the views `workflow_runs` and
`workflow_step_runs` (projections/postgres_schema.py) fold them into the runs table the
generated interfaces show.

Invariants: one row per (tenant, event id), so a redelivered event (the run step answers a
redelivered input with the same events) is the same row; offsets in the same transaction;
no address and no message text is stored: a run event names its customer by reference and
its tasks' inputs are templates (`{{customer.first_name}}`), filled only at delivery.
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
    source_of,
)
from schemas import topics
from schemas.events import WorkflowRunEvent

COLUMNS = ("tenant_id", "event_id", "run_id", "workflow_id", "workflow_version", "kind",
           "step_id", "attempt", "customer_ref", "task_id", "due_at", "error", "reason",
           "output", "created_at", *SOURCE)
EVENTS = Target("workflow_run_events", COLUMNS,
                insert_one_per_key("workflow_run_events", COLUMNS, "tenant_id, event_id",
                                   "created_at") + "DO NOTHING")


def event_rows(m: Message, ev: WorkflowRunEvent) -> Rows:
    output = json_field(ev, "output_json")
    if ev.kind == "run_started":  # the definition and trigger, not the step's output
        output = json.dumps({"trigger": json.loads(json_field(ev, "trigger_json"))})
    return [(EVENTS, (ev.tenant_id, ev.event_id, ev.run_id, ev.workflow_id,
                      ev.workflow_version, ev.kind, ev.step_id, ev.attempt, ev.customer_ref,
                      ev.task_id, ev.due_at, ev.error, ev.reason, output, ev.occurred_at,
                      *source_of(m)))]


class PostgresWorkflowRunSink(TargetedProjection):
    """Projection `postgres_workflow_runs` of workflow.runs (module doc)."""

    name = "postgres_workflow_runs"
    step = "postgres_workflow_runs_projection"
    specs = (topics.WORKFLOW_RUNS,)
    handlers = {WorkflowRunEvent: event_rows}
    targets = (EVENTS,)
