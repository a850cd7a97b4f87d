"""AI agent tasks on the stream (issue 11):

    agent.tasks.requested --agent_tasks--> agent.tasks.completed (+ deliveries.outbox)
    (on start) one AgentRegistered per agent --> agents.registered

Wiring only: the step decodes a request, runs `processors.ai_agents.dispatch.dispatch` (the
best capable agent, its memory recalled from pgvector, timeout, retries), passes the result
through the output firewall (a model's output is scanned for PII before it is published) and
sends it keyed by task id.

Invariants:
- one result per (tenant, task id): the step's table `agent-task-results` (keyed by task id,
  so partitioned like the requests; a row maps each tenant to its answer) keeps each task's
  encoded result and outbox records, and a redelivered request is answered with them (all
  sent again, byte for byte), never run again; the same task twice in one batch waits for
  the first (a lock per task); tenants' task ids never collide;
- a request that cannot run (malformed input, no capable agent) gets a `failed` result AND
  a dead letter naming what was wrong, and the stream goes on; a rejection is not stored,
  so replaying the dead letter once the cause is fixed runs the task;
- every agent's result passes the output firewall; a rejection's error holds only the
  step's own words (processors/ai_agents/dispatch.py quotes no input).

Known limits: the table keeps every answer (no expiry yet); a redelivery lands on the
worker that holds the answer only if the producer partitions by task id with murmur2 (the
catalog's key), as `auterity agents task` does.

The performance the choice learns from is this process's (`PerformanceBook`, fed by every
task it completes), seeded at start-up from what Postgres `agent_tasks` recorded (so a
restart keeps what was learned, up to the projection's lag).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import faust

from processors.ai_agents.dispatch import (
    AgentRegistry,
    DispatchPolicy,
    Recall,
    TaskRejected,
    run_task,
)
from processors.ai_agents.memory import MemoryRecall, Recollection, query_text
from processors.ai_agents.model import AgentTask
from processors.ai_agents.registration import registration
from processors.ai_agents.selection import PerformanceBook, RecordedPerformance
from processors.pii.output_firewall import scan_job
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import AgentTaskRequested, DeliveryRequested
from streams.process_pool import StepPool
from streams.step_loop import Send, StepRejected, step_agent
from streams.usage_sink import KafkaUsageSink

log = logging.getLogger("auterity.agents")
STEP = "agent_tasks"


class Answer(NamedTuple):
    """A task's encoded result and its encoded outbox records."""

    completed: bytes
    outbox: tuple[bytes, ...]


def stored_answer(row: bytes, tenant_id: str) -> Answer | None:
    """The answer `tenant_id`'s task has in a results-table row (task id -> {tenant: answer};
    keyed by task id alone so the table is partitioned like the requests). An answer is
    {"completed": b64, "outbox": [b64, ...]} (a bare b64 string: a result without outbox,
    as rows were before outbox records)."""
    if not row:
        return None
    answer = json.loads(row).get(tenant_id)
    if not answer:
        return None
    if isinstance(answer, str):
        return Answer(base64.b64decode(answer), ())
    return Answer(base64.b64decode(answer["completed"]),
                  tuple(base64.b64decode(v) for v in answer.get("outbox", ())))


def with_answer(row: bytes, tenant_id: str, completed: bytes,
                outbox: tuple[bytes, ...] = ()) -> bytes:
    """The results-table row with `tenant_id`'s answer added."""
    answers = json.loads(row) if row else {}
    answers[tenant_id] = {"completed": base64.b64encode(completed).decode(),
                          "outbox": [base64.b64encode(v).decode() for v in outbox]}
    return json.dumps(answers, sort_keys=True).encode()


#: how long a task waits for its memories before it runs without them (memory_error)
RECALL_TIMEOUT_S = 10.0


def recall_in_thread(memory: MemoryRecall, timeout_s: float = RECALL_TIMEOUT_S) -> Recall:
    """`memory.recall` for a task, run in a thread (it embeds and queries Postgres), given
    up after `timeout_s` (the dispatcher reports it as the task's memory_error)."""

    async def recall(task: AgentTask, agent_id: str) -> Recollection:
        return await asyncio.wait_for(asyncio.to_thread(
            memory.recall, task.tenant_id, agent_id, task.task_type,
            query_text(task.task_type, task.input), exclude_task_id=task.task_id),
            timeout_s)

    return recall


