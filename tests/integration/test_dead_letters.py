"""(c) bad inputs land in the DLQ with their reason while the stream goes on; DLQ replay."""

from __future__ import annotations

import uuid

from connectors.dead_letters import list_dead_letters, replay
from connectors.ingest import produce
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from schemas import serde, topics
from schemas.events import ConversationMessageRaw, ModelUsage, utcnow
from tests.integration.conftest import wait_for
from tests.integration.helpers import expected_redacted_ids, pg_ids, tenant_samples


def _raw(tenant: str, text: str, **kw) -> dict:
    rec = {"event_id": str(uuid.uuid4()), "tenant_id": tenant, "occurred_at": utcnow(),
           "schema_version": 1, "conversation_id": f"{tenant}-c1", "channel": "sms",
           "sender_role": "customer", "user_id": None, "source_system": "test", "text": text,
           "ingested_at": utcnow()}
    rec.update(kw)
    return rec


def _invalid_utf8(tenant: str) -> bytes:
    marker = "QQQQQQQQ"
    data = serde.encode_dict(ConversationMessageRaw, _raw(tenant, f"hello {marker} there"))
    return data.replace(marker.encode(), b"\xff\xfe\xfd" + b"Q" * 5)


def test_bad_inputs_are_dead_lettered_and_the_stream_goes_on(pipeline):
    prefix = f"bad{uuid.uuid4().hex[:6]}"
    tenant = f"{prefix}-dealer"
    usage = ModelUsage(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                       operation="x", model="m", provider="p")
    bad = {
        "garbage": b"\x89PNG\r\n\x1a\n definitely not avro",
        "wrong_schema": serde.encode(usage),
        "missing_tenant": serde.encode_dict(ConversationMessageRaw, _raw("", "hi there")),
        "huge": serde.encode_dict(ConversationMessageRaw,
                                  _raw(tenant, "My name is Jane Roe. " * 250_000)),
        "empty": serde.encode_dict(ConversationMessageRaw, _raw(tenant, "")),
        "invalid_utf8": _invalid_utf8(tenant),
        "nul_char": serde.encode_dict(ConversationMessageRaw, _raw(tenant, "hi\x00there")),
    }
    assert len(bad["huge"]) > 5_000_000
    expected_kind = {"garbage": "undecodable", "wrong_schema": "schema_invalid",
                     "missing_tenant": "schema_invalid", "huge": "oversized",
                     "empty": "empty_text", "invalid_utf8": "undecodable",
                     "nul_char": "schema_invalid"}
    expected_reason = {"garbage": "magic byte", "wrong_schema": "expected ConversationMessageRaw",
                       "missing_tenant": "tenant_id", "huge": "characters; the limit",
                       "empty": "empty", "invalid_utf8": "UTF-8", "nul_char": "NUL"}
    producer = kafka_clients.producer(pipeline, principal=Principal.INGEST)
    raw_topic = topics.CONVERSATIONS_RAW.name(pipeline.topic_prefix)
    offsets: dict[str, tuple[int, int]] = {}

    def remember(name):
        return lambda err, msg: offsets.__setitem__(name, (msg.partition(), msg.offset()))

    for name, value in bad.items():
        producer.produce(raw_topic, key=f"{prefix}-{name}".encode(), value=value,
                         on_delivery=remember(name))
    assert producer.flush(30) == 0
    assert len(offsets) == len(bad)

    # good events after the bad ones still flow
    events, _ = tenant_samples(prefix, 30, tenants=1, seed=5)
    produce(pipeline, topics.CONVERSATIONS_RAW, events)
    wait_for(lambda: pg_ids(pipeline, prefix) == expected_redacted_ids(events), 120,
             "good events after bad ones")

    def mine():
        return {(d.event.source_partition, d.event.source_offset): d
                for d in list_dead_letters(pipeline)
                if d.event.source_topic == raw_topic
                and (d.event.source_partition, d.event.source_offset) in offsets.values()}

    found = wait_for(lambda: len(mine()) == len(bad) and mine(), 60, "dead letters")
    for name, where in offsets.items():
        dl = found[where].event
        assert dl.step == "pii_redaction", name
        assert dl.error_kind == expected_kind[name], (name, dl.error)
        assert expected_reason[name] in dl.error, (name, dl.error)
        assert dl.payload_size == len(bad[name])
        assert dl.payload == bad[name] or dl.payload_truncated
    assert pg_ids(pipeline, prefix) == expected_redacted_ids(events)  # no bad one projected

    # replaying the empty-text dead letter sends the same bytes back and dead-letters them again
    empty_offset = [d.offset for d in found.values() if d.event.error_kind == "empty_text"]
    before = sum(1 for d in list_dead_letters(pipeline) if d.event.error_kind == "empty_text")
    assert replay(pipeline, offsets=empty_offset) == 1
    wait_for(lambda: sum(1 for d in list_dead_letters(pipeline)
                         if d.event.error_kind == "empty_text") == before + 1,
             60, "the replayed record dead-lettered again")
