"""The CRM rows of agent results: a result whose output is not the CRM change its task type
promises is dead-lettered naming the agent, never a projection stuck on a missing key."""

from __future__ import annotations

import json

import pytest

from projections.agent_sink import crm_rows
from projections.postgres_sink import Rejected
from schemas.events import AgentTaskCompleted, utcnow


def _result(task_type: str, output: dict[str, object]) -> AgentTaskCompleted:
    return AgentTaskCompleted(event_id="e1", tenant_id="dealer-1", occurred_at=utcnow(),
                              task_id="t1", agent_type="crm", task_type=task_type,
                              status="completed", agent_id="salesforce-tasks-1",
                              output_json=json.dumps(output))


@pytest.mark.parametrize("task_type, output, missing", [
    ("create_task", {"salesforce_id": "00T5e00001"}, "crm_task_id"),
    ("update_crm", {"customer_ref": "CRM-1"}, "fields"),
])
def test_a_plugins_other_output_shape_is_rejected_naming_the_agent(
        task_type: str, output: dict[str, object], missing: str) -> None:
    # found by review: a KeyError here is no dead letter, so the batch was retried for ever
    ev = _result(task_type, output)
    with pytest.raises(Rejected, match=f"salesforce-tasks-1.*{missing}") as refused:
        crm_rows(None, ev, output)  # type: ignore[arg-type]  # refused before the position
    assert refused.value.kind == "schema_invalid" and refused.value.tenant_id == "dealer-1"


def test_a_failed_result_changes_nothing() -> None:
    ev = _result("create_task", {}).model_copy(update={"status": "failed"})
    assert crm_rows(None, ev, {}) == []  # type: ignore[arg-type]
