"""Workflow runs on the stream (processors/workflows/runs.py decides; this wires it).

    workflows.generated --(workflow_published)--> table of each tenant's published workflows
    dealership.events --(workflow_triggers)--> workflow.run_inputs   (start / fact)
    agent.tasks.completed --(workflow_results)--> workflow.run_inputs   (a run step's result)
    timers in the run table, due by the clock --> workflow.run_inputs   (timer)
    workflow.run_inputs --(workflow_runs)--> workflow.runs (history) + agent.tasks.requested

Invariants:
- one run's inputs are on one partition (keyed by run id) and one step decides them in
  order; its history is kept in the table `workflow-run-history` (changelogged), and the
  state is always the fold of that history;
- a run id is derived from (tenant, trigger fact's event id, workflow id): a redelivered
  fact starts nothing new; the workflow version is the latest valid one when the fact is
  processed, and the run keeps it;
- an input already applied is answered by sending again what it produced (the same event
  ids and task ids: the agent step answers a task id once), so a crash between the table
  write and the acks loses nothing and doubles nothing;
- a run takes inputs of its own tenant only (a result or fact naming another tenant's run
  is dead-lettered);
- timers live in the table `workflow-run-timers` (changelogged with the history), so a
  worker killed during a wait fires the timer when it is due after it restarts.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import faust

from processors.errors import StepInputError
from processors.workflows.runs import (
    Consent,
    RunState,
    TaskRequest,
    decide,
    fold,
    parse_task_id,
    tasks_of,
)
from runtime import clock
from runtime.settings import Settings
from schemas import serde, topics
from schemas.dealership_facts import matches_filters
from schemas.events import (
    AgentTaskCompleted,
    AgentTaskRequested,
    DealershipEvent,
    GeneratedWorkflow,
    WorkflowRunEvent,
    WorkflowRunInput,
)
from schemas.ids import derived_id
from streams.step_loop import Send, step_agent

log = logging.getLogger("auterity.runs")
#: a due timer is sent again only if this long passed without it being taken
TIMER_RESEND_S = 30.0
TIMER_TICK_S = 1.0
#: how long a customer's runs are remembered for the facts that may concern them
RUN_MEMORY = timedelta(days=400)
ConsentLookup = Callable[[str, str, str], bool]  # (tenant, customer, channel) -> allowed


def run_id_for(tenant: str, fact_event_id: str, workflow_id: str) -> str:
    return derived_id(f"{tenant}/{fact_event_id}", f"run:{workflow_id}")


def _history(row: bytes) -> list[WorkflowRunEvent]:
    return [serde.decode(base64.b64decode(v), WorkflowRunEvent)
            for v in (json.loads(row) if row else [])]


def _row(events: list[WorkflowRunEvent]) -> bytes:
    return json.dumps([base64.b64encode(serde.encode(e)).decode() for e in events]).encode()


def _timers_row(state: RunState | None) -> bytes:
    """{"tenant": T, "timers": [[step, due, attempt], ...]} of a running run (b"": none)."""
    if state is None or state.status != "running" or not state.timers():
        return b""
    return json.dumps({"tenant": state.tenant_id, "timers": [
        [sid, due.isoformat(), attempt] for sid, due, attempt in state.timers()]}).encode()


def task_request(tr: TaskRequest, tenant: str, now: datetime) -> AgentTaskRequested:
    return AgentTaskRequested(
        event_id=derived_id(tr.task_id, "run-task"), tenant_id=tenant, occurred_at=now,
        task_id=tr.task_id, agent_type="workflow", task_type=tr.task_type,
        input_json=json.dumps(tr.input), workflow_id=tr.workflow_id,
        context_json=json.dumps({"run_id": tr.run_id, "step_id": tr.step_id}))


def wire(app: faust.App, settings: Settings, consent: ConsentLookup) -> None:
    """Register the four run steps and the timer loop on `app` (module doc)."""
    p = settings.topic_prefix
    inputs = app.topic(topics.WORKFLOW_RUN_INPUTS.name(p), key_type=bytes, value_type=bytes,
                       partitions=topics.WORKFLOW_RUN_INPUTS.partitions)
    history_topic = app.topic(topics.WORKFLOW_RUNS.name(p), key_type=bytes, value_type=bytes,
                              partitions=topics.WORKFLOW_RUNS.partitions)
    tasks = app.topic(topics.AGENT_TASKS_REQUESTED.name(p), key_type=bytes, value_type=bytes,
                      partitions=topics.AGENT_TASKS_REQUESTED.partitions)
    published = app.GlobalTable("workflow-published", default=bytes, key_type=bytes,
                                value_type=bytes, partitions=topics.WORKFLOWS_GENERATED.partitions,
                                use_partitioner=True)
    customer_runs = app.Table("workflow-customer-runs", default=bytes, key_type=bytes,
                              value_type=bytes, partitions=topics.DEALERSHIP_EVENTS.partitions,
                              use_partitioner=True)
    histories = app.Table("workflow-run-history", default=bytes, key_type=bytes,
                          value_type=bytes, partitions=topics.WORKFLOW_RUN_INPUTS.partitions,
                          use_partitioner=True)
    timers = app.Table("workflow-run-timers", default=bytes, key_type=bytes, value_type=bytes,
                       partitions=topics.WORKFLOW_RUN_INPUTS.partitions, use_partitioner=True)

    # the runs decide on threads of their own: the default executor's few threads are held
    # for minutes by model calls (agents, builder) when the local model is busy, and a run
    # must not wait behind them (a CI run showed runs stalled behind a model backlog)
    deciding = ThreadPoolExecutor(max_workers=2, thread_name_prefix="workflow-runs")

    def send_input(inp: WorkflowRunInput) -> Send:
        return (inputs, inp.run_id.encode(), serde.encode(inp))

    # --- published workflows -------------------------------------------------------------
    async def on_workflow(ev: Any) -> list[Send]:
        wf = serde.decode(ev.message.value, GeneratedWorkflow)
        if not wf.valid:
            return []
        key = wf.tenant_id.encode()
        current = json.loads(published[key]) if published[key] else {}
        known = current.get(wf.workflow_id)
        if known is None or known["version"] <= wf.version:
            definition = json.loads(wf.definition_json)
            current[wf.workflow_id] = {"version": wf.version, "definition": definition,
                                       "event": (definition.get("trigger") or {}).get("event")}
            published[key] = json.dumps(current, sort_keys=True).encode()
            log.info("workflow %s v%d of %s runs on %s", wf.workflow_id, wf.version,
                     wf.tenant_id, current[wf.workflow_id]["event"])
        return []

    step_agent(app, settings, topics.WORKFLOWS_GENERATED, "workflow_published", on_workflow,
               batch=64)

    # --- triggers and facts --------------------------------------------------------------
    async def on_fact(ev: Any) -> list[Send]:
        fact = serde.decode(ev.message.value, DealershipEvent)
        now = clock.now(settings)
        key = f"{fact.tenant_id}\0{fact.customer_ref}".encode()
        remembered = json.loads(customer_runs[key] or b"[]")
        runs = [r for r in remembered
                if datetime.fromisoformat(r[2]) > now - RUN_MEMORY]
        trigger = {"event": fact.fact, "customer_id": fact.customer_ref,
                   "dealership_name": fact.tenant_id, "occurred_at":
                   fact.occurred_at.isoformat(), **fact.attributes()}
        out: list[Send] = []
        started = set()
        workflows = json.loads(published[fact.tenant_id.encode()] or b"{}")
        for wid, wf in sorted(workflows.items()):
            filters = (wf["definition"].get("trigger") or {}).get("filters") or {}
            if wf["event"] != fact.fact or not matches_filters(filters, trigger):
                continue
            rid = run_id_for(fact.tenant_id, fact.event_id, wid)
            started.add(rid)
            out.append(send_input(WorkflowRunInput(
                event_id=derived_id(rid, "start"), tenant_id=fact.tenant_id,
                occurred_at=fact.occurred_at, run_id=rid, kind="start", workflow_id=wid,
                workflow_version=wf["version"], definition_json=json.dumps(wf["definition"]),
                trigger_json=json.dumps(trigger), customer_ref=fact.customer_ref,
                subject=fact.subject(), fact=fact.fact)))
        for rid, _wid, _at in runs:
            if rid in started:
                continue
            out.append(send_input(WorkflowRunInput(
                event_id=derived_id(f"{rid}/{fact.event_id}", "fact"),
                tenant_id=fact.tenant_id, occurred_at=fact.occurred_at, run_id=rid,
                kind="fact", fact=fact.fact, subject=fact.subject(),
                customer_ref=fact.customer_ref, trigger_json=json.dumps(fact.attributes()))))
        known = {r[0] for r in runs}
        new = [[rid, wid, now.isoformat()] for wid in sorted(workflows)
               if (rid := run_id_for(fact.tenant_id, fact.event_id, wid)) in started
               and rid not in known]
        if new or len(runs) != len(remembered):
            customer_runs[key] = json.dumps(runs + new).encode()
        return out

    step_agent(app, settings, topics.DEALERSHIP_EVENTS, "workflow_triggers", on_fact, batch=64)

    # --- agent results of run steps ------------------------------------------------------
    async def on_result(ev: Any) -> list[Send]:
        done = serde.decode(ev.message.value, AgentTaskCompleted)
        parsed = parse_task_id(done.task_id)
        if parsed is None or done.agent_type != "workflow":  # only the runs' own tasks
            return []
        rid, sid, attempt = parsed
        return [send_input(WorkflowRunInput(
            event_id=derived_id(done.event_id, "run-result"), tenant_id=done.tenant_id,
            occurred_at=done.occurred_at, run_id=rid, kind="step_result", step_id=sid,
            attempt=attempt, task_id=done.task_id, status=done.status,
            output_json=done.output_json, error=(done.error or "")[:2000] or None))]

    step_agent(app, settings, topics.AGENT_TASKS_COMPLETED, "workflow_results", on_result,
               batch=64)

    # --- the runs ------------------------------------------------------------------------
    def consent_of(tenant: str, customer: str | None) -> Consent:
        def allowed(channel: str) -> bool:
            return customer is not None and consent(tenant, customer, channel)
        return allowed

    async def on_input(ev: Any) -> list[Send]:
        inp = serde.decode(ev.message.value, WorkflowRunInput)
        key = inp.run_id.encode()
        history = _history(histories[key])
        state = fold(history)
        if state is not None and state.tenant_id != inp.tenant_id:
            raise StepInputError("foreign_run_input",
                                 f"run {inp.run_id} is not a run of tenant {inp.tenant_id}")
        now = clock.now(settings)
        if state is not None and inp.event_id in state.applied:
            again = [e for e in history if e.input_id == inp.event_id]  # a redelivery
            return _sends(again, tasks_of(again), inp.tenant_id, now)
        state, decision = await asyncio.get_running_loop().run_in_executor(
            deciding, decide, state, inp, now, consent_of(
                inp.tenant_id, inp.customer_ref if state is None else state.customer_ref))
        if decision.events:
            histories[key] = _row(history + decision.events)
            timers[key] = _timers_row(state)
        return _sends(decision.events, decision.tasks, inp.tenant_id, now)

    def _sends(events: list[WorkflowRunEvent], requested: list[TaskRequest], tenant: str,
               now: datetime) -> list[Send]:
        out: list[Send] = [(history_topic, e.run_id.encode(), serde.encode(e)) for e in events]
        out += [(tasks, t.task_id.encode(), serde.encode(task_request(t, tenant, now)))
                for t in requested]
        return out

    step_agent(app, settings, topics.WORKFLOW_RUN_INPUTS, "workflow_runs", on_input, batch=32)

    # --- timers --------------------------------------------------------------------------
    sent: dict[tuple[str, str, str], float] = {}

    @app.timer(interval=TIMER_TICK_S)
    async def _fire_due_timers() -> None:
        now = clock.now(settings)
        mono = time.monotonic()
        for key, row in list(timers.items()):
            if not row:
                continue
            rid = key.decode()
            pending = json.loads(row)
            tenant = pending["tenant"]
            for sid, due_iso, attempt in pending["timers"]:
                due = datetime.fromisoformat(due_iso)
                mark = (rid, sid, due_iso)
                if due > now or mono - sent.get(mark, -TIMER_RESEND_S) < TIMER_RESEND_S:
                    continue
                sent[mark] = mono
                inp = WorkflowRunInput(
                    event_id=derived_id(f"{rid}/{sid}/{attempt}/{due_iso}", "timer"),
                    tenant_id=tenant, occurred_at=now, run_id=rid, kind="timer", step_id=sid,
                    attempt=attempt, due_at=due)
                await inputs.send(key=key, value=serde.encode(inp))
        if len(sent) > 10_000:
            sent.clear()
