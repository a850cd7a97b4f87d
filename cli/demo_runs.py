"""The demo's workflow-runs part: the three workflows the builder part generated run on sample
dealership facts, with the clock moved ahead (`AUTERITY_CLOCK=file`, runtime/clock.py) from
one pending timer to the next instead of waiting days.

Two customers per workflow, their contacts on customers.raw and one trigger fact each on
dealership.events; the first customer of a workflow that waits for a confirmation confirms
after its text, so its pending branch is cancelled. Texts and emails arrive at the demo's
local receivers; the summary prints the runs, their steps, the deliveries and the
cancellations.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg

from connectors.ingest import produce
from runtime import clock
from runtime.settings import Settings
from schemas import topics
from schemas.dealership_facts import ATTRIBUTES, FACTS
from schemas.events import CustomerContact, DealershipEvent, utcnow

#: the fact that answers each workflow's wait (the first customer sends it after a text)
ANSWERS = {"service.appointment_scheduled": "service.appointment_confirmed",
           "lead.created": "lead.contacted"}
SAMPLE_TEXT = {"vehicle": "2021 Ford F-150", "trade_vehicle": "2016 Honda Civic",
               "service": "oil change and tire rotation", "declined_items": "front brake pads",
               "part_description": "OEM floor mats", "missing_documents": "proof of income",
               "recall_summary": "airbag inflator replacement", "warranty_name": "powertrain",
               "vehicles_viewed": "F-150, Ranger", "salesperson_name": "Dana Ruiz",
               "advisor_name": "Sam Patel", "lead_source": "internet", "reply_code": "C",
               "channel": "sms", "visit_outcome": "unsold"}
FUTURE = {"appointment_at": 7, "lease_end_date": 95, "offer_expires_at": 10,
          "warranty_expires_at": 60, "service_due": 14, "birthday": 7}


def _attributes(fact: str, n: int, now: datetime, filters: dict[str, str]) -> dict[str, Any]:
    spec = FACTS[fact]
    out: dict[str, Any] = {}
    for name in sorted(spec.allowed()):
        kind = ATTRIBUTES[name]
        if kind == "id":
            out[name] = f"{name.removesuffix('_id')}-{n}-{uuid.uuid4().hex[:6]}"
        elif kind == "datetime":
            out[name] = now + timedelta(days=FUTURE.get(name, 0))
        elif kind == "money":
            out[name] = 412.5
        elif kind == "url":
            out[name] = "https://www.example-dealer.com/go"
        else:
            out[name] = SAMPLE_TEXT.get(name, "sample")
    for key, want in filters.items():
        if want != "*":
            out[key] = want
    return out


def _next_due(conn: psycopg.Connection[Any], tenants: list[str]) -> datetime | None:
    row = conn.execute(
        "SELECT min(e.due_at) FROM workflow_run_events e JOIN workflow_step_runs s "
        "USING (tenant_id, run_id, step_id) WHERE e.tenant_id = ANY(%s) AND e.kind = "
        "'timer_set' AND s.status = 'waiting'", (tenants,)).fetchone()
    return None if row is None else row[0]


def run_runs_demo(settings: Settings, workflows: list[tuple[str, str, dict[str, Any]]],
                  receivers: Any, say: Callable[[str], None], timeout_s: float = 300.0) -> None:
    """Run `workflows` ((tenant, workflow id, definition) the builder published) (module doc)."""
    if settings.clock != "file":
        say("    skipped: the runs live in the wall clock (AUTERITY_CLOCK=wall)")
        return
    run = uuid.uuid4().hex[:6]
    now = clock.now(settings)
    contacts, facts, answers = [], [], []
    customers: dict[str, tuple[str, str]] = {}  # customer -> (tenant, workflow)
    for w, (tenant, wid, definition) in enumerate(workflows):
        trigger = definition.get("trigger") or {}
        fact = trigger.get("event")
        if fact not in FACTS:
            say(f"    {wid}: trigger {trigger.get('type')} not run by the demo")
            continue
        for k in range(2):
            ref = f"demo-run-{run}-{w}-{k}"
            customers[ref] = (tenant, wid)
            contacts.append(CustomerContact(
                event_id=f"{ref}-contact", tenant_id=tenant, occurred_at=utcnow(),
                customer_id=ref, first_name=("Maria", "James")[k], last_name="Demo",
                email=f"{ref}@example.com", phone=f"+1555{w}{k}{uuid.uuid4().int % 1000:03d}"))
            attrs = _attributes(fact, k, now, trigger.get("filters") or {})
            facts.append(DealershipEvent(event_id=f"{ref}-fact", tenant_id=tenant,
                                         occurred_at=utcnow(), fact=fact, customer_ref=ref,
                                         **attrs))
            if k == 0 and fact in ANSWERS:
                key = FACTS[ANSWERS[fact]].subject_key
                answers.append((ref, DealershipEvent(
                    event_id=f"{ref}-answer", tenant_id=tenant, occurred_at=utcnow(),
                    fact=ANSWERS[fact], customer_ref=ref,
                    **({key: attrs[key]} if key and key in attrs else {}))))
    for report in (produce(settings, topics.CUSTOMERS_RAW, contacts),
                   produce(settings, topics.DEALERSHIP_EVENTS, facts)):
        if report.rejected:
            raise RuntimeError(f"demo facts not sent: {report.rejected[0]}")
    say(f"    {len(facts)} dealership facts for {len(customers)} customers; the clock jumps "
        "from one pending timer to the next")
    tenants = sorted({t for t, _ in customers.values()})
    deadline = time.monotonic() + timeout_s
    jumped = timedelta(0)
    observing: list[str] = []
    with psycopg.connect(settings.resolved_database_url(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            states: dict[str, str] = dict(conn.execute(
                "SELECT customer, status FROM workflow_runs WHERE tenant_id = ANY(%s) AND "
                "customer = ANY(%s)", (tenants, list(customers))).fetchall())
            for ref, answer in list(answers):
                texted = conn.execute(
                    "SELECT count(*) FROM workflow_run_events e JOIN workflow_runs r USING "
                    "(tenant_id, run_id) WHERE r.customer = %s AND e.kind = 'step_completed' "
                    "AND e.step_id IN (SELECT step_id FROM workflow_run_events x WHERE "
                    "x.run_id = e.run_id AND x.kind = 'step_scheduled')", (ref,)).fetchone()
                if texted and texted[0] > 0:
                    produce(settings, topics.DEALERSHIP_EVENTS, [answer])
                    answers.remove((ref, answer))
                    observing.append(ref)
            for ref in list(observing):  # the clock waits until the run has seen the answer
                seen = conn.execute(
                    "SELECT count(*) FROM workflow_run_events e JOIN workflow_runs r USING "
                    "(tenant_id, run_id) WHERE r.customer = %s AND e.kind = 'fact_observed'",
                    (ref,)).fetchone()
                if seen and seen[0] > 0:
                    observing.remove(ref)
            if len(states) == len(customers) and "running" not in states.values():
                break
            due = _next_due(conn, tenants)
            current = clock.now(settings)
            if due is not None and due > current and not observing:
                step = due - current + timedelta(seconds=1)
                clock.advance(settings, step)
                jumped += step
            time.sleep(1.0)
        runs = conn.execute(
            "SELECT workflow_id, status, count(*) FROM workflow_runs WHERE tenant_id = ANY(%s) "
            "AND customer = ANY(%s) GROUP BY workflow_id, status ORDER BY workflow_id, status",
            (tenants, list(customers))).fetchall()
        steps: dict[str, int] = dict(conn.execute(
            "SELECT s.status, count(*) FROM workflow_step_runs s JOIN workflow_runs r USING "
            "(tenant_id, run_id) WHERE r.customer = ANY(%s) GROUP BY s.status ORDER BY "
            "s.status", (list(customers),)).fetchall())
        deliveries = conn.execute(
            "SELECT channel, status, count(*) FROM delivery_results WHERE customer_ref = "
            "ANY(%s) GROUP BY channel, status ORDER BY channel, status",
            (list(customers),)).fetchall()
    say(f"    clock moved {jumped.days} days {jumped.seconds // 3600} hours ahead")
    for wid, status, n in runs:
        say(f"      {wid[:48]:<48} {status:<10} {n} run(s)")
    say("      steps: " + ", ".join(f"{s} {n}" for s, n in steps.items()))
    say("      deliveries: " + (", ".join(f"{c} {s} {n}" for c, s, n in deliveries) or "none"))
    cancelled = steps.get("cancelled", 0)
    say(f"      cancellations (a confirmation or a contact cut a wait short): {cancelled}")
    if receivers.sms is not None and receivers.smtp is not None:
        texts = [m for m in receivers.sms.delivered.values() if m.to.startswith("+1555")]
        mails = [m for m in receivers.smtp.messages if "demo-run-" in str(m["To"])]
        say(f"      at the receivers: {len(texts)} texts, {len(mails)} emails")
