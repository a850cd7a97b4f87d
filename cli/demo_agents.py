"""The demo's AI agents part: one task of each dealership agent through the stream, with
real local receivers (an SMTP server, an SMS gateway, an enrichment provider) the worker
delivers to, and their results printed.

The receivers run in the demo's process: `demo_receivers` starts them and points the
worker at them (environment defaults, set before the worker starts) unless the
environment already names an SMTP server / SMS gateway / enrichment sources. They stop
with the demo; a delivery requested later (the worker keeps running) fails as unreachable
and is dead-lettered for replay.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg

from connectors.kafka_io import read_topic
from connectors.samples.delivery_servers import LocalSmsGateway, LocalSmtpServer
from connectors.samples.enrichment_server import LocalEnrichmentServer
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import (
    AgentTaskCompleted,
    AgentTaskRequested,
    CustomerContact,
    DeliveryCompleted,
    utcnow,
)

PORTS = {"smtp": int(os.environ.get("AUTERITY_DEMO_SMTP_PORT", "18125")),
         "sms": int(os.environ.get("AUTERITY_DEMO_SMS_PORT", "18126")),
         "enrichment": int(os.environ.get("AUTERITY_DEMO_ENRICHMENT_PORT", "18127"))}
CUSTOMERS = (
    {"customer_id": "demo-cust-1", "first_name": "Maria", "last_name": "Lopez",
     "email": "maria.lopez@example.com", "phone": "+15550101"},
    {"customer_id": "demo-cust-2", "first_name": "James", "last_name": "Carter",
     "email": "james.carter@example.com", "phone": "+15550102"},
    {"customer_id": "demo-cust-3", "first_name": "Aisha", "last_name": "Khan",
     "email": "aisha.khan@example.com", "phone": "+15550103"},
    {"customer_id": "demo-cust-4", "first_name": "Tom", "last_name": "Becker",
     "email": "tom.becker@example.com", "phone": "+15550104"},
)


class Receivers:
    def __init__(self, smtp: LocalSmtpServer | None, sms: LocalSmsGateway | None,
                 enrichment: LocalEnrichmentServer | None) -> None:
        self.smtp, self.sms, self.enrichment = smtp, sms, enrichment


@contextmanager
def demo_receivers() -> Iterator[Receivers]:
    """The local receivers the worker is pointed at (module doc)."""
    with ExitStack() as stack:
        smtp = sms = enrichment = None
        if not os.environ.get("AUTERITY_SMTP_HOST"):
            smtp = stack.enter_context(LocalSmtpServer(PORTS["smtp"]))
            os.environ["AUTERITY_SMTP_HOST"] = "127.0.0.1"
            os.environ["AUTERITY_SMTP_PORT"] = str(PORTS["smtp"])
        if not os.environ.get("AUTERITY_SMS_GATEWAY_URL"):
            sms = stack.enter_context(LocalSmsGateway(PORTS["sms"]))
            os.environ["AUTERITY_SMS_GATEWAY_URL"] = sms.url
        if not os.environ.get("AUTERITY_ENRICHMENT_SOURCES"):
            enrichment = stack.enter_context(LocalEnrichmentServer(PORTS["enrichment"]))
            os.environ["AUTERITY_ENRICHMENT_SOURCES"] = "demo_decoder"
            os.environ["AUTERITY_ENRICHMENT_DEMO_DECODER_URL"] = enrichment.url
        yield Receivers(smtp, sms, enrichment)


def _tasks(tenant: str, run: str) -> list[AgentTaskRequested]:
    def task(task_type: str, data: dict[str, Any]) -> AgentTaskRequested:
        return AgentTaskRequested(event_id=str(uuid.uuid4()), tenant_id=tenant,
                                  occurred_at=utcnow(), task_id=f"demo-{run}-{task_type}",
                                  agent_type="any", task_type=task_type,
                                  input_json=json.dumps(data))

    return [
        task("llm_generate", {"prompt": "Suggest one sentence to thank a customer for their "
                                        "service visit."}),
        task("send_email", {"customer_ref": "demo-cust-1",
                            "subject": "Your car is ready, {{customer.first_name}}",
                            "body": "Hi {{customer.first_name}}, your car is ready for pickup."}),
        task("send_sms", {"customer_ref": "demo-cust-2",
                          "body": "Hi {{customer.first_name}}, reply YES to confirm Tuesday."}),
        task("create_task", {"title": "Call back about the trade-in offer",
                             "customer_ref": "demo-cust-3", "due_in_days": 2,
                             "priority": "high", "assignee": "sales"}),
        task("update_crm", {"customer_ref": "demo-cust-3",
                            "fields": {"lead_status": "qualified",
                                       "vehicle_interest": "a used pickup"}}),
        task("email_campaign", {
            "campaign_id": f"winter-service-{run}", "objective": "book the winter service",
            "segments": [{"name": "service-due", "description": "owners due for a service",
                          "customer_refs": [c["customer_id"] for c in CUSTOMERS]}],
            "length": 2}),
        task("customer_profile", {"customer_ref": "demo-cust-3",
                                  "account_domain": "fleet.example.com"}),
    ]


def _brief(done: AgentTaskCompleted) -> str:
    if done.status != "completed":
        return f"FAILED: {done.error}"
    out = json.loads(done.output_json)
    if done.task_type == "llm_generate":
        return repr(str(out.get("text", ""))[:90])
    if done.task_type in ("send_email", "send_sms"):
        return f"queued {len(out.get('delivery_ids', []))} delivery"
    if done.task_type == "create_task":
        return f"CRM task {out['crm_task_id'][:8]}: {out['title']!r}, due in {out['due_in_days']} d"
    if done.task_type == "update_crm":
        return f"set {', '.join(sorted(out['fields']))}"
    if done.task_type == "email_campaign":
        return (f"{out['queued']} first emails queued, split {out['assigned']} "
                f"({out['split_reason'][:40]}), {sum(len(s['emails']) for s in out['sequences'])}"
                " emails written")
    if done.task_type == "customer_profile":
        return (f"confidence {out['confidence']:.2f}; organization "
                f"{sorted(out['organization'])}; {out['summary'][:70]}")
    return done.output_json[:90]


def _read(settings: Settings, spec: topics.TopicSpec, model: type, tenant: str) -> list[Any]:
    out = []
    for m in read_topic(settings, spec.name(settings.topic_prefix), principal=Principal.ADMIN):
        try:
            ev = serde.decode_any(m.value())
        except serde.DecodeError:
            continue  # other runs' bad demo records: not this part's
        if isinstance(ev, model) and ev.tenant_id == tenant:
            out.append(ev)
    return out


def run_agents_demo(settings: Settings, receivers: Receivers, say: Callable[[str], None],
                    timeout_s: float = 600.0) -> None:
    """One task per dealership agent; print each result and what the receivers got."""
    run = uuid.uuid4().hex[:8]
    tenant = "dealer-1"
    p = kafka_clients.producer(settings, principal=Principal.INGEST)
    for c in CUSTOMERS:
        ev = CustomerContact.model_validate({"event_id": str(uuid.uuid4()), "tenant_id": tenant,
                                             "occurred_at": utcnow(), **c})
        p.produce(topics.CUSTOMERS_RAW.name(settings.topic_prefix), key=ev.customer_id.encode(),
                  value=serde.encode(ev))
    assert p.flush(30) == 0
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(settings.resolved_database_url(), autocommit=True) as conn:
        while time.monotonic() < deadline and conn.execute(
                "SELECT count(*) FROM restricted_pii_fields WHERE tenant_id = %s AND "
                "subject_kind = 'customer' AND subject_id LIKE 'demo-cust-%%'",
                (tenant,)).fetchone() != (len(CUSTOMERS),):
            time.sleep(1.0)
    tasks = _tasks(tenant, run)
    for t in tasks:
        p.produce(topics.AGENT_TASKS_REQUESTED.name(settings.topic_prefix),
                  key=t.task_id.encode(), value=serde.encode(t))
    assert p.flush(30) == 0
    want = {t.task_id for t in tasks}
    done: dict[str, AgentTaskCompleted] = {}
    while time.monotonic() < deadline and set(done) != want:
        done = {d.task_id: d for d in _read(settings, topics.AGENT_TASKS_COMPLETED,
                                            AgentTaskCompleted, tenant) if d.task_id in want}
        time.sleep(2.0)
    for t in tasks:
        d = done.get(t.task_id)
        line = "no result yet" if d is None else f"{d.agent_id or '-':<24} {_brief(d)}"
        say(f"      {t.task_type:<17} {line}")
    expected = 2 + sum(json.loads(d.output_json).get("queued", 0) for d in done.values()
                       if d.task_type == "email_campaign" and d.status == "completed")
    sent: list[DeliveryCompleted] = []
    while time.monotonic() < deadline and len(sent) < expected:
        sent = [d for d in _read(settings, topics.DELIVERIES_COMPLETED, DeliveryCompleted,
                                 tenant) if d.task_id in want]
        time.sleep(1.0)
    statuses = {s: sum(1 for d in sent if d.status == s) for s in {d.status for d in sent}}
    say(f"      deliveries: {len(sent)} of {expected} done {statuses}; receivers: "
        f"{len(receivers.smtp.messages) if receivers.smtp else '?'} emails at the SMTP "
        f"server, {len(receivers.sms.delivered) if receivers.sms else '?'} SMS at the gateway,"
        f" {len(receivers.enrichment.requests) if receivers.enrichment else '?'} enrichment "
        "lookups (placeholders filled only there)")
