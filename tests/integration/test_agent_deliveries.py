"""Action agents on the real stack: send_email through a real SMTP server (aiosmtpd) and
send_sms through an HTTP gateway, each delivery once per task id — a repeated request, a
redelivered outbox record and a kill -9 of the worker mid-batch included (the receivers'
counts prove it) — with the address and the filled text only ever at the receiver."""

from __future__ import annotations

import json
import os
import signal
import uuid

import psutil

from compose import processes as supervisor
from connectors.kafka_io import read_topic
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from schemas import serde, topics
from schemas.events import (
    CustomerContact,
    DeadLetter,
    DeliveryCompleted,
    utcnow,
)

from .conftest import restart, wait_for
from .test_agent_tasks import _decoded, _request, _send


def _contacts(settings, tenant: str, *contacts: dict) -> None:
    p = kafka_clients.producer(settings, principal=Principal.INGEST)
    for c in contacts:
        ev = CustomerContact(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                             **c)
        p.produce(topics.CUSTOMERS_RAW.name(settings.topic_prefix),
                  key=ev.customer_id.encode(), value=serde.encode(ev))
    assert p.flush(30) == 0


def _wait_contacts(pg, tenant: str, n: int) -> None:
    wait_for(lambda: pg.execute("SELECT count(*) FROM restricted_pii_fields WHERE tenant_id = %s "
                                "AND subject_kind = 'customer'", (tenant,)).fetchone()[0] == n,
             60, "the contacts in the restricted layer")


def _topic(settings, spec, model, tenant: str) -> list:
    out = []
    for m in read_topic(settings, spec.name(settings.topic_prefix), principal=Principal.ADMIN):
        ev = serde.decode_any(m.value())
        if isinstance(ev, model) and ev.tenant_id == tenant:
            out.append(ev)
    return out


def _email_task(tenant: str, customer: str, variant: str = "a"):
    return _request(tenant, "send_email", json.dumps({
        "customer_ref": customer, "subject": "Service for {{customer.first_name}}",
        "body": "Hi {{customer.first_name}} {{customer.last_name}}, your car is due.",
        "variant": variant}))


def _sms_task(tenant: str, customer: str):
    return _request(tenant, "send_sms", json.dumps({
        "customer_ref": customer, "body": "Hi {{customer.first_name}}, reply YES to confirm."}))


def test_email_and_sms_are_delivered_once_with_placeholders_filled_at_sending(
        pipeline, pg, deliveries):
    smtp, sms = deliveries
    settings = pipeline
    tenant = f"dealer-d{uuid.uuid4().hex[:6]}"
    _contacts(settings, tenant, {"customer_id": "cust-1", "first_name": "Ana",
                                 "last_name": "Okafor", "email": "ana.okafor@example.com",
                                 "phone": "+15550100"})
    _wait_contacts(pg, tenant, 1)
    mail, text = _email_task(tenant, "cust-1"), _sms_task(tenant, "cust-1")
    _send(settings, mail, text)

    def sent() -> list[DeliveryCompleted]:
        done = [d for d in _topic(settings, topics.DELIVERIES_COMPLETED, DeliveryCompleted,
                                  tenant)]
        return done if len({d.delivery_id for d in done}) == 2 else []

    done = {d.task_id: d for d in wait_for(sent, 180, "both deliveries")}
    assert {d.status for d in done.values()} == {"sent"}, done
    [msg] = smtp.by_delivery_id(done[mail.task_id].delivery_id)
    assert msg["To"] == "ana.okafor@example.com" and msg["Subject"] == "Service for Ana"
    assert "Hi Ana Okafor, your car is due." in msg.get_content()
    got = sms.delivered[done[text.task_id].delivery_id]
    # one request, not one message the gateway deduped from several
    assert [r.key for r in sms.requests].count(got.key) == 1
    assert (got.to, got.body) == ("+15550100", "Hi Ana, reply YES to confirm.")
    assert got.authorization == "Bearer test-gateway-token"

    # the address and the filled text are at the receivers only: not in the task results,
    # the outbox, the delivery results, the dead letters, the ledger or the agents' memory
    secrets = (b"ana.okafor@example.com", b"+15550100", b"Hi Ana")
    for spec in (topics.AGENT_TASKS_COMPLETED, topics.DELIVERIES_OUTBOX,
                 topics.DELIVERIES_COMPLETED, topics.DEAD_LETTERS):
        for m in read_topic(settings, spec.name(settings.topic_prefix),
                            principal=Principal.ADMIN):
            for secret in secrets:
                assert secret not in (m.value() or b""), (spec.suffix, secret)
    wait_for(lambda: pg.execute("SELECT count(*) FROM agent_memory WHERE tenant_id = %s",
                                (tenant,)).fetchone()[0] == 2, 120, "the two task memories")
    stored = pg.execute(
        "SELECT coalesce(string_agg(coalesce(error, '') || provider, ' '), '') FROM "
        "agent_deliveries WHERE tenant_id = %s UNION ALL SELECT string_agg(content, ' ') FROM "
        "agent_memory WHERE tenant_id = %s", (tenant, tenant)).fetchall()
    for (text_,) in stored:
        for secret in secrets:
            assert secret.decode() not in text_, secret

    # the same task again (a producer retry): the same answer, the outbox record again, and
    # the ledger answers it: still one email
    _send(settings, mail)
    wait_for(lambda: len([d for d in _topic(settings, topics.DELIVERIES_COMPLETED,
                                            DeliveryCompleted, tenant)
                          if d.task_id == mail.task_id]) >= 2, 120, "the repeated answer")
    assert len(smtp.by_delivery_id(done[mail.task_id].delivery_id)) == 1
    rows = pg.execute("SELECT channel, status, attempts FROM agent_deliveries WHERE "
                      "tenant_id = %s ORDER BY channel", (tenant,)).fetchall()
    assert rows == [("email", "sent", 1), ("sms", "sent", 1)]


