"""The headline example on the real stack, with the clock moved by the test: "Text customers 3
days before their service appointment and email a coupon if they don't confirm". The text
arrives three days before, the coupon only for the customer who did not confirm, and a
confirmation cancels the pending coupon branch; every step runs once."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import timedelta

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


def test_the_headline_reminder_texts_before_and_coupons_only_the_unconfirmed(
        pipeline, deliveries) -> None:
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

    wf = get_template("service_appointment_reminder").instantiate(
        workflow_id=f"wf-{tenant}")
    published = produce(settings, topics.WORKFLOWS_GENERATED, [GeneratedWorkflow(
        event_id=f"{tenant}-wf", tenant_id=tenant, occurred_at=utcnow(),
        workflow_id=wf["id"], name=wf["name"], definition_json=json.dumps(wf), valid=True,
        version=1)], principal=Principal.ADMIN)
    assert published.rejected == []
    wait_for(lambda: f"workflow {wf['id']} v1 of {tenant} runs on "
             "service.appointment_scheduled" in (settings.logs_dir / "worker.log").read_text(
                 errors="replace"), 120, "the worker to know the published workflow")

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
