"""One task from request to completion: choice, timeout, retries, rejections, learning."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from pydantic import BaseModel

from processors.ai_agents.dispatch import (
    AgentRegistry,
    DispatchPolicy,
    TaskRejected,
    dispatch,
)
from processors.ai_agents.model import AgentTask, AiAgent, Capability, TaskOutcome
from processors.ai_agents.selection import MIN_RUNS, PerformanceBook
from schemas.errors import StoreUnavailable
from schemas.events import AgentTaskRequested, utcnow


class Reminder(BaseModel):
    customer_tag: str


class Text(BaseModel):
    text: str


CAP = Capability(task_type="draft_sms", description="a reminder text", input_model=Reminder,
                 output_model=Text, cost_per_operation_usd=0.001)


class Scripted(AiAgent):
    """Answers from a script: "ok", "fail", "raise" or "hang" per call, then "ok"."""

    CAPABILITIES = (CAP,)

    def __init__(self, agent_id: str, script: list[str] | None = None) -> None:
        super().__init__(agent_id)
        self.script = list(script or [])
        self.calls = 0

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        self.calls += 1
        step = self.script.pop(0) if self.script else "ok"
        if step == "raise":
            raise RuntimeError("gateway unreachable")
        if step == "store_down":
            raise StoreUnavailable("customer facts: Postgres unavailable")
        if step == "hang":
            await asyncio.Event().wait()
        if step == "fail":
            return TaskOutcome(success=False, error="model refused")
        return TaskOutcome(success=True, output={"text": f"{self.agent_id} ok"},
                           confidence=0.9, cost_usd=0.001)


def request(task_type: str = "draft_sms", input_json: str | None = None,
            task_id: str | None = None, tenant: str = "dealer-1") -> AgentTaskRequested:
    return AgentTaskRequested(
        event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
        task_id=task_id or f"task-{uuid.uuid4().hex[:8]}", agent_type="messaging",
        task_type=task_type,
        input_json=input_json if input_json is not None else json.dumps(
            {"customer_tag": "<PERSON_1>"}))


async def no_sleep(seconds: float) -> None:
    slept.append(seconds)


slept: list[float] = []
FAST = DispatchPolicy(timeout_s=0.2, retries=2, backoff_s=0.5)


def test_a_task_completes_with_agent_reason_cost_and_attempts() -> None:
    registry = AgentRegistry([Scripted("sms-1")])
    done = asyncio.run(dispatch(request(), registry, PerformanceBook(), FAST, no_sleep))
    assert done.status == "completed" and done.agent_id == "sms-1" and done.attempts == 1
    assert json.loads(done.output_json) == {"text": "sms-1 ok"}
    assert done.selection_reason and done.selection_reason.startswith("cold start")
    assert done.cost_usd == pytest.approx(0.001) and done.confidence == 0.9


def test_failures_are_retried_with_doubling_backoff_and_a_timeout_counts() -> None:
    slept.clear()
    agent = Scripted("sms-1", ["raise", "hang"])
    done = asyncio.run(dispatch(request(), AgentRegistry([agent]), PerformanceBook(), FAST,
                                no_sleep))
    assert done.status == "completed" and done.attempts == 3 and agent.calls == 3
    assert slept == [0.5, 1.0]
    failing = Scripted("sms-2", ["fail", "fail", "fail"])
    done = asyncio.run(dispatch(request(), AgentRegistry([failing]), PerformanceBook(), FAST,
                                no_sleep))
    assert done.status == "failed" and done.attempts == 3 and done.error == "model refused"


def test_the_same_task_id_gives_the_same_event_id_within_a_tenant() -> None:
    book = PerformanceBook()

    def run(req: AgentTaskRequested) -> str:
        return asyncio.run(dispatch(req, AgentRegistry([Scripted("x")]), book, FAST,
                                    no_sleep)).event_id

    assert run(request(task_id="t-1")) == run(request(task_id="t-1"))
    assert run(request(task_id="t-1")) != run(request(task_id="t-1", tenant="dealer-2"))


def test_published_output_is_the_validated_model() -> None:
    class Loose(Scripted):
        async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
            return TaskOutcome(success=True, output={"text": "hi", "internal": "debug"})

    done = asyncio.run(dispatch(request(), AgentRegistry([Loose("l")]), PerformanceBook(),
                                FAST, no_sleep))
    assert json.loads(done.output_json) == {"text": "hi"}  # extra keys are not published


def test_deeply_nested_input_is_rejected_not_crashed() -> None:
    with pytest.raises(TaskRejected, match="nested too deeply"):
        asyncio.run(dispatch(request(input_json="[" * 200_000), AgentRegistry([Scripted("s")]),
                             PerformanceBook(), FAST, no_sleep))


def test_a_task_type_is_bounded_at_the_edge() -> None:
    with pytest.raises(ValueError, match="task_type"):
        request(task_type="x" * 65)


def test_selection_learns_from_dispatched_tasks() -> None:
    flaky, steady = Scripted("flaky", ["fail"] * 30), Scripted("steady")
    registry, book = AgentRegistry([flaky, steady]), PerformanceBook()
    policy = DispatchPolicy(timeout_s=0.2, retries=0, backoff_s=0)
    # fixed task ids: which tasks explore is fixed by their ids (selection.py)
    chosen = [asyncio.run(dispatch(request(task_id=f"learn-{i}"), registry, book, policy,
                                   no_sleep)).agent_id for i in range(2 * MIN_RUNS + 10)]
    assert chosen[: 2 * MIN_RUNS].count("flaky") == MIN_RUNS  # both tried first
    later = chosen[2 * MIN_RUNS:]
    assert later.count("steady") >= 8, later  # exploration may send one or two to flaky


@pytest.mark.parametrize(("req", "kind", "says"), [
    (request(task_type="make_coffee"), "no_capable_agent", "make_coffee"),
    (request(input_json="{not json"), "bad_task_input", "not JSON"),
    (request(input_json="[1, 2]"), "bad_task_input", "not an object"),
    (request(input_json='{"vehicle": "Camry"}'), "bad_task_input", "customer_tag"),
])
def test_what_cannot_run_is_rejected_with_a_failed_result(req: AgentTaskRequested, kind: str,
                                                          says: str) -> None:
    with pytest.raises(TaskRejected) as info:
        asyncio.run(dispatch(req, AgentRegistry([Scripted("sms-1")]), PerformanceBook(), FAST,
                             no_sleep))
    assert info.value.kind == kind and says in str(info.value)
    completed = info.value.completed
    assert completed.status == "failed" and completed.task_id == req.task_id
    assert says in (completed.error or "")


def test_an_agent_id_is_registered_once() -> None:
    with pytest.raises(ValueError, match="sms-1"):
        AgentRegistry([Scripted("sms-1"), Scripted("sms-1")])


def test_a_store_that_does_not_answer_is_not_the_tasks_failure() -> None:
    # found by review: a Postgres outage became a failed result, stored per task id and
    # replayed for ever; it must reach the step, which runs the record again later
    agent = Scripted("sms-1", ["store_down"])
    book = PerformanceBook()
    with pytest.raises(StoreUnavailable):
        asyncio.run(dispatch(request(), AgentRegistry([agent]), book, FAST, no_sleep))
    assert agent.calls == 1  # no retry burnt on it either
    done = asyncio.run(dispatch(request(), AgentRegistry([agent]), book, FAST, no_sleep))
    assert done.status == "completed"


def test_a_capability_may_take_longer_than_the_policys_timeout() -> None:
    class Slow(Scripted):
        CAPABILITIES = (CAP.model_copy(update={"timeout_s": 5.0}),)

        async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
            await asyncio.sleep(0.4)  # twice FAST's 0.2 s: the capability's 5 s applies
            return await super().execute(task, payload)

    done = asyncio.run(dispatch(request(), AgentRegistry([Slow("slow-1")]), PerformanceBook(),
                                FAST, no_sleep))
    assert done.status == "completed" and done.attempts == 1
    hung = Scripted("sms-1", ["hang"] * 3)
    done = asyncio.run(dispatch(request(), AgentRegistry([hung]), PerformanceBook(), FAST,
                                no_sleep))
    assert done.status == "failed" and done.error == "timed out after 0.2 s"