def _delivery_key(encoded: bytes) -> bytes:
    return serde.decode(encoded, DeliveryRequested).delivery_id.encode()


def wire(app: faust.App, settings: Settings, registry: AgentRegistry, usage: KafkaUsageSink,
         firewall: StepPool, policy: DispatchPolicy | None = None,
         memory: MemoryRecall | None = None,
         recorded: Callable[[], Iterable[RecordedPerformance]] | None = None
         ) -> PerformanceBook:
    """Register the agent task step on `app`; returns the performance book it learns in.
    `memory` recalls similar past tasks for each task (None: agents run without memory);
    `recorded` reads the performance recorded before this process started (Postgres
    agent_tasks), the book's seed; unreadable, the book starts empty (logged)."""
    completed = app.topic(topics.AGENT_TASKS_COMPLETED.name(settings.topic_prefix),
                          key_type=bytes, value_type=bytes,
                          partitions=topics.AGENT_TASKS_COMPLETED.partitions)
    results = app.Table("agent-task-results", default=bytes, key_type=bytes,
                        value_type=bytes, partitions=topics.AGENT_TASKS_REQUESTED.partitions,
                        use_partitioner=True)
    book = PerformanceBook()
    if recorded is not None:
        try:
            log.info("agent selection seeded with %d recorded (agent, task type) totals",
                     book.seed(recorded()))
        except Exception as exc:  # noqa: BLE001 - selection works without it (docstring)
            log.warning("agent selection starts without recorded performance: %s: %s",
                        type(exc).__name__, str(exc)[:200])
    policy = policy or DispatchPolicy()
    announced = app.topic(topics.AGENTS_REGISTERED.name(settings.topic_prefix),
                          key_type=bytes, value_type=bytes,
                          partitions=topics.AGENTS_REGISTERED.partitions)

    @app.task
    async def _announce() -> None:
        """One AgentRegistered per agent this worker runs (processors/ai_agents/
        registration.py: an unchanged agent re-announces the same event id)."""
        sent = [await announced.send(key=a.agent_id.encode(),
                                     value=serde.encode(registration(a)))
                for a in registry.agents()]
        await asyncio.gather(*sent)
        log.info("announced %d AI agents", len(sent))

    outbox = app.topic(topics.DELIVERIES_OUTBOX.name(settings.topic_prefix),
                       key_type=bytes, value_type=bytes,
                       partitions=topics.DELIVERIES_OUTBOX.partitions)
    running: dict[bytes, asyncio.Lock] = {}
    recall = recall_in_thread(memory) if memory is not None else None

    async def on_request(ev: Any) -> list[Send]:
        req = serde.decode(ev.message.value, AgentTaskRequested)
        key = req.task_id.encode()
        running_as = f"{req.tenant_id}\x00{req.task_id}".encode()  # task ids are per tenant
        lock = running.setdefault(running_as, asyncio.Lock())
        try:
            async with lock:  # the same task twice in one batch runs once
                if stored := stored_answer(results[key], req.tenant_id):  # a redelivery
                    # the same bytes again, the outbox records too (they may be what the
                    # crash lost); the delivery connector sends each delivery id once
                    return [(completed, key, stored.completed),
                            *((outbox, _delivery_key(v), v) for v in stored.outbox)]
                try:
                    ran = await run_task(req, registry, book, policy, recall=recall)
                except TaskRejected as exc:
                    # not stored: a replay after the cause is fixed (an agent deployed) runs;
                    # not scanned: it holds the step's own words (dispatch.py), no input
                    raise StepRejected(exc.kind, str(exc), [
                        (completed, key, serde.encode(exc.completed))]) from exc
                done = await firewall.run(scan_job, ran.completed)
                encoded = serde.encode(done)
                queued = [serde.encode(await firewall.run(scan_job, d)) for d in ran.deliveries]
                results[key] = with_answer(results[key], req.tenant_id, encoded, tuple(queued))
                return [(completed, key, encoded),
                        *((outbox, _delivery_key(v), v) for v in queued)]
        finally:
            if not lock.locked() and running.get(running_as) is lock:
                del running[running_as]

    step_agent(app, settings, topics.AGENT_TASKS_REQUESTED, STEP, on_request, batch=8,
               concurrency=4, after_batch=usage.flush_or_raise)
    log.info("agent tasks: %d agents (%s)", len(registry.agents()),
             ", ".join(registry.task_types()))
    return book
