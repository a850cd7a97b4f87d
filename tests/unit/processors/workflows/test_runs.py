"""Workflow runs as a fold of their events (pure): the headline reminder with a clock the test
moves — the text three days before, the coupon only without a confirmation, a confirmation
cancelling the pending coupon branch — plus retries, redelivery and cancellation."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from processors.workflows.runs import (
    MAX_ATTEMPTS,
    RETRY_BACKOFF_S,
    RunState,
    decide,
    fold,
    parse_task_id,
)
from processors.workflows.templates import get_template
from processors.workflows.validator import validate_workflow
from schemas.events import WorkflowRunEvent, WorkflowRunInput
from schemas.ids import derived_id

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
APPOINTMENT = T0 + timedelta(days=7)


def _workflow() -> dict[str, Any]:
    wf = get_template("service_appointment_reminder").instantiate(workflow_id="wf-remind")
    assert validate_workflow(wf).valid
    return wf


class Run:
    """A run driven input by input, its whole history kept (what the topic would hold)."""

    def __init__(self, wf: dict[str, Any] | None = None) -> None:
        self.wf = wf or _workflow()
        self.state: RunState | None = None
        self.history: list[WorkflowRunEvent] = []
        self.tasks: list[Any] = []
        self.n = 0
        self.consent = {"sms": True, "email": True}

    def send(self, kind: str, now: datetime, **fields: Any) -> list[WorkflowRunEvent]:
        self.n += 1
        inp = WorkflowRunInput(event_id=fields.pop("event_id", f"in-{self.n}"),
                               tenant_id="dealer-1", occurred_at=now, run_id="run-1",
                               kind=kind, **fields)  # type: ignore[arg-type]
        return self.feed(inp, now)

    def feed(self, inp: WorkflowRunInput, now: datetime) -> list[WorkflowRunEvent]:
        self.state, decision = decide(self.state, inp, now, lambda ch: self.consent[ch])
        self.history += decision.events
        self.tasks += decision.tasks
        return decision.events

    def start(self) -> list[WorkflowRunEvent]:
        trigger = {"event": "service.appointment_scheduled", "appointment_id": "apt-1",
                   "appointment_at": APPOINTMENT.isoformat(), "vehicle": "2021 F-150",
                   "dealership_name": "Hill Country Ford"}
        return self.send("start", T0, workflow_id="wf-remind", workflow_version=1,
                         definition_json=json.dumps(self.wf), trigger_json=json.dumps(trigger),
                         customer_ref="CRM-1", subject="apt-1")

    def fire(self, now: datetime) -> list[WorkflowRunEvent]:
        assert self.state is not None
        [(sid, due, _)] = self.state.timers()
        assert due <= now
        return self.send("timer", now, step_id=sid, due_at=due)

    def complete(self, step: str, now: datetime, status: str = "completed",
                 output: dict[str, Any] | None = None) -> list[WorkflowRunEvent]:
        task = next(t for t in reversed(self.tasks) if t.step_id == step)
        return self.send("step_result", now, step_id=step, task_id=task.task_id,
                         attempt=parse_task_id(task.task_id)[2], status=status,  # type: ignore[index]
                         output_json=json.dumps(output or {"delivery_ids": [f"d-{step}"]}),
                         error="gateway down" if status == "failed" else None)

    def kinds(self, events: list[WorkflowRunEvent]) -> list[tuple[str, str | None]]:
        return [(e.kind, e.step_id) for e in events]

    def status(self) -> dict[str, str]:
        assert self.state is not None
        return {sid: st.status for sid, st in self.state.steps.items()}


def _to_the_reply_window(run: Run) -> datetime:
    first = run.start()
    assert run.kinds(first) == [("run_started", None), ("timer_set", "wait_before_appointment")]
    assert first[1].due_at == APPOINTMENT - timedelta(days=3)  # three days before
    text_at = APPOINTMENT - timedelta(days=3)
    fired = run.fire(text_at)
    assert run.kinds(fired) == [("step_completed", "wait_before_appointment"),
                                ("step_scheduled", "send_reminder")]
    [sms] = run.tasks
    assert sms.task_type == "send_sms" and sms.input["customer_ref"] == "CRM-1"
    assert "{{customer.first_name}}" in sms.input["body"]  # filled at delivery, not here
    assert "2021 F-150" in sms.input["body"] and "Hill Country Ford" in sms.input["body"]
    sent = run.complete("send_reminder", text_at + timedelta(seconds=5))
    assert run.kinds(sent) == [("step_completed", "send_reminder"),
                               ("timer_set", "wait_for_reply")]
    return text_at + timedelta(seconds=5)


def test_without_a_confirmation_the_coupon_goes_out_and_the_run_completes() -> None:
    run = Run()
    at = _to_the_reply_window(run)
    fired = run.fire(at + timedelta(days=1))
    assert run.kinds(fired) == [("step_completed", "wait_for_reply"),
                                ("step_completed", "check_unconfirmed"),
                                ("step_scheduled", "email_coupon"),
                                ("step_skipped", "log_confirmed")]
    assert run.tasks[-1].task_type == "send_email"
    run.complete("email_coupon", at + timedelta(days=1, seconds=3))
    assert run.tasks[-1].task_type == "update_crm"
    assert run.tasks[-1].input["fields"]["reminder_outcome"] == "unconfirmed_coupon_sent"
    done = run.complete("log_coupon_sent", at + timedelta(days=1, seconds=6), output={})
    assert run.kinds(done)[-1] == ("run_completed", None)
    assert [t.task_type for t in run.tasks] == ["send_sms", "send_email", "update_crm"]
    assert fold(run.history).status == "completed"  # type: ignore[union-attr]


def test_a_confirmation_cancels_the_pending_coupon_branch() -> None:
    run = Run()
    at = _to_the_reply_window(run)
    # a confirmation of ANOTHER appointment of the customer changes nothing
    other = run.send("fact", at + timedelta(hours=1), fact="service.appointment_confirmed",
                     subject="apt-2", customer_ref="CRM-1")
    assert other == [] and run.status()["wait_for_reply"] == "waiting"
    reply = run.send("fact", at + timedelta(hours=2), fact="customer.replied",
                     trigger_json=json.dumps({"reply_code": "C"}), customer_ref="CRM-1")
    assert run.kinds(reply) == [("fact_observed", None)]  # a reply alone decides nothing
    confirmed = run.send("fact", at + timedelta(hours=3), fact="service.appointment_confirmed",
                         subject="apt-1", customer_ref="CRM-1")
    assert run.kinds(confirmed) == [("fact_observed", None),
                                    ("step_cancelled", "wait_for_reply"),
                                    ("step_completed", "check_unconfirmed"),
                                    ("step_skipped", "email_coupon"),
                                    ("step_skipped", "log_coupon_sent"),
                                    ("step_scheduled", "log_confirmed")]
    log = run.tasks[-1]
    assert log.input["fields"] == {"reminder_outcome": "confirmed", "reply": "C"}
    run.complete("log_confirmed", at + timedelta(hours=3, seconds=2), output={})
    assert run.state is not None and run.state.status == "completed"
    assert "send_email" not in [t.task_type for t in run.tasks]  # never a coupon
    # the wait's timer was cancelled: it firing late changes nothing
    late = run.send("timer", at + timedelta(days=1), step_id="wait_for_reply",
                    due_at=at + timedelta(days=1))
    assert late == []


def test_the_state_is_the_fold_of_the_history_and_redelivery_repeats_nothing() -> None:
    run = Run()
    at = _to_the_reply_window(run)
    before = len(run.history)
    rebuilt = fold(run.history)
    assert rebuilt is not None and run.state is not None
    assert {s: st.status for s, st in rebuilt.steps.items()} == run.status()
    assert rebuilt.timers() == run.state.timers()
    # the same result again (a redelivery): nothing new
    task = run.tasks[0]
    again = WorkflowRunInput(event_id="in-4", tenant_id="dealer-1", occurred_at=at,
                             run_id="run-1", kind="step_result", step_id="send_reminder",
                             task_id=task.task_id, status="completed")
    assert run.feed(again, at) == [] and len(run.history) == before
    # a second start of the same run (a redelivered trigger) starts nothing
    assert run.start() == []
    # deciding from the rebuilt state gives the same events, ids included
    twin = Run()
    twin.state, twin.history = copy.deepcopy(rebuilt), []
    twin.n = run.n
    later = at + timedelta(days=1)
    assert [e.event_id for e in run.fire(later)] == [e.event_id for e in twin.fire(later)]


def test_a_failing_step_is_retried_with_backoff_then_fails_the_run() -> None:
    run = Run()
    run.start()
    text_at = APPOINTMENT - timedelta(days=3)
    run.fire(text_at)
    now = text_at
    for attempt in range(1, MAX_ATTEMPTS):
        retry = run.complete("send_reminder", now, status="failed")
        assert run.kinds(retry) == [("timer_set", "send_reminder")]
        assert retry[0].due_at == now + timedelta(seconds=RETRY_BACKOFF_S * 2 ** (attempt - 1))
        now = retry[0].due_at
        again = run.fire(now)
        assert run.kinds(again) == [("step_scheduled", "send_reminder")]
        assert again[0].attempt == attempt + 1
        assert again[0].task_id == f"run-1:send_reminder:{attempt + 1}"
    failed = run.complete("send_reminder", now, status="failed")
    assert run.kinds(failed) == [("step_failed", "send_reminder"), ("run_failed", None)]
    assert failed[-1].error == "step send_reminder failed after 3 attempts: gateway down"
    assert run.send("timer", now + timedelta(days=9), step_id="wait_for_reply",
                    due_at=now) == []  # a finished run takes nothing


def test_a_cancelled_run_stops_and_an_appointment_already_close_texts_at_once() -> None:
    run = Run()
    run.start()
    steps = list(run.status())  # one waiting, the rest pending
    cancelled = run.send("cancel", T0 + timedelta(hours=1), reason="customer moved away")
    assert run.kinds(cancelled) == [("step_cancelled", s) for s in steps] + [
        ("run_cancelled", None)]
    assert run.state is not None and run.state.status == "cancelled"
    assert run.state.reason == "customer moved away" and run.state.timers() == []
    soon = Run()
    wf = soon.wf
    soon_start = soon.send(
        "start", T0, workflow_id="wf-remind", definition_json=json.dumps(wf),
        trigger_json=json.dumps({"event": "service.appointment_scheduled",
                                 "appointment_id": "apt-9",
                                 "appointment_at": (T0 + timedelta(days=1)).isoformat()}),
        customer_ref="CRM-2", subject="apt-9")
    # the appointment is in a day: "three days before" is past, so the text goes now
    assert soon.kinds(soon_start)[1:] == [("step_completed", "wait_before_appointment"),
                                          ("step_scheduled", "send_reminder")]


def test_event_ids_are_derived_from_the_run_and_the_input() -> None:
    run = Run()
    first = run.start()
    assert first[0].event_id == derived_id("run-1/in-1/0", "run:run_started")
    assert len({e.event_id for e in run.history}) == len(run.history)


@pytest.mark.parametrize("tid, parsed", [
    ("run-1:send_reminder:2", ("run-1", "send_reminder", 2)),
    ("a:b:c:s:1", ("a:b:c", "s", 1)), ("task-9", None), ("x:y:z", None)])
def test_run_task_ids(tid: str, parsed: tuple[str, str, int] | None) -> None:
    assert parse_task_id(tid) == parsed


def test_a_step_the_runtime_cannot_run_fails_the_run_with_the_reason() -> None:
    run = Run()
    run.send("start", T0, workflow_id="wf-remind", definition_json=json.dumps(run.wf),
             trigger_json=json.dumps({"event": "service.appointment_scheduled",
                                      "appointment_id": "apt-3", "appointment_at": "soon"}),
             customer_ref="CRM-3", subject="apt-3")
    assert run.state is not None and run.state.status == "failed"
    assert run.state.reason == "step wait_before_appointment: until 'soon' is not a time"


def test_a_wait_already_decided_by_a_fact_never_starts() -> None:
    # a confirmation that arrives before the reply window: the window is not waited out
    run = Run()
    run.start()
    text_at = APPOINTMENT - timedelta(days=3)
    run.fire(text_at)
    run.send("fact", text_at, fact="service.appointment_confirmed", subject="apt-1",
             customer_ref="CRM-1")
    sent = run.complete("send_reminder", text_at + timedelta(seconds=5))
    assert run.kinds(sent) == [("step_completed", "send_reminder"),
                               ("step_cancelled", "wait_for_reply"),
                               ("step_completed", "check_unconfirmed"),
                               ("step_skipped", "email_coupon"),
                               ("step_skipped", "log_coupon_sent"),
                               ("step_scheduled", "log_confirmed")]
    assert sent[1].reason == ("observed before the wait: check_unconfirmed is decided")
