"""One task, requested to completed: pick the best capable agent, run it with a timeout and
retries, and say what happened.

    AgentTaskRequested -> registry.capable -> choose_agent -> recall (similar past tasks and
    the agent's context window) -> agent.run (timeout, retries with backoff) ->
    AgentTaskCompleted (+ the performance book learns from it; its `memory_text` becomes a
    memory, projections/agent_memory.py)

Invariants:
- every request gets one `AgentTaskCompleted` (its event id derived from the tenant and the
  task id), `completed` or `failed`, naming the agent that ran it and why it was chosen; a
  request that is malformed (input not a JSON object, nested too deeply, or not what the
  capability takes) or that no agent can handle also gets one (`failed`, the error saying
  what was wrong, in the step's own words: no input is quoted, a task type only if it is a
  type name), and `TaskRejected` marks it for a dead letter;
- an agent's exception or timeout is a failed attempt, retried up to `DispatchPolicy.retries`
  times with doubling backoff; the book records the final outcome once per dispatch. The
  timeout bounds the wait for an attempt, not the work: an agent that calls a blocking
  library in a thread (the LLM router) keeps that thread busy until the call returns.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from processors.ai_agents.memory import Recollection, memory_text
from processors.ai_agents.model import AgentTask, AiAgent, TaskInputError, TaskOutcome
from processors.ai_agents.selection import NoCapableAgentError, PerformanceBook, choose_agent
from schemas.errors import StoreUnavailable
from schemas.events import AgentTaskCompleted, AgentTaskRequested, DeliveryRequested, utcnow
from schemas.ids import derived_id

#: what a task type looks like (processors/ai_agents/model.py Capability.task_type); a
#: rejection quotes the requested type only if it is one, never free text
_TYPE_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,63}")

#: recall for a task about to run on an agent (the step's pgvector memory)
Recall = Callable[[AgentTask, str], Awaitable[Recollection]]


class AgentRegistry:
    """The agents this process runs, by id."""

    def __init__(self, agents: Iterable[AiAgent] = ()) -> None:
        self._agents: dict[str, AiAgent] = {}
        for a in agents:
            self.register(a)

    def register(self, agent: AiAgent) -> None:
        if agent.agent_id in self._agents:
            raise ValueError(f"an AI agent with id {agent.agent_id!r} is registered already")
        self._agents[agent.agent_id] = agent

    def agents(self) -> list[AiAgent]:
        return [self._agents[k] for k in sorted(self._agents)]

    def task_types(self) -> list[str]:
        return sorted({c.task_type for a in self._agents.values() for c in a.CAPABILITIES})

    def declaring(self, task_type: str) -> list[AiAgent]:
        """Agents that declare `task_type` (whether or not a given input suits them)."""
        return [a for a in self.agents() if a.capability(task_type) is not None]

    def get(self, agent_id: str) -> AiAgent:
        return self._agents[agent_id]


@dataclass(frozen=True)
class DispatchPolicy:
    timeout_s: float = 60.0
    retries: int = 2
    backoff_s: float = 0.5


class TaskRejected(Exception):
    """A request that cannot run (error kind `kind`); `completed` is its failed result."""

    def __init__(self, kind: str, message: str, completed: AgentTaskCompleted) -> None:
        super().__init__(message)
        self.kind = kind
        self.completed = completed


def _completed(req: AgentTaskRequested, *, status: str, agent_id: str | None = None,
               outcome: TaskOutcome | None = None, execution_ms: float = 0.0,
               attempts: int = 0, reason: str | None = None,
               error: str | None = None, task: AgentTask | None = None,
               memory_error: str | None = None) -> AgentTaskCompleted:
    error = error if error is not None else (outcome.error if outcome else None)
    return AgentTaskCompleted(
        event_id=derived_id(f"{req.tenant_id}/{req.task_id}", "agent-task-completed"),
        tenant_id=req.tenant_id,
        occurred_at=utcnow(), task_id=req.task_id, agent_type=req.agent_type,
        task_type=req.task_type, status=status,  # type: ignore[arg-type]
        output_json=json.dumps(outcome.output if outcome else {}, sort_keys=True, default=str),
        execution_ms=execution_ms, confidence=outcome.confidence if outcome else None,
        error=error, agent_id=agent_id, cost_usd=outcome.cost_usd if outcome else 0.0,
        attempts=attempts, selection_reason=reason,
        memory_text=memory_text(task.task_type, task.input,
                                outcome.output if outcome and outcome.success else None,
                                None if outcome and outcome.success else error)
        if task is not None and agent_id is not None else "",
        recalled_task_ids=task.memory.task_ids() if task is not None else [],
        memory_error=memory_error)


def _json_object(req: AgentTaskRequested, field: str) -> dict:
    """Field `field` of the request parsed as a JSON object, or `TaskRejected`."""
    try:
        data = json.loads(getattr(req, field))
    except json.JSONDecodeError as exc:
        message = f"task {req.task_id}: {field} is not JSON ({exc.msg} at {exc.pos})"
        raise TaskRejected("bad_task_input", message,
                           _completed(req, status="failed", error=message)) from exc
    except RecursionError as exc:
        message = f"task {req.task_id}: {field} is nested too deeply"
        raise TaskRejected("bad_task_input", message,
                           _completed(req, status="failed", error=message)) from exc
    if not isinstance(data, dict):
        message = f"task {req.task_id}: {field} is a {type(data).__name__}, not an object"
        raise TaskRejected("bad_task_input", message,
                           _completed(req, status="failed", error=message))
    return data


def parse_task(req: AgentTaskRequested) -> AgentTask:
    """The request as an `AgentTask`; `TaskRejected("bad_task_input")` if its input or its
    context is no JSON object."""
    return AgentTask(task_id=req.task_id, tenant_id=req.tenant_id, task_type=req.task_type,
                     input=_json_object(req, "input_json"),
                     context=_json_object(req, "context_json"))


@dataclass(frozen=True)
class Dispatched:
    """A task's result and the outbox records of the messages its agent decided to send
    (none unless it succeeded)."""

    completed: AgentTaskCompleted
    deliveries: tuple[DeliveryRequested, ...] = ()


def outbox(req: AgentTaskRequested, outcome: TaskOutcome) -> tuple[DeliveryRequested, ...]:
    """The outbox records of a successful outcome's deliveries (ids from the agent, derived
    from the task: processors/ai_agents/actions.py)."""
    if not outcome.success:
        return ()
    return tuple(DeliveryRequested(
        event_id=derived_id(f"{req.tenant_id}/{d.delivery_id}", "delivery-requested"),
        tenant_id=req.tenant_id, occurred_at=utcnow(), delivery_id=d.delivery_id,
        task_id=req.task_id, channel=d.channel, customer_ref=d.customer_ref,
        subject=d.subject, body=d.body, variant=d.variant, campaign_id=d.campaign_id,
        workflow_id=req.workflow_id)
        for d in outcome.deliveries)


async def dispatch(req: AgentTaskRequested, registry: AgentRegistry, book: PerformanceBook,
                   policy: DispatchPolicy = DispatchPolicy(),
                   sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                   recall: Recall | None = None) -> AgentTaskCompleted:
    """`run_task`'s result alone."""
    return (await run_task(req, registry, book, policy, sleep, recall)).completed


