"""An agent's status is a fold of its task events; the agent contract validates both ways."""

import asyncio

import pytest
from pydantic import BaseModel

from processors.ai_agents.model import (
    AgentTask,
    AiAgent,
    Capability,
    TaskInputError,
    TaskOutcome,
)
from processors.ai_agents.status import AgentStatus, agent_status


def test_status_follows_the_task_events() -> None:
    assert agent_status([]) is AgentStatus.IDLE
    assert agent_status([("dispatched", "t1")]) is AgentStatus.WORKING
    assert agent_status([("dispatched", "t1"), ("retrying", "t1")]) is AgentStatus.WAITING
    assert agent_status([("dispatched", "t1"), ("retrying", "t1"),
                         ("dispatched", "t2")]) is AgentStatus.WORKING
    assert agent_status([("dispatched", "t1"), ("failed", "t1")]) is AgentStatus.ERROR
    assert agent_status([("dispatched", "t1"), ("failed", "t1"), ("dispatched", "t2"),
                         ("completed", "t2")]) is AgentStatus.COMPLETED
    # a redelivered event of a task already final changes nothing
    assert agent_status([("dispatched", "t1"), ("completed", "t1"),
                         ("dispatched", "t1")]) is AgentStatus.COMPLETED
    with pytest.raises(ValueError, match="unknown task event kind"):
        agent_status([("exploded", "t1")])  # type: ignore[list-item]


class Greeting(BaseModel):
    customer_tag: str
    vehicle: str


class Draft(BaseModel):
    subject: str
    body: str


class DraftAgent(AiAgent):
    CAPABILITIES = (Capability(task_type="draft_email", description="a service reminder",
                               input_model=Greeting, output_model=Draft,
                               cost_per_operation_usd=0.002),)

    def __init__(self, agent_id: str, broken: bool = False) -> None:
        super().__init__(agent_id)
        self.broken = broken

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        assert isinstance(payload, Greeting)
        if self.broken:
            return TaskOutcome(success=True, output={"subject": "no body"})
        return TaskOutcome(success=True, confidence=0.8, output={
            "subject": f"Your {payload.vehicle}", "body": f"Hi {payload.customer_tag}"})


def _task(**input: str) -> AgentTask:
    return AgentTask(task_id="t-1", tenant_id="dealer-1", task_type="draft_email", input=input)


def test_an_agent_handles_only_its_types_with_valid_input() -> None:
    agent = DraftAgent("drafter-1")
    assert agent.can_handle(_task(customer_tag="<PERSON_1>", vehicle="Camry"))
    assert not agent.can_handle(_task(customer_tag="<PERSON_1>"))  # vehicle missing
    other = AgentTask(task_id="t-2", tenant_id="d", task_type="send_sms", input={})
    assert not agent.can_handle(other)


def test_run_validates_input_and_output() -> None:
    good = asyncio.run(DraftAgent("a").run(_task(customer_tag="<PERSON_1>", vehicle="Camry")))
    assert good.success and good.output["subject"] == "Your Camry"
    with pytest.raises(TaskInputError, match="vehicle"):
        asyncio.run(DraftAgent("a").run(_task(customer_tag="<PERSON_1>")))
    bad = asyncio.run(DraftAgent("b", broken=True).run(
        _task(customer_tag="<PERSON_1>", vehicle="Camry")))
    assert not bad.success and "Draft" in (bad.error or "")


def test_capability_names_are_checked() -> None:
    with pytest.raises(ValueError):
        Capability(task_type="Draft Email!", description="x", input_model=Greeting,
                   output_model=Draft)
    with pytest.raises(ValueError, match="id"):
        DraftAgent("")


def test_a_registration_is_the_same_event_while_the_agent_is_unchanged() -> None:
    from processors.ai_agents.registration import registration

    a, b = registration(DraftAgent("drafter-1")), registration(DraftAgent("drafter-1"))
    assert a.event_id == b.event_id and a.tenant_id == "_system"
    assert [c.task_type for c in a.capabilities] == ["draft_email"]
    assert registration(DraftAgent("drafter-2")).event_id != a.event_id

    # the same class and id, one more capability: a changed declaration, a new event
    wider = type("DraftAgent", (DraftAgent,), {"CAPABILITIES": (*DraftAgent.CAPABILITIES,
                 Capability(task_type="draft_sms", description="a text", input_model=Greeting,
                            output_model=Draft))})
    assert registration(wider("drafter-1")).event_id != a.event_id
