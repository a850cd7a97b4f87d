"""The customer intelligence agent on the real stack: a profile from what Postgres holds
(conversations, a call analysis, a repair order, CRM fields), enriched by a local provider
over HTTP with a key, a second provider down and reported — and neither the VIN it asked
about nor the customer's name in the profile."""

from __future__ import annotations

import json
import uuid

from psycopg.types.json import Jsonb

from connectors.samples.enrichment_server import VEHICLES

from .conftest import ENRICH_KEY, wait_for
from .test_agent_tasks import _decoded, _request, _results, _send

VIN = next(iter(VEHICLES))
SRC = "'intelligence-test', 0, 0"


def _facts(pg, tenant: str) -> None:
    for i, channel in enumerate(("sms", "sms", "email")):
        pg.execute(
            "INSERT INTO ai_conversations (id, tenant_id, session_id, message_type, channel, "
            "content, created_at, source_topic, source_partition, source_offset) VALUES "
            f"(%s, %s, 'conv-1', 'user', %s, %s, now() - interval '{3 - i} days', {SRC})",
            (str(uuid.uuid4()), tenant, channel, f"message {i} from <PERSON_1>"))
    pg.execute(
        "INSERT INTO call_analyses (tenant_id, call_id, event_id, source_event_id, "
        "redacted_transcript, language, duration_s, processing_ms, summary, sentiment, "
        "sentiment_label, score, action_items, created_at, source_topic, source_partition, "
        f"source_offset) VALUES (%s, 'call-1', %s, %s, 'transcript of <PERSON_1>', 'en', 60, "
        f"1000, 'Customer wants a quote for brake pads', 0.6, 'positive', %s, %s, now(), {SRC})",
        (tenant, str(uuid.uuid4()), str(uuid.uuid4()),
         Jsonb({"score": 80, "appointment_set": True}), Jsonb([{"task": "send a quote"}])))
    pg.execute(
        "INSERT INTO document_extractions (tenant_id, document_id, event_id, source_event_id, "
        "document_kind, redacted_text, confidence, pages, word_count, fields, processing_ms, "
        f"created_at, source_topic, source_partition, source_offset) VALUES (%s, 'doc-1', %s, "
        f"%s, 'repair_order', 'RO for <PERSON_1>', 0.9, 1, 40, %s, 900, now(), {SRC})",
        (tenant, str(uuid.uuid4()), str(uuid.uuid4()),
         Jsonb({"ro_number": "RO-1001", "mileage": 42000, "vin": "<VIN>"})))
    pg.execute(
        "INSERT INTO restricted_pii_fields (tenant_id, subject_kind, subject_id, fields, "
        "event_id, source_event_id, created_at, source_topic, source_partition, "
        f"source_offset) VALUES (%s, 'document', 'doc-1', %s, %s, %s, now(), {SRC})",
        (tenant, Jsonb({"vin": VIN, "customer_name": "Ana Okafor"}), str(uuid.uuid4()),
         str(uuid.uuid4())))
    pg.execute(
        "INSERT INTO crm_customer_updates (tenant_id, task_id, customer_ref, fields, event_id, "
        f"created_at, source_topic, source_partition, source_offset) VALUES (%s, 't-1', "
        f"'cust-9', %s, %s, now(), {SRC})",
        (tenant, Jsonb({"lead_status": "qualified"}), str(uuid.uuid4())))


def test_a_profile_from_the_stream_enriched_with_every_source_reported(
        pipeline, pg, enrichment):
    settings = pipeline
    tenant = f"dealer-i{uuid.uuid4().hex[:6]}"
    _facts(pg, tenant)
    req = _request(tenant, "customer_profile", json.dumps({
        "customer_ref": "cust-9", "account_domain": "fleet.example.com",
        "conversation_ids": ["conv-1"], "call_ids": ["call-1"], "document_ids": ["doc-1"]}))
    _send(settings, req)
    [done] = _decoded(wait_for(lambda: _results(settings, req.task_id), 120, "the profile"))
    assert done.status == "completed", done.error
    profile = json.loads(done.output_json)

    assert profile["conversations"]["count"] == 1 and profile["conversations"]["messages"] == 3
    assert profile["conversations"]["channels"] == ["email", "sms"]
    assert profile["calls"]["appointments_set"] == 1
    assert profile["calls"]["action_items"] == ["send a quote"]
    assert [s["ro_number"] for s in profile["service_history"]] == ["RO-1001"]
    assert profile["crm"] == {"lead_status": "qualified", "open_tasks": 0}
    [vehicle] = profile["vehicles"]
    assert vehicle == {"source": "vindecoder", **{k: v for k, v in VEHICLES[VIN].items()}}
    assert profile["organization"]["vindecoder"]["name"] == "Example Fleet Services"
    outcomes = {(e["source"], e["kind"]): (e["status"], e["reason"])
                for e in profile["enrichment"]}
    assert outcomes == {("vindecoder", "vehicle"): ("ok", None),
                        ("vindecoder", "organization"): ("ok", None),
                        ("firmographics", "vehicle"): ("failed", "unreachable"),
                        ("firmographics", "organization"): ("failed", "unreachable")}
    # coverage: everything but engagement (no message was ever sent to this customer)
    assert profile["coverage"]["engagement"] is False
    assert done.confidence == profile["confidence"] == round(7 / 8, 3)
    # pseudonymised: the VIN was only the provider's key, the name stays restricted
    assert VIN not in done.output_json and "Okafor" not in done.output_json
    asked = {(path, auth) for path, auth in enrichment.requests}
    assert asked == {(f"/vehicle/{VIN}", f"Bearer {ENRICH_KEY}"),
                     ("/organization/fleet.example.com", f"Bearer {ENRICH_KEY}")}