async def run_task(req: AgentTaskRequested, registry: AgentRegistry, book: PerformanceBook,
                   policy: DispatchPolicy = DispatchPolicy(),
                   sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                   recall: Recall | None = None) -> Dispatched:
    """Run one request (module doc); raises `TaskRejected` for what cannot run. If `recall`
    fails the task runs without memory and its result says so (`memory_error`): a memory
    store that is down slows learning, it does not stop the dealership's tasks."""
    task = parse_task(req)
    declaring = registry.declaring(task.task_type)
    if not declaring:
        shown = repr(req.task_type) if _TYPE_NAME.fullmatch(req.task_type) else (
            "(not a task type name)")
        message = (f"task {req.task_id}: no agent can handle task type {shown} "
                   f"(registered: {', '.join(registry.task_types()) or 'none'})")
        raise TaskRejected("no_capable_agent", message,
                           _completed(req, status="failed", error=message))
    capable = [a.agent_id for a in declaring if a.can_handle(task)]
    if not capable:
        capability = declaring[0].capability(task.task_type)
        assert capability is not None
        try:
            task.payload(capability)
            message = f"task {req.task_id}: every agent of {req.task_type!r} refused it"
        except TaskInputError as exc:
            message = str(exc)
        raise TaskRejected("bad_task_input", message,
                           _completed(req, status="failed", error=message))
    choice = choose_agent(task.task_id, task.task_type, capable, book)
    agent = registry.get(choice.agent_id)
    memory_error = None
    if recall is not None:
        try:
            task = task.model_copy(update={"memory": await recall(task, agent.agent_id)})
        except Exception as exc:  # noqa: BLE001 - reported on the result (docstring)
            memory_error = f"memory unavailable: {type(exc).__name__}: {str(exc)[:200]}"
    started = time.perf_counter()
    outcome: TaskOutcome | None = None
    attempts = 0
    capability = agent.capability(task.task_type)
    timeout_s = (capability.timeout_s if capability else None) or policy.timeout_s
    for attempt in range(policy.retries + 1):
        attempts = attempt + 1
        try:
            outcome = await asyncio.wait_for(agent.run(task), timeout_s)
        except TimeoutError:
            outcome = TaskOutcome(success=False, error=f"timed out after {timeout_s} s")
        except StoreUnavailable:
            raise  # not the task's fault: the step runs it again once the store answers
        except Exception as exc:  # noqa: BLE001 - an agent's failure is the task's outcome
            outcome = TaskOutcome(success=False, error=f"{type(exc).__name__}: {exc}")
        if outcome.success:
            break
        if attempt < policy.retries:
            await sleep(policy.backoff_s * 2**attempt)
    assert outcome is not None
    elapsed_ms = (time.perf_counter() - started) * 1000
    book.record(agent.agent_id, task.task_type, success=outcome.success,
                execution_ms=elapsed_ms, cost_usd=outcome.cost_usd,
                confidence=outcome.confidence)
    return Dispatched(_completed(
        req, status="completed" if outcome.success else "failed", agent_id=agent.agent_id,
        outcome=outcome, execution_ms=elapsed_ms, attempts=attempts, reason=choice.reason,
        task=task, memory_error=memory_error), outbox(req, outcome))


__all__ = ["AgentRegistry", "Dispatched", "DispatchPolicy", "NoCapableAgentError", "Recall",
           "TaskRejected", "dispatch", "outbox", "parse_task", "run_task"]
