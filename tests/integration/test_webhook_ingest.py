"""The dealership webhook ingest on the real Kafka: JSON facts in, Avro on dealership.events
out once acknowledged; contacts to the restricted topic only; a bad field named with nothing
of the batch sent; tokens scoped to one tenant; a flood of 10,000 facts produced exactly
once."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from connectors.ingest import produce
from connectors.kafka_io import read_topic
from connectors.webhook_ingest import REALM, serving
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.tokens import operator_token, tenant_token
from schemas import serde, topics
from schemas.events import CustomerContact, DealershipEvent
from tests.integration.conftest import wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _post(url: str, body: Any, token: str | None, ctype: str = "application/json",
          raw: bytes | None = None) -> tuple[int, dict[str, Any]]:
    data = raw if raw is not None else json.dumps(body).encode()
    headers = {"Content-Type": ctype}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def _scheduled(ref: str, appointment: str, **extra: Any) -> dict[str, Any]:
    return {"fact": "service.appointment_scheduled", "customer_ref": ref,
            "appointment_id": appointment, "appointment_at": "2026-12-10T09:30:00-06:00",
            "vehicle": "2021 Ford F-150", **extra}


@pytest.fixture(scope="module")
def ingest_settings(settings):
    """The session's Kafka with a topic prefix of its own: the 10,000 facts of the flood
    never reach the worker's trigger step (which would spend minutes on them, delaying every
    later test's facts)."""
    s = settings.model_copy(update={"topic_prefix": f"w{uuid.uuid4().hex[:6]}."})
    kafka_clients.ensure_topics(s, principal=Principal.ADMIN)
    kafka_clients.ensure_acls(s)

    def ingest_allowed() -> bool:  # new ACLs take a moment to reach the broker's authorizer
        probe = DealershipEvent.model_validate({
            **_scheduled("CRM-probe", "apt-probe"), "event_id": str(uuid.uuid4()),
            "tenant_id": "probe", "occurred_at": "2026-12-03T09:00:00Z"})
        return not produce(s, topics.DEALERSHIP_EVENTS, [probe]).rejected

    wait_for(ingest_allowed, 60, "the ingest principal's ACLs on the test's topics")
    return s


def _facts(settings, tenant: str) -> list[DealershipEvent]:
    name = topics.DEALERSHIP_EVENTS.name(settings.topic_prefix)
    out = []
    for m in read_topic(settings, name, principal=Principal.ADMIN):
        ev = serde.decode(m.value(), DealershipEvent)
        if ev.tenant_id == tenant:
            assert m.key() == ev.customer_ref.encode()  # one customer's facts in order
            out.append(ev)
    return out


def test_facts_are_validated_scoped_and_produced_once_acknowledged(ingest_settings) -> None:
    settings = ingest_settings
    tenant, other = f"dealer-w{uuid.uuid4().hex[:6]}", f"dealer-x{uuid.uuid4().hex[:6]}"
    key = settings.resolved_webhook_key()
    token = tenant_token(key, tenant, REALM)
    port = _free_port()
    with serving(settings, "127.0.0.1", port):
        url = f"http://127.0.0.1:{port}/v1/facts"
        status, body = _post(url, [
            _scheduled("CRM-1", "apt-1", event_id="dms-881",
                       customer={"first_name": "Ana", "phone": "+1 512 555 0143",
                                 "email": "ana@example.com", "sms_opt_in": True}),
            {"fact": "call.missed", "customer_ref": "CRM-2", "call_id": "call-7",
             "called_at": "2026-12-03T10:00:00Z"}], token)
        assert status == 202 and body["accepted"] == 2, body
        assert body["event_ids"][0] == "dms-881"

        # a bad field is named; nothing of the batch is produced
        status, body = _post(url, [_scheduled("CRM-3", "apt-3", event_id="dms-bad-1"),
                                   _scheduled("CRM-4", "apt-4", appointment_at="soon"),
                                   {"fact": "call.missed", "customer_ref": "CRM-5"}], token)
        assert status == 400 and body["error"] == "nothing was accepted"
        assert any(e.startswith("item 2: appointment_at:") for e in body["errors"]), body
        assert "item 3: <root>: Value error, called_at, call_id: required for call.missed" in (
            body["errors"]), body
        assert "soon" not in json.dumps(body)  # fields named, values never quoted
        status, body = _post(url, _scheduled("CRM-6", "apt-6", customer={"email": "nope"}),
                             token)
        assert status == 400 and body["errors"][0].startswith("fact: customer.email:")

        # credentials: none, forged, the operator's, another tenant's tenant_id
        assert _post(url, _scheduled("CRM-7", "apt-7"), None)[0] == 401
        assert _post(url, _scheduled("CRM-7", "apt-7"), token[:-2] + "00")[0] == 401
        assert _post(url, _scheduled("CRM-7", "apt-7"),
                     tenant_token(b"another-key", tenant, REALM))[0] == 401
        assert _post(url, _scheduled("CRM-7", "apt-7"), operator_token(key, REALM))[0] == 403
        # a metrics-endpoint token of the same tenant is no webhook token
        assert _post(url, _scheduled("CRM-7", "apt-7"), tenant_token(key, tenant))[0] == 401
        status, body = _post(url, _scheduled("CRM-7", "apt-7", tenant_id=other), token)
        assert status == 403 and "tenant_id" in body["error"]
        assert _post(url, None, token, ctype="text/plain", raw=b"x")[0] == 415
        assert _post(url, None, token, raw=b"x" * (1024 * 1024 + 1))[0] == 413
        assert _post(url, None, token, raw=b"{not json")[0] == 400
        assert _post(url, [_scheduled("CRM-8", f"a-{i}") for i in range(501)], token)[0] == 400

    facts = _facts(settings, tenant)
    assert sorted((f.fact, f.customer_ref) for f in facts) == [
        ("call.missed", "CRM-2"), ("service.appointment_scheduled", "CRM-1")]
    assert not _facts(settings, other)
    raw = b"".join(m.value() for m in read_topic(
        settings, topics.DEALERSHIP_EVENTS.name(settings.topic_prefix),
        principal=Principal.ADMIN))
    assert b"ana@example.com" not in raw and b"555 0143" not in raw and b"Ana" not in raw
    contacts = [serde.decode(m.value(), CustomerContact) for m in read_topic(
        settings, topics.CUSTOMERS_RAW.name(settings.topic_prefix), principal=Principal.ADMIN)]
    [contact] = [c for c in contacts if c.tenant_id == tenant]
    assert (contact.customer_id, contact.email, contact.phone) == (
        "CRM-1", "ana@example.com", "+1 512 555 0143")


def test_a_flood_of_ten_thousand_facts_is_produced_exactly_once(ingest_settings) -> None:
    settings = ingest_settings
    tenant = f"dealer-f{uuid.uuid4().hex[:6]}"
    token = tenant_token(settings.resolved_webhook_key(), tenant, REALM)
    port = _free_port()
    batches = [[_scheduled(f"CRM-{(b * 500 + i) % 997}", f"apt-{b}-{i}",
                           event_id=f"flood-{tenant}-{b}-{i}") for i in range(500)]
               for b in range(20)]
    with serving(settings, "127.0.0.1", port):
        url = f"http://127.0.0.1:{port}/v1/facts"
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda batch: _post(url, batch, token), batches))
    assert [status for status, _ in answers] == [202] * 20
    assert sum(body["accepted"] for _, body in answers) == 10_000
    counts = Counter(f.event_id for f in _facts(settings, tenant))
    assert len(counts) == 10_000 and set(counts.values()) == {1}
