"""The headline example on the real stack, with the clock moved by the test: "Text customers 3
days before their service appointment and email a coupon if they don't confirm". The text
arrives three days before, the coupon only for the customer who did not confirm, and a
confirmation cancels the pending coupon branch; every step runs once."""

from __future__ import annotations

import argparse
import json
import uuid
from collections import Counter
from datetime import timedelta

from cli.runs import cmd_runs_cancel, list_runs, run_stats
from connectors.ingest import produce
from connectors.kafka_io import read_topic
from processors.workflows.templates import get_template
from runtime import clock
from runtime.kafka_auth import Principal
from schemas import serde, topics
from schemas.events import (
    CustomerContact,
    DealershipEvent,
    GeneratedWorkflow,
    WorkflowRunEvent,
    utcnow,
)

from .conftest import wait_for


def _history(settings, tenant: str) -> list[WorkflowRunEvent]:
    events = {}
    for m in read_topic(settings, topics.WORKFLOW_RUNS.name(settings.topic_prefix),
                        principal=Principal.ADMIN):
        ev = serde.decode(m.value(), WorkflowRunEvent)
        if ev.tenant_id == tenant:
            events.setdefault(ev.event_id, ev)  # a redelivery repeats the same event id
    return sorted(events.values(), key=lambda e: (e.run_id, e.occurred_at))


def _runs(settings, tenant: str) -> dict[str, list[tuple[str, str | None]]]:
    out: dict[str, list[tuple[str, str | None]]] = {}
    for ev in _history(settings, tenant):
        out.setdefault(ev.customer_ref or "", []).append((ev.kind, ev.step_id))
    return out


def _publish(settings, tenant: str, version: int = 1, **slots: str) -> dict:
    wf = get_template("service_appointment_reminder").instantiate(
        slots, workflow_id=f"wf-{tenant}")
    published = produce(settings, topics.WORKFLOWS_GENERATED, [GeneratedWorkflow(
        event_id=f"{tenant}-wf-{version}", tenant_id=tenant, occurred_at=utcnow(),
        workflow_id=wf["id"], name=wf["name"], definition_json=json.dumps(wf), valid=True,
        version=version)], principal=Principal.ADMIN)
    assert published.rejected == []
    wait_for(lambda: f"workflow {wf['id']} v{version} of {tenant} runs on "
             "service.appointment_scheduled" in (settings.logs_dir / "worker.log").read_text(
                 errors="replace"), 120, "the worker to know the published workflow")
    return wf


def test_the_headline_reminder_texts_before_and_coupons_only_the_unconfirmed(
        pipeline, deliveries, pg) -> None:
    settings = pipeline
    smtp, gateway = deliveries
    tenant = f"dealer-r{uuid.uuid4().hex[:6]}"
    phones = {"CRM-A": f"+1512555{uuid.uuid4().int % 10000:04d}",
              "CRM-B": f"+1737555{uuid.uuid4().int % 10000:04d}"}
    emails = {c: f"{c.lower()}-{tenant}@example.com" for c in phones}
    report = produce(settings, topics.CUSTOMERS_RAW, [CustomerContact(
        event_id=f"{tenant}-{c}", tenant_id=tenant, occurred_at=utcnow(), customer_id=c,
        first_name={"CRM-A": "Ana", "CRM-B": "Ben"}[c], phone=phones[c], email=emails[c])
        for c in phones])
    assert report.rejected == []

    _publish(settings, tenant)

    start = clock.now(settings)
    appointment = start + timedelta(days=7)
    facts = [DealershipEvent(
        event_id=f"{tenant}-sched-{c}", tenant_id=tenant, occurred_at=utcnow(),
        fact="service.appointment_scheduled", customer_ref=c, appointment_id=f"apt-{c}",
        appointment_at=appointment, vehicle="2021 Ford F-150") for c in phones]
    assert produce(settings, topics.DEALERSHIP_EVENTS, facts).rejected == []

    def waiting(n: int, step: str):
        def check():
            runs = _runs(settings, tenant)
            ok = [c for c, kinds in runs.items() if ("timer_set", step) in kinds]
            return runs if len(ok) == n else None
        return check

    wait_for(waiting(2, "wait_before_appointment"), 120, "both runs waiting for the day")
    assert not any(m.to in phones.values() for m in gateway.requests)  # nothing sent yet

    # three days before the appointment: the texts go out
    clock.advance(settings, appointment - timedelta(days=3) - clock.now(settings)
                  + timedelta(minutes=1))
    texts = wait_for(lambda: [m for m in gateway.delivered.values()
                              if m.to in phones.values()] if len(
        [m for m in gateway.delivered.values() if m.to in phones.values()]) == 2 else None,
        180, "the two reminder texts")
    assert {m.to for m in texts} == set(phones.values())
    assert any("Ana" in m.body and "F-150" in m.body for m in texts)
    wait_for(waiting(2, "wait_for_reply"), 120, "both runs waiting for a reply")

    # Ben confirms: his coupon branch is cancelled at once
    confirm = DealershipEvent(event_id=f"{tenant}-conf-B", tenant_id=tenant,
                              occurred_at=utcnow(), fact="service.appointment_confirmed",
                              customer_ref="CRM-B", appointment_id="apt-CRM-B")
    assert produce(settings, topics.DEALERSHIP_EVENTS, [confirm]).rejected == []
    runs = wait_for(lambda: (r := _runs(settings, tenant)) and (
        "run_completed", None) in r.get("CRM-B", []) and r, 180, "Ben's run completed")
    assert ("step_cancelled", "wait_for_reply") in runs["CRM-B"]
    assert ("step_skipped", "email_coupon") in runs["CRM-B"]

    # a day later Ana has not confirmed: her coupon goes out, and only hers
    clock.advance(settings, timedelta(days=1, minutes=1))
    coupons = wait_for(lambda: [m for m in smtp.messages if m["To"] in emails.values()],
                       180, "the coupon email")
    wait_for(lambda: ("run_completed", None) in _runs(settings, tenant).get("CRM-A", []),
             180, "Ana's run completed")
    assert [m["To"] for m in smtp.messages if m["To"] in emails.values()] == [emails["CRM-A"]]
    assert "Confirm your service visit" in coupons[0]["Subject"]
    sms_to = Counter(m.to for m in gateway.delivered.values() if m.to in phones.values())
    assert sms_to == Counter(phones.values())  # one text each, never two
    scheduled = Counter((e.run_id, e.step_id) for e in _history(settings, tenant)
                        if e.kind == "step_scheduled")
    assert set(scheduled.values()) == {1}  # no step ran twice

    # the runs table the interface shows is the fold of the same history (projection)
    def runs_table():
        rows = pg.execute("SELECT customer, status, workflow_version, tasks, last_error "
                          "FROM workflow_runs WHERE tenant_id = %s ORDER BY customer",
                          (tenant,)).fetchall()
        return rows if [r[1] for r in rows] == ["completed", "completed"] else None

    assert wait_for(runs_table, 120, "the runs table") == [
        ("CRM-A", "completed", 1, 3, None), ("CRM-B", "completed", 1, 2, None)]
    steps = dict(pg.execute(
        "SELECT s.step_id, s.status FROM workflow_step_runs s JOIN workflow_runs r "
        "USING (tenant_id, run_id) WHERE s.tenant_id = %s AND r.customer = 'CRM-B'",
        (tenant,)).fetchall())
    assert steps == {"wait_before_appointment": "completed", "send_reminder": "completed",
                     "wait_for_reply": "cancelled", "check_unconfirmed": "completed",
                     "email_coupon": "skipped", "log_coupon_sent": "skipped",
                     "log_confirmed": "completed"}

    # ClickHouse run metrics, read as the tenant
    def stats():
        got = run_stats(settings, tenant)
        return got if got and got[0]["completed"] == 2 else None

    [row] = wait_for(stats, 120, "the run metrics")
    assert (row["started"], row["failed"], row["cancelled"], row["tasks"]) == (2, 0, 0, 5)
    assert row["late_p99_ms"] is not None and row["step_p50_ms"] is not None
    assert run_stats(settings, f"{tenant}-other") == []


