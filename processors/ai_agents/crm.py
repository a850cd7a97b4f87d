"""CRM action agents: the workflow steps `create_task` and `update_crm`.

Like the delivery agents (actions.py) they change nothing themselves: the task's result
(`AgentTaskCompleted.output_json`, after the output firewall) IS the change, and the
projection `postgres_agents` writes it to Postgres (`crm_tasks`, `crm_customer_updates` and
the view `crm_customer_fields`; projections/agent_sink.py). A task answered twice (a
redelivery) is the same result, keyed by its task id, so the change happens once.

Invariants:
- `update_crm` writes the fields of `CRM_FIELDS` (a customer's status, preferences,
  interest, notes) and a workflow's own outcome fields (`field_refused`): names, addresses,
  emails and phone numbers are raw PII and enter only through the CRM's own feed
  (customers.raw -> the restricted layer), never through a task; every value is scanned by
  the output firewall;
- a CRM task's id is derived from (tenant, task id): one task, one CRM task.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from processors.ai_agents.model import AgentTask, AiAgent, Capability, TaskOutcome
from schemas.ids import CUSTOMER_REF_PATTERN, derived_id

#: the customer fields update_crm may set, and what each holds
CRM_FIELDS: dict[str, str] = {
    "lead_status": "new, contacted, qualified, won, lost",
    "preferred_channel": "email, sms, phone",
    "next_service_due": "a date, YYYY-MM-DD",
    "vehicle_interest": "the model or kind of vehicle the customer asks about",
    "assigned_to": "the staff role or team that owns the customer",
    "do_not_contact": "true to stop every outreach",
    "notes": "free text for staff (scanned by the output firewall)",
}
FieldValue = str | int | float | bool | None
#: a field a workflow records its outcome in (`reminder_outcome`, `coupon_code`): any such
#: name outside CRM_FIELDS is allowed unless a part of it names contact data
CUSTOM_FIELD = re.compile(r"^[a-z][a-z0-9_]{2,47}$")
CONTACT_WORDS = frozenset({
    "name", "email", "mail", "phone", "mobile", "cell", "fax", "address", "street", "city",
    "zip", "postal", "postcode", "ssn", "birth", "dob", "birthdate", "license", "licence",
    "passport", "card", "iban", "account", "contact", "handle",
})


def field_refused(name: str) -> str | None:
    """Why update_crm may not set `name`, or None (CRM_FIELDS, or a custom outcome field
    none of whose `_` parts is a CONTACT_WORDS word)."""
    if name in CRM_FIELDS:
        return None
    if not CUSTOM_FIELD.fullmatch(name):
        return "not a field name (a-z, 0-9, _; 3-48 characters)"
    if CONTACT_WORDS & set(name.split("_")) or name == "birthday":
        return "contact details come from the CRM feed (customers.raw)"
    return None


class CreateTaskInput(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    customer_ref: str | None = Field(default=None, min_length=1, max_length=128,
                                     pattern=CUSTOMER_REF_PATTERN)
    due_in_days: int = Field(default=1, ge=0, le=365, description="due this many days after "
                             "the task completes")
    priority: Literal["low", "normal", "high"] = "normal"
    assignee: str | None = Field(default=None, max_length=64,
                                 description="a staff role or team, not a person's name")


class CreatedTask(BaseModel):
    crm_task_id: str
    title: str
    description: str
    customer_ref: str | None
    due_in_days: int
    priority: str
    assignee: str | None


class UpdateCrmInput(BaseModel):
    customer_ref: str = Field(min_length=1, max_length=128, pattern=CUSTOMER_REF_PATTERN)
    fields: dict[str, FieldValue] = Field(min_length=1, max_length=32)

    @field_validator("fields")
    @classmethod
    def _known(cls, fields: dict[str, FieldValue]) -> dict[str, FieldValue]:
        refused = sorted(k for k in fields if field_refused(k))
        if refused:
            raise ValueError(f"update_crm cannot set {', '.join(refused)}: "
                             f"{field_refused(refused[0])}; it sets {', '.join(CRM_FIELDS)} "
                             "and a workflow's own outcome fields")
        too_long = sorted(k for k, v in fields.items() if isinstance(v, str) and len(v) > 2000)
        if too_long:
            raise ValueError(f"fields longer than 2000 characters: {', '.join(too_long)}")
        return fields


class CrmUpdated(BaseModel):
    customer_ref: str
    fields: dict[str, FieldValue]


def crm_task_id(tenant_id: str, task_id: str) -> str:
    return derived_id(f"{tenant_id}/{task_id}", "crm-task")


class CreateTaskAgent(AiAgent):
    DESCRIPTION = "Creates a follow-up task for the dealership's staff in the CRM (Postgres)"
    CAPABILITIES = (Capability(
        task_type="create_task", description="a staff follow-up task, optionally about a "
        "customer (once per task id)", input_model=CreateTaskInput, output_model=CreatedTask),)

    def __init__(self, agent_id: str = "create-task-1") -> None:
        super().__init__(agent_id)

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        assert isinstance(payload, CreateTaskInput)
        return TaskOutcome(success=True, confidence=1.0, output={
            "crm_task_id": crm_task_id(task.tenant_id, task.task_id),
            **payload.model_dump()})


class UpdateCrmAgent(AiAgent):
    DESCRIPTION = "Updates a customer's CRM fields (status, preferences, interest, notes)"
    CAPABILITIES = (Capability(
        task_type="update_crm", description="set a customer's CRM fields: "
        + "; ".join(f"{k} ({v})" for k, v in CRM_FIELDS.items()),
        input_model=UpdateCrmInput, output_model=CrmUpdated),)

    def __init__(self, agent_id: str = "update-crm-1") -> None:
        super().__init__(agent_id)

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        assert isinstance(payload, UpdateCrmInput)
        return TaskOutcome(success=True, confidence=1.0, output=payload.model_dump())
