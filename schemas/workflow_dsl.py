"""The workflow DSL: a trigger, typed steps and connections forming a DAG.

These models define the shape; `processors.workflows.validator` checks what a shape cannot
(acyclicity, reachability, wiring, timing). `workflow_json_schema()` is the JSON schema handed
to constrained LLM decoding and published as schemas/workflow.schema.json.

Input wiring: a step input value is either a literal or a reference `{{trigger.<field>}}` /
`{{steps.<step_id>.<output>}}` to a field of the trigger payload or an output an upstream
step declares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

StepType = Literal[
    "send_sms", "send_email", "wait", "condition", "create_task", "update_crm", "call_agent",
    "llm_generate", "notify_staff", "schedule_appointment", "assign_lead", "webhook",
]
TriggerType = Literal["event", "schedule", "webhook"]

# Params a step type cannot run without.
REQUIRED_PARAMS: dict[str, tuple[str, ...]] = {
    "send_sms": ("to", "message"),
    "send_email": ("to", "subject", "body"),
    "wait": (),  # `duration`, or `until` (+ optional `offset`): checked by the validator
    "condition": ("expression",),
    "create_task": ("title", "assignee"),
    "update_crm": ("record", "fields"),
    "call_agent": ("agent_type", "task"),
    "llm_generate": ("prompt",),
    "notify_staff": ("role", "message"),
    "schedule_appointment": ("customer", "service"),
    "assign_lead": ("lead", "strategy"),
    "webhook": ("url",),
}

SCHEMA_PATH = Path(__file__).resolve().parent / "workflow.schema.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Trigger(_Model):
    type: TriggerType
    event: str | None = Field(default=None, description="event name, for type=event")
    schedule: str | None = Field(default=None, description="cron expression, for type=schedule")
    path: str | None = Field(default=None, description="URL path, for type=webhook")
    filters: dict[str, str] = Field(default_factory=dict)


class Step(_Model):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    type: StepType
    name: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    outputs: list[str] = Field(default_factory=list)


class Connection(_Model):
    source: str
    target: str
    when: Literal["true", "false"] | None = Field(
        default=None, description="branch of a condition step")


class Workflow(_Model):
    id: str
    name: str = Field(min_length=1)
    description: str = ""
    domain: Literal["sales", "service", "parts", "finance", "marketing"]
    trigger: Trigger
    steps: list[Step] = Field(min_length=1)
    connections: list[Connection] = Field(default_factory=list)
    version: int = 1


def workflow_json_schema() -> dict[str, Any]:
    return Workflow.model_json_schema()


def render_json_schema() -> str:
    return json.dumps(workflow_json_schema(), indent=2, sort_keys=True) + "\n"