def test_a_new_version_is_for_new_runs_and_an_operator_cancels_a_run(pipeline, pg) -> None:
    settings = pipeline
    tenant = f"dealer-v{uuid.uuid4().hex[:6]}"
    _publish(settings, tenant)

    def scheduled(customer: str, days: int) -> DealershipEvent:
        return DealershipEvent(
            event_id=f"{tenant}-sched-{customer}", tenant_id=tenant, occurred_at=utcnow(),
            fact="service.appointment_scheduled", customer_ref=customer,
            appointment_id=f"apt-{customer}",
            appointment_at=clock.now(settings) + timedelta(days=days))

    assert produce(settings, topics.DEALERSHIP_EVENTS, [scheduled("CRM-1", 30)]).rejected == []

    def run_of(customer: str):
        rows = pg.execute("SELECT run_id, workflow_version, status FROM workflow_runs WHERE "
                          "tenant_id = %s AND customer = %s", (tenant, customer)).fetchall()
        return rows[0] if rows else None

    first = wait_for(lambda: run_of("CRM-1"), 300, "the first run")
    _publish(settings, tenant, version=2, offset="-P2D")
    assert produce(settings, topics.DEALERSHIP_EVENTS, [scheduled("CRM-2", 30)]).rejected == []
    second = wait_for(lambda: run_of("CRM-2"), 300, "the second run")
    assert (first[1], second[1]) == (1, 2)  # v2 applies to the new run only
    due = dict(pg.execute(
        "SELECT r.customer, e.due_at FROM workflow_run_events e JOIN workflow_runs r "
        "USING (tenant_id, run_id) WHERE e.tenant_id = %s AND e.kind = 'timer_set'",
        (tenant,)).fetchall())
    # v2 texts two days before instead of three
    assert timedelta(hours=23) < due["CRM-2"] - due["CRM-1"] < timedelta(hours=25)

    assert cmd_runs_cancel(argparse.Namespace(run_id=first[0], reason="customer sold the car"),
                           settings) == 0
    cancelled = wait_for(lambda: (r := run_of("CRM-1")) and r[2] == "cancelled" and r, 120,
                         "the cancelled run")
    assert cancelled[0] == first[0]
    assert run_of("CRM-2")[2] == "running"
    runs = list_runs(settings, tenant=tenant)
    assert {(r["customer"], r["status"]) for r in runs} == {("CRM-1", "cancelled"),
                                                             ("CRM-2", "running")}
    # its timer never fires: move past it and nothing is scheduled for CRM-1
    clock.advance(settings, timedelta(days=29))
    wait_for(lambda: run_of("CRM-2")[2] == "running" and pg.execute(
        "SELECT count(*) FROM workflow_step_runs s JOIN workflow_runs r USING (tenant_id, "
        "run_id) WHERE s.tenant_id = %s AND r.customer = 'CRM-2' AND s.step_id = "
        "'send_reminder'", (tenant,)).fetchone()[0] == 1, 120, "the second run's text")
    assert pg.execute(
        "SELECT count(*) FROM workflow_run_events e JOIN workflow_runs r USING (tenant_id, "
        "run_id) WHERE e.tenant_id = %s AND r.customer = 'CRM-1' AND e.kind = "
        "'step_scheduled'", (tenant,)).fetchone() == (0,)
