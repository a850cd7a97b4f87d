"""Learning that changes decisions, on the real stack: the email campaign agent writes its
emails through the local model, the delivery connector sends them to a real SMTP server,
customers' replies and an unsubscribe come back on deliveries.outcomes, and the next run of
the campaign shares its audience by what was learned (and does not email the customer who
unsubscribed)."""

from __future__ import annotations

import json
import uuid

from runtime import kafka_clients
from runtime.kafka_auth import Principal
from schemas import serde, topics
from schemas.events import DeliveryCompleted, DeliveryOutcome, DeliveryRequested, utcnow

from .conftest import wait_for
from .test_agent_deliveries import _contacts, _topic, _wait_contacts
from .test_agent_tasks import _decoded, _request, _results, _send


def _campaign(tenant: str, campaign: str, customers: list[str]):
    return _request(tenant, "email_campaign", json.dumps({
        "campaign_id": campaign, "objective": "book the winter service before December",
        "segments": [{"name": "service-due", "description": "owners whose car is due for its "
                      "winter service", "customer_refs": customers}], "length": 1}))


def _outcomes(settings, tenant: str, pairs: list[tuple[str, str]]) -> None:
    p = kafka_clients.producer(settings, principal=Principal.INGEST)
    for delivery_id, outcome in pairs:
        ev = DeliveryOutcome(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                             delivery_id=delivery_id, outcome=outcome)
        p.produce(topics.DELIVERIES_OUTCOMES.name(settings.topic_prefix),
                  key=delivery_id.encode(), value=serde.encode(ev))
    assert p.flush(30) == 0


def _completed(settings, task_id: str):
    [done] = _decoded(wait_for(lambda: _results(settings, task_id), 600, "the campaign result"))
    assert done.status == "completed", done.error
    return done, json.loads(done.output_json)


def test_replies_move_the_next_campaign_run_to_the_variant_that_got_them(
        pipeline, pg, deliveries):
    smtp, _ = deliveries
    settings = pipeline
    run = uuid.uuid4().hex[:6]
    tenant, campaign = f"dealer-l{run}", f"winter-{run}"
    first = [f"c-{i}" for i in range(8)]
    second = [f"n-{i}" for i in range(10)]
    name = {c: f"Qz{run}{c.replace('-', '')}" for c in first + second}  # no model guesses it
    _contacts(settings, tenant, *({"customer_id": c, "first_name": name[c],
                                   "email": f"{c}.{run}@example.com"} for c in first + second))
    _wait_contacts(pg, tenant, len(first) + len(second))

    one = _campaign(tenant, campaign, first)
    _send(settings, one)
    done, out = _completed(settings, one.task_id)
    assert out["split_reason"].startswith("cold start"), out
    assert out["assigned"] == {"reminder": 4, "offer": 4} and out["queued"] == 8

    def sent(task_id: str, n: int) -> list[DeliveryCompleted]:
        got = [d for d in _topic(settings, topics.DELIVERIES_COMPLETED, DeliveryCompleted,
                                 tenant) if d.task_id == task_id]
        return got if len({d.delivery_id for d in got}) == n else []

    results = wait_for(lambda: sent(one.task_id, 8), 180, "the first run's 8 emails")
    assert {d.status for d in results} == {"sent"}, results
    assert {d.campaign_id for d in results} == {campaign}
    # each email is personalised at sending only; the outbox holds the template
    outbox = {r.delivery_id: r for r in _topic(settings, topics.DELIVERIES_OUTBOX,
                                                 DeliveryRequested, tenant)
              if r.task_id == one.task_id}
    assert not [r for r in outbox.values() if f"Qz{run}" in r.subject + r.body]
    for d in results:
        [msg] = smtp.by_delivery_id(d.delivery_id)
        if "{{customer.first_name}}" in outbox[d.delivery_id].body:
            assert name[d.customer_ref] in msg.get_content()

    # feedback: every "reminder" customer replied (two also booked), no "offer" customer
    # did, and one "offer" customer unsubscribed
    reminder = sorted(d.delivery_id for d in results if d.variant == "reminder")
    offer = sorted((d for d in results if d.variant == "offer"), key=lambda d: d.delivery_id)
    _outcomes(settings, tenant, [(d, "replied") for d in reminder]
              + [(reminder[0], "booked"), (reminder[1], "booked"),
                 (offer[0].delivery_id, "unsubscribed")])
    wait_for(lambda: pg.execute(
        "SELECT variant, sent, engaged, unsubscribed FROM agent_learned_patterns WHERE "
        "tenant_id = %s AND campaign_id = %s ORDER BY variant", (tenant, campaign)
    ).fetchall() == [("offer", 4, 0, 1), ("reminder", 4, 4, 0)], 120, "the learned pattern")

    # the next run of the campaign (a new audience, and the customer who unsubscribed)
    gone = offer[0].customer_ref
    two = _campaign(tenant, campaign, [*second, gone])
    _send(settings, two)
    done, out = _completed(settings, two.task_id)
    assert out["split_reason"].startswith("learned: reminder 4/4 engaged, offer 0/4"), out
    assert out["shares"]["reminder"] == 0.8 and out["assigned"]["reminder"] >= 8, out
    later = wait_for(lambda: sent(two.task_id, 11), 180, "the second run's deliveries")
    stopped = [d for d in later if d.customer_ref == gone]
    assert [d.status for d in stopped] == ["failed"]
    assert stopped[0].error == f"customer {gone} unsubscribed from email"
    assert not [m for m in smtp.messages if m["To"] == f"{gone}.{run}@example.com"
                and m["X-Auterity-Delivery-Id"] == stopped[0].delivery_id]
