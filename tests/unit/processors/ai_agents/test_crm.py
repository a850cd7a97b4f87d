"""The CRM action agents (pure): what update_crm may set, one CRM task per task id."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from processors.ai_agents.crm import CreateTaskAgent, UpdateCrmAgent, UpdateCrmInput
from processors.ai_agents.model import AgentTask


def _run(agent, task_type: str, data: dict, task_id: str = "t-1"):
    task = AgentTask(task_id=task_id, tenant_id="dealer-1", task_type=task_type, input=data)
    return asyncio.run(agent.run(task))


def test_contact_details_cannot_be_set_through_a_task() -> None:
    with pytest.raises(ValidationError, match="cannot set email, phone"):
        UpdateCrmInput(customer_ref="c-1", fields={"phone": "+15550100", "email": "a@b.c",
                                                   "lead_status": "won"})
    with pytest.raises(ValidationError, match="longer than 2000"):
        UpdateCrmInput(customer_ref="c-1", fields={"notes": "x" * 2001})
    out = _run(UpdateCrmAgent(), "update_crm", {"customer_ref": "c-1",
                                                "fields": {"do_not_contact": True}})
    assert out.success and out.output == {"customer_ref": "c-1",
                                          "fields": {"do_not_contact": True}}


def test_a_crm_task_id_is_fixed_by_the_task() -> None:
    data = {"title": "Call back", "due_in_days": 2}
    one, again = (_run(CreateTaskAgent(), "create_task", data) for _ in range(2))
    other = _run(CreateTaskAgent(), "create_task", data, task_id="t-2")
    assert one.output["crm_task_id"] == again.output["crm_task_id"]
    assert other.output["crm_task_id"] != one.output["crm_task_id"]
    assert one.output["priority"] == "normal" and one.output["due_in_days"] == 2


@pytest.mark.parametrize("name, allowed", [
    ("reminder_outcome", True), ("coupon_code", True), ("service_rating", True),
    ("customer_email", False), ("mobile_number", False), ("home_address", False),
    ("first_name", False), ("Notes", False), ("x", False), ("date_of_birth", False),
])
def test_a_workflows_outcome_fields_may_be_set_but_no_contact_field(name: str,
                                                                     allowed: bool) -> None:
    if allowed:
        assert UpdateCrmInput(customer_ref="c-1", fields={name: "x"}).fields == {name: "x"}
    else:
        with pytest.raises(ValidationError, match=f"cannot set {name}"):
            UpdateCrmInput(customer_ref="c-1", fields={name: "x"})