def test_what_cannot_be_sent_fails_clearly_and_a_busy_gateway_is_retried(
        pipeline, pg, deliveries):
    smtp, sms = deliveries
    settings = pipeline
    tenant = f"dealer-f{uuid.uuid4().hex[:6]}"
    _contacts(settings, tenant,
              {"customer_id": "opted-out", "first_name": "Ben", "email": "ben@example.com",
               "email_opt_in": False},
              {"customer_id": "no-last-name", "first_name": "Cy", "email": "cy@example.com"},
              {"customer_id": "texter", "first_name": "Di", "phone": "+15550111"})
    _wait_contacts(pg, tenant, 3)
    unknown, opted, blank = (_email_task(tenant, "nobody"), _email_task(tenant, "opted-out"),
                             _email_task(tenant, "no-last-name"))
    sms.fail_next(2)  # the gateway is busy twice, then answers
    busy = _sms_task(tenant, "texter")
    _send(settings, unknown, opted, blank, busy)

    def results() -> dict[str, DeliveryCompleted]:
        got = {d.task_id: d for d in _topic(settings, topics.DELIVERIES_COMPLETED,
                                            DeliveryCompleted, tenant)}
        return got if len(got) == 4 else {}

    got = wait_for(results, 180, "four delivery results")
    assert got[unknown.task_id].status == "failed"
    assert "no contact record for customer nobody" in (got[unknown.task_id].error or "")
    assert got[opted.task_id].status == "failed"
    assert got[opted.task_id].error == "customer opted-out opted out of email"
    assert got[blank.task_id].status == "failed"
    assert "has no last_name" in (got[blank.task_id].error or "")
    assert got[busy.task_id].status == "sent" and got[busy.task_id].attempts == 3
    assert not [m for m in smtp.messages if m["To"] in ("ben@example.com", "cy@example.com")]
    # only what an operator must fix is a dead letter (and a replay once fixed sends)
    dead = [d for d in _topic(settings, topics.DEAD_LETTERS, DeadLetter, tenant)
            if d.step == "deliveries"]
    assert [d.error_kind for d in dead] == ["no_contact"], dead
    assert not pg.execute("SELECT 1 FROM agent_deliveries WHERE tenant_id = %s AND "
                          "customer_ref = 'nobody'", (tenant,)).fetchall()


def test_kill_minus_nine_mid_batch_completes_every_task_once_and_delivers_nothing_twice(
        pipeline, pg, deliveries):
    smtp, sms = deliveries
    settings = pipeline
    tenant = f"dealer-k{uuid.uuid4().hex[:6]}"
    n = 20
    _contacts(settings, tenant, *({"customer_id": f"c{i}", "first_name": f"Name{i}",
                                   "last_name": "X", "email": f"c{i}@example.com",
                                   "phone": f"+1555020{i:02d}"} for i in range(n)))
    _wait_contacts(pg, tenant, n)
    tasks = [(_email_task if i % 2 else _sms_task)(tenant, f"c{i}") for i in range(n)]

    def finished() -> list[DeliveryCompleted]:
        return _topic(settings, topics.DELIVERIES_COMPLETED, DeliveryCompleted, tenant)

    sms.state.delay_s = 0.5  # a slow gateway keeps deliveries in flight when the kill lands
    try:
        _send(settings, *tasks)
        wait_for(lambda: len(finished()) >= 2, 120, "the first deliveries")
        worker = psutil.Process(supervisor.pid_of(pipeline, "worker"))
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(30)
        in_flight = n - len({d.task_id for d in finished()})
        assert in_flight > 0, "the kill landed after every delivery: it tested nothing"
        restart(pipeline, "worker")
        wait_for(lambda: len({d.task_id for d in finished()}) == n, 300, "every delivery")
    finally:
        sms.state.delay_s = 0.0

    results = _decoded([m.value() for m in read_topic(
        settings, topics.AGENT_TASKS_COMPLETED.name(settings.topic_prefix),
        principal=Principal.ADMIN) if m.key() in {t.task_id.encode() for t in tasks}])
    by_task: dict[str, set[str]] = {}
    for r in results:
        by_task.setdefault(r.task_id, set()).add(r.event_id)
    assert set(by_task) == {t.task_id for t in tasks}
    assert all(len(ids) == 1 for ids in by_task.values())  # each task completed once, by id
    assert all(r.status == "completed" for r in results)

    outcome = {d.delivery_id: d.status for d in finished()}
    per_id: dict[str, int] = {}
    for m in smtp.messages:
        if m["X-Auterity-Delivery-Id"] in outcome:
            per_id[m["X-Auterity-Delivery-Id"]] = per_id.get(m["X-Auterity-Delivery-Id"], 0) + 1
    assert all(c == 1 for c in per_id.values()), per_id  # no email twice
    sms_ids = [k for k in sms.delivered if k in outcome]
    assert len(sms_ids) == n // 2  # every SMS once (the gateway dedupes a resend by key)
    # every email is sent once, or `unknown` if the kill fell between sending and recording
    for delivery_id, status in outcome.items():
        assert status in ("sent", "unknown"), (delivery_id, status)
        if status == "sent" and delivery_id not in sms_ids:
            assert per_id.get(delivery_id) == 1, delivery_id
    print(f"kill -9 with {in_flight} deliveries not done: "
          f"{list(outcome.values()).count('unknown')} unknown, "
          f"{len(sms.requests)} gateway requests for {len(sms.delivered)} messages")
