"""Workflow runs, event-sourced: a run's state is the fold of its history, and each input
(a start, a fact, a step's result, a timer, a cancellation) is answered by new history
events and the agent tasks they ask for. Pure: the clock, the customer's consent and the ids
come in; nothing here knows Kafka, a store or the wall clock.

    input --decide(state, input, now)--> history events (+ agent task requests)
    state = fold(history)                           (`apply`, the only way state changes)

Execution (the spec's orchestrator): the workflow's DAG in dependency order. A step becomes
ready when each of its parents is done (completed, skipped or cancelled) and at least one
parent completed, or it is the entry; when no parent completed it is skipped, and so are the
steps only it leads to. Parallel branches are steps that are ready together. `wait` steps
set a timer (`duration` from now, or `until` a trigger time plus `offset`; a time already
past fires at once); `condition` steps are evaluated at once (expressions.py) and their
other branch is skipped; every other step is one agent task (`task_for`): a send is a
send_sms/send_email task to the run's customer, a CRM change an update_crm task, a staff
notification a create_task, a lead's assignment an assign_lead task. A failed task is
retried after RETRY_BACKOFF_S doubling, up to MAX_ATTEMPTS; then the run fails with the
reason. A fact about the run's customer (and subject) sets fact variables; a wait whose only
successor is a condition the fact has decided is cancelled (or never starts), and the
condition taken at once (a confirmation cancels the pending coupon branch). A run ends
`completed` when every step is done, `failed`, or `cancelled`.

Invariants:
- `decide` is deterministic: the same state and input give the same events, with the same
  ids (derived from the run, the input and the event's place), so a redelivered input
  repeats the same events and asks for the same task ids (the agent step answers a task id
  once);
- an input already applied (`RunState.applied`) or one the state has moved past (a timer of
  a step no longer waiting, a result of an attempt not running) changes nothing;
- a run keeps the definition it started with (`run_started.definition_json`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from processors.workflows.expressions import decided_early, evaluate, parse
from processors.workflows.runnable import RUN_VARIABLES
from processors.workflows.validator import parse_duration
from schemas.dealership_facts import ADDRESS_FIELDS, CUSTOMER_FIELDS, FACT_VARIABLES, FACTS
from schemas.events import WorkflowRunEvent, WorkflowRunInput
from schemas.ids import derived_id
from schemas.workflow_dsl import Step, Workflow

MAX_ATTEMPTS = 3
RETRY_BACKOFF_S = 30.0
#: inputs remembered per run to drop a redelivered one (older ones are dropped by state)
APPLIED_KEPT = 64
StepStatus = Literal["pending", "running", "waiting", "completed", "failed", "skipped",
                     "cancelled"]
DONE = ("completed", "skipped", "cancelled")
_REF = re.compile(r"\{\{\s*(trigger|steps)\.([A-Za-z0-9_]+)(?:\.([A-Za-z0-9_]+))?\s*\}\}")


class RunError(ValueError):
    """A step the run-time cannot turn into a task (named in the run's failure)."""


@dataclass
class StepState:
    status: StepStatus = "pending"
    attempt: int = 0
    task_id: str | None = None
    due_at: datetime | None = None
    timer: str | None = None
    output: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    since: datetime | None = None  # when the step (its attempt) was scheduled or its timer set


@dataclass
class RunState:
    run_id: str
    tenant_id: str
    workflow: Workflow
    version: int
    customer_ref: str | None
    subject: str | None
    trigger: dict[str, Any]
    started_at: datetime
    status: Literal["running", "completed", "failed", "cancelled"] = "running"
    steps: dict[str, StepState] = field(default_factory=dict)
    variables: set[str] = field(default_factory=set)
    reply: str | None = None
    applied: list[str] = field(default_factory=list)
    reason: str | None = None

    def parents(self, sid: str) -> list[str]:
        return [c.source for c in self.workflow.connections if c.target == sid]

    def children(self, sid: str, when: str | None = None) -> list[str]:
        return [c.target for c in self.workflow.connections
                if c.source == sid and (when is None or c.when in (None, when))]

    def step(self, sid: str) -> Step:
        return next(s for s in self.workflow.steps if s.id == sid)

    def timers(self) -> list[tuple[str, datetime, int]]:
        """(step id, due, attempt) of every timer waiting to fire."""
        return [(sid, st.due_at, st.attempt) for sid, st in self.steps.items()
                if st.status == "waiting" and st.due_at is not None]


# --- the fold ------------------------------------------------------------------------------

def apply(state: RunState | None, ev: WorkflowRunEvent) -> RunState:
    """`state` after `ev` (the only way a run's state changes)."""
    if ev.kind == "run_started":
        wf = Workflow.model_validate_json(ev.definition_json)
        return RunState(run_id=ev.run_id, tenant_id=ev.tenant_id, workflow=wf,
                        version=ev.workflow_version, customer_ref=ev.customer_ref,
                        subject=ev.subject, trigger=json.loads(ev.trigger_json),
                        started_at=ev.occurred_at, steps={s.id: StepState() for s in wf.steps},
                        applied=[ev.input_id])
    if state is None:
        raise ValueError(f"run {ev.run_id}: {ev.kind} before run_started")
    if ev.input_id and ev.input_id not in state.applied:
        state.applied = [*state.applied, ev.input_id][-APPLIED_KEPT:]
    st = state.steps.get(ev.step_id or "")
    if ev.kind == "step_scheduled" and st is not None:
        st.status, st.attempt, st.task_id = "running", ev.attempt, ev.task_id
        st.due_at = st.timer = None
        st.output, st.since = {}, ev.occurred_at
    elif ev.kind == "timer_set" and st is not None:
        st.status, st.due_at, st.timer, st.attempt = "waiting", ev.due_at, ev.timer, ev.attempt
        if ev.timer == "wait":
            st.since = ev.occurred_at
    elif ev.kind == "step_completed" and st is not None:
        st.status, st.output, st.due_at = "completed", json.loads(ev.output_json), None
    elif ev.kind in ("step_failed", "step_skipped", "step_cancelled") and st is not None:
        st.status = {"step_failed": "failed", "step_skipped": "skipped",
                     "step_cancelled": "cancelled"}[ev.kind]  # type: ignore[assignment]
        st.error, st.due_at = ev.error or ev.reason, None
    elif ev.kind == "fact_observed":
        state.variables |= set(ev.variables)
        if ev.fact == "customer.replied":
            state.reply = json.loads(ev.output_json).get("reply_code") or state.reply
    elif ev.kind in ("run_completed", "run_failed", "run_cancelled"):
        state.status = ev.kind.removeprefix("run_")  # type: ignore[assignment]
        state.reason = ev.reason or ev.error
    return state


def fold(events: Iterable[WorkflowRunEvent]) -> RunState | None:
    state: RunState | None = None
    for ev in events:
        state = apply(state, ev)
    return state


# --- decisions -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskRequest:
    """An agent task a step asks for (streams/ turns it into AgentTaskRequested)."""

    task_id: str
    task_type: str
    input: dict[str, Any]
    run_id: str
    step_id: str
    workflow_id: str


@dataclass
class Decision:
    events: list[WorkflowRunEvent] = field(default_factory=list)
    tasks: list[TaskRequest] = field(default_factory=list)


Consent = Callable[[str], bool]  # channel -> may the run's customer be reached on it


def task_id(run_id: str, step_id: str, attempt: int) -> str:
    return f"{run_id}:{step_id}:{attempt}"


def parse_task_id(tid: str) -> tuple[str, str, int] | None:
    """(run id, step id, attempt) of a run's task id, None for any other task."""
    parts = tid.rsplit(":", 2)
    if len(parts) != 3 or not parts[2].isdigit():
        return None
    return parts[0], parts[1], int(parts[2])


class _Decider:
    def __init__(self, state: RunState, inp: WorkflowRunInput, now: datetime,
                 consent: Consent) -> None:
        self.state, self.inp, self.now, self.consent = state, inp, now, consent
        self.out = Decision()

    def emit(self, kind: str, step_id: str | None = None, **fields: Any) -> None:
        n = len(self.out.events)
        st = self.state.steps.get(step_id or "")
        if kind in ("step_completed", "step_failed") and st is not None and st.since:
            fields.setdefault("duration_ms", (self.now - st.since).total_seconds() * 1000)
        elif kind.startswith("run_"):
            fields.setdefault("duration_ms",
                              (self.now - self.state.started_at).total_seconds() * 1000)
        ev = WorkflowRunEvent(
            event_id=derived_id(f"{self.state.run_id}/{self.inp.event_id}/{n}", f"run:{kind}"),
            tenant_id=self.state.tenant_id, occurred_at=self.now, run_id=self.state.run_id,
            workflow_id=self.state.workflow.id, workflow_version=self.state.version,
            kind=kind, input_id=self.inp.event_id, step_id=step_id,  # type: ignore[arg-type]
            customer_ref=self.state.customer_ref, **fields)
        self.out.events.append(ev)
        apply(self.state, ev)

    # values a step's params and conditions read
    def lookup(self, name: str) -> Any:
        scope, _, rest = name.partition(".")
        if scope == "trigger":
            return self.state.trigger.get(rest)
        if scope == "steps":
            sid, _, out = rest.partition(".")
            st = self.state.steps.get(sid)
            if out == "reply":
                return self.state.reply
            return None if st is None else st.output.get(out)
        if name in RUN_VARIABLES:
            return self.consent("sms" if name == "customer.sms_consent" else "email")
        return name in self.state.variables

    def render(self, text: str) -> str:
        def one(m: re.Match[str]) -> str:
            scope, name, out = m[1], m[2], m[3]
            if scope == "trigger" and name in CUSTOMER_FIELDS:
                return CUSTOMER_FIELDS[name]  # filled at delivery from the restricted layer
            value = self.lookup(f"{scope}.{name}" + (f".{out}" if out else ""))
            return "" if value is None else str(value)
        return _REF.sub(one, text)

    def render_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.render(value)
        if isinstance(value, dict):
            return {k: self.render_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.render_value(v) for v in value]
        return value

    # advancing the DAG
    def advance(self) -> None:
        """Start every ready step, skip every unreachable one, finish the run if all done."""
        progressed = True
        while progressed and self.state.status == "running":
            progressed = False
            for step in self.state.workflow.steps:
                st = self.state.steps[step.id]
                if st.status != "pending":
                    continue
                parents = self.state.parents(step.id)
                done = [p for p in parents if self._branch_done(p, step.id)]
                if len(done) < len(parents):
                    continue
                if parents and not any(self._branch_taken(p, step.id) for p in parents):
                    self.emit("step_skipped", step.id, reason="no branch leads here")
                else:
                    self.start(step)
                progressed = True
        if self.state.status == "running" and all(
                st.status in DONE for st in self.state.steps.values()):
            self.emit("run_completed", reason="every step done")

    def _branch_done(self, parent: str, child: str) -> bool:
        return self.state.steps[parent].status in DONE

    def _branch_taken(self, parent: str, child: str) -> bool:
        p = self.state.steps[parent]
        if p.status != "completed":
            return False
        if self.state.step(parent).type != "condition":
            return True
        branch = "true" if p.output.get("result") else "false"
        return any(c.target == child and c.when in (None, branch)
                   for c in self.state.workflow.connections if c.source == parent)

    def start(self, step: Step, attempt: int = 1) -> None:
        try:
            self._start(step, attempt)
        except RunError as exc:
            self.emit("step_failed", step.id, attempt=attempt, error=str(exc))
            self.emit("run_failed", error=f"step {step.id}: {exc}")

    def _start(self, step: Step, attempt: int) -> None:
        if step.type == "wait":
            if self.cut_short(step.id, "observed before the wait"):
                return  # nothing left to wait for (a lead contacted before its window)
            due = self.wait_due(step)
            if due <= self.now:
                self.emit("step_completed", step.id, output_json=json.dumps(
                    {"fired_at": self.now.isoformat(), "late": True}))
            else:
                self.emit("timer_set", step.id, due_at=due, timer="wait", attempt=attempt)
            return
        if step.type == "condition":
            result = evaluate(parse(str(step.params["expression"])), self.lookup)
            self.emit("step_completed", step.id, output_json=json.dumps({"result": result}))
            return
        task_type, payload = task_for(step, self.state, self.render_value)
        tid = task_id(self.state.run_id, step.id, attempt)
        self.emit("step_scheduled", step.id, attempt=attempt, task_id=tid,
                  output_json=json.dumps({"task_type": task_type, "input": payload}))
        self.out.tasks.append(TaskRequest(tid, task_type, payload, self.state.run_id, step.id,
                                          self.state.workflow.id))

    def wait_due(self, step: Step) -> datetime:
        p = step.params
        if "duration" in p:
            return self.now + parse_duration(p["duration"])
        at = self.render(str(p["until"]))
        try:
            base = datetime.fromisoformat(at)
        except ValueError as exc:
            raise RunError(f"until {at!r} is not a time") from exc
        if base.tzinfo is None:
            raise RunError(f"until {at!r} has no time zone")
        return base + (parse_duration(p["offset"]) if "offset" in p else timedelta(0))

    # inputs
    def on_fact(self) -> None:
        fact = self.inp.fact or ""
        spec = FACTS.get(fact)
        trigger_spec = FACTS.get(str(self.state.trigger.get("event", "")))
        if spec is None:
            return
        if (spec.subject_key and trigger_spec is not None
                and spec.subject_key == trigger_spec.subject_key
                and self.inp.subject != self.state.subject):
            return  # about another appointment (lead, call...) of the same customer
        variables = sorted(v for v, facts in FACT_VARIABLES.items() if fact in facts)
        self.emit("fact_observed", fact=fact, variables=variables,
                  output_json=self.inp.trigger_json, subject=self.inp.subject)
        for sid, st in list(self.state.steps.items()):
            if st.status == "waiting" and st.timer == "wait":
                self.cut_short(sid, f"{fact} observed")
        self.advance()

    def decided_successor(self, wait_id: str) -> tuple[str, bool] | None:
        """(condition id, its value) if the wait's only successor is a pending condition the
        facts observed so far have decided (expressions.decided_early)."""
        nxt = self.state.children(wait_id)
        if len(nxt) != 1 or self.state.step(nxt[0]).type != "condition":
            return None
        if self.state.steps[nxt[0]].status != "pending":
            return None
        cond = self.state.step(nxt[0])
        decided = decided_early(parse(str(cond.params["expression"])),
                                {v: True for v in self.state.variables},
                                lambda n: n in FACT_VARIABLES)
        return None if decided is None else (cond.id, decided)

    def cut_short(self, wait_id: str, why: str) -> bool:
        """Cancel a wait whose successor condition is decided, and take the condition."""
        found = self.decided_successor(wait_id)
        if found is None:
            return False
        cond_id, decided = found
        self.emit("step_cancelled", wait_id, reason=f"{why}: {cond_id} is decided")
        self.emit("step_completed", cond_id,
                  output_json=json.dumps({"result": decided, "early": True}))
        return True

    def on_timer(self) -> None:
        sid = self.inp.step_id or ""
        st = self.state.steps.get(sid)
        if st is None or st.status != "waiting" or st.due_at != self.inp.due_at:
            return  # fired already, cancelled, or an old timer
        if st.timer == "retry":
            self.start(self.state.step(sid), st.attempt)
        else:
            late_s = (self.now - st.due_at).total_seconds() if st.due_at else 0.0
            self.emit("step_completed", sid, output_json=json.dumps(
                {"fired_at": self.now.isoformat(), "late_s": round(late_s, 3)}))
        self.advance()

    def on_result(self) -> None:
        sid = self.inp.step_id or ""
        st = self.state.steps.get(sid)
        if st is None or st.status != "running" or st.task_id != self.inp.task_id:
            return  # a result of an attempt that is not running (a redelivery)
        if self.inp.status == "completed":
            self.emit("step_completed", sid, attempt=st.attempt,
                      output_json=json.dumps(step_output(self.state.step(sid),
                                                         json.loads(self.inp.output_json))))
        elif st.attempt < MAX_ATTEMPTS:
            due = self.now + timedelta(seconds=RETRY_BACKOFF_S * 2 ** (st.attempt - 1))
            self.emit("timer_set", sid, due_at=due, timer="retry", attempt=st.attempt + 1,
                      error=self.inp.error)
        else:
            error = f"step {sid} failed after {st.attempt} attempts: {self.inp.error}"
            self.emit("step_failed", sid, attempt=st.attempt, error=self.inp.error)
            self.emit("run_failed", error=error)
            return
        self.advance()


def tasks_of(events: Iterable[WorkflowRunEvent]) -> list[TaskRequest]:
    """The agent tasks `events` asked for (their step_scheduled events carry them), so a
    redelivered input can send them again."""
    out = []
    for ev in events:
        if ev.kind == "step_scheduled" and ev.task_id and ev.step_id:
            task = json.loads(ev.output_json)
            out.append(TaskRequest(ev.task_id, task["task_type"], task["input"], ev.run_id,
                                   ev.step_id, ev.workflow_id))
    return out


def start_event(inp: WorkflowRunInput, now: datetime) -> WorkflowRunEvent:
    return WorkflowRunEvent(
        event_id=derived_id(f"{inp.run_id}/{inp.event_id}/0", "run:run_started"),
        tenant_id=inp.tenant_id, occurred_at=now, run_id=inp.run_id,
        workflow_id=inp.workflow_id, workflow_version=inp.workflow_version,
        kind="run_started", input_id=inp.event_id, customer_ref=inp.customer_ref,
        subject=inp.subject, definition_json=inp.definition_json,
        trigger_json=inp.trigger_json)


def decide(state: RunState | None, inp: WorkflowRunInput, now: datetime,
           consent: Consent) -> tuple[RunState | None, Decision]:
    """The run's state after `inp`, and what it decided (module doc). `state` is changed in
    place (pass a copy to keep the old one)."""
    if inp.kind == "start":
        if state is not None:
            return state, Decision()  # started already (a redelivered trigger)
        first = start_event(inp, now)
        state = apply(None, first)
        d = _Decider(state, inp, now, consent)
        d.out.events.append(first)
        d.advance()
        return state, d.out
    if state is None or inp.event_id in state.applied or state.status != "running":
        return state, Decision()
    d = _Decider(state, inp, now, consent)
    if inp.kind == "fact":
        d.on_fact()
    elif inp.kind == "timer":
        d.on_timer()
    elif inp.kind == "step_result":
        d.on_result()
    elif inp.kind == "cancel":
        for sid, st in state.steps.items():
            if st.status in ("waiting", "running", "pending"):
                d.emit("step_cancelled", sid, reason=inp.reason or "run cancelled")
        d.emit("run_cancelled", reason=inp.reason or "cancelled")
    return state, d.out


# --- steps as agent tasks ------------------------------------------------------------------

def _address(step: Step, channel: str) -> None:
    to = str(step.params.get("to", ""))
    m = re.fullmatch(r"\{\{\s*trigger\.([A-Za-z0-9_]+)\s*\}\}", to.strip())
    if m is None or ADDRESS_FIELDS.get(m[1]) != channel:
        raise RunError(f"{step.type} to {to!r}: a run sends to its customer "
                       f"({', '.join(k for k, v in ADDRESS_FIELDS.items() if v == channel)})")


def task_for(step: Step, state: RunState, render: Callable[[Any], Any]
             ) -> tuple[str, dict[str, Any]]:
    """The agent task (type, input) that runs `step` for the run's customer."""
    p = step.params
    ref = state.customer_ref
    if step.type in ("send_sms", "send_email"):
        channel = "sms" if step.type == "send_sms" else "email"
        _address(step, channel)
        if ref is None:
            raise RunError(f"{step.type}: the run has no customer to send to")
        if channel == "sms":
            return "send_sms", {"customer_ref": ref, "body": render(str(p["message"]))[:480]}
        return "send_email", {"customer_ref": ref, "subject": render(str(p["subject"]))[:300],
                              "body": render(str(p["body"]))}
    if step.type in ("create_task", "notify_staff"):
        title = render(str(p.get("title") or p.get("message", "")))
        return "create_task", {
            "title": title[:200] or step.id, "customer_ref": ref,
            "description": render(str(p.get("description") or p.get("message", "")))[:2000],
            "assignee": str(p.get("assignee") or p.get("role") or "")[:64] or None,
            "priority": "high" if step.type == "notify_staff" else "normal"}
    if step.type == "update_crm":
        if ref is None:
            raise RunError("update_crm: the run has no customer")
        fields = render(p.get("fields") or {})
        return "update_crm", {"customer_ref": ref, "fields": fields}
    if step.type == "assign_lead":
        return "assign_lead", {
            "lead": render(str(p["lead"])) or state.run_id,
            "strategy": str(p.get("strategy", "round_robin"))[:32],
            "salesperson_id": state.trigger.get("salesperson_id"),
            "salesperson_name": state.trigger.get("salesperson_name")}
    if step.type == "llm_generate":
        return "llm_generate", {"prompt": render(str(p["prompt"]))}
    if step.type == "call_agent":
        return str(p["agent_type"]), {"task": render(p["task"])}
    raise RunError(f"a {step.type} step has no agent to run it yet")


def step_output(step: Step, output: dict[str, Any]) -> dict[str, Any]:
    """The outputs a completed step gives its downstream steps (runnable.STEP_OUTPUTS)."""
    if step.type in ("send_sms", "send_email"):
        ids = output.get("delivery_ids") or []
        return {"delivery_id": ids[0] if ids else None, "recipient_count": len(ids)}
    if step.type in ("create_task", "notify_staff"):
        return {"crm_task_id": output.get("crm_task_id"), "task_id": output.get("crm_task_id")}
    if step.type == "llm_generate":
        return {"text": output.get("text")}
    if step.type == "assign_lead":
        return {"salesperson_id": output.get("salesperson_id"),
                "salesperson_name": output.get("salesperson_name")}
    return {"output": output} if step.type == "call_agent" else {}
