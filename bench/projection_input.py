"""The input both projection benchmarks share: redacted events, read back from Kafka.

`projection_batches` produces redacted conversation events to the bench's topic and reads
them back as confluent-kafka Messages, in batches of `BATCH`, as the projections get them.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from confluent_kafka import Message

from bench.kafka_topics import assign_from, consume_n, new_consumer
from bench.table import log
from connectors.kafka_io import produce_blocking
from connectors.samples.conversations import generate_conversations
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import ConversationMessageRedacted, EntityFinding

BATCH = 2000


def redacted_events(n: int) -> Iterator[ConversationMessageRedacted]:
    """Redacted conversation events as the PII step emits them (ground-truth pseudonyms)."""
    now = datetime.now(UTC)
    for i, s in enumerate(generate_conversations(n, tenants=5, seed=13)):
        text = s.text
        entities: list[EntityFinding] = []
        numbers: dict[str, int] = {}
        for entity_type, value in dict.fromkeys(s.pii):
            numbers[entity_type] = numbers.get(entity_type, 0) + 1
            token = f"<{entity_type}_{numbers[entity_type]}>"
            start = text.find(value)
            if start < 0:
                continue
            text = text.replace(value, token)
            entities.append(EntityFinding(entity_type=entity_type, start=start,
                                          end=start + len(token), score=0.85))
        occurred = now - timedelta(seconds=n - i)
        yield ConversationMessageRedacted(
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-redacted-{i}")),
            tenant_id=s.tenant_id, occurred_at=occurred,
            source_event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-raw-{i}")),
            conversation_id=s.conversation_id, channel=s.channel, sender_role=s.sender_role,
            source_system="sample", redacted_text=text, entities=entities,
            ingested_at=occurred, redacted_at=occurred + timedelta(milliseconds=40),
            redaction_ms=12.5)


def projection_batches(settings: Settings, n: int) -> list[list[Message]]:
    """Produce `n` redacted events to the bench topic; read them back as confluent Messages."""
    topic = topics.CONVERSATIONS_REDACTED.name(settings.topic_prefix)
    log(f"projections: producing {n:,} redacted events to {topic}")
    producer = kafka_clients.producer(settings, principal=Principal.ADMIN)
    for ev in redacted_events(n):
        produce_blocking(producer, topic, ev.conversation_id.encode(), serde.encode(ev))
    if producer.flush(60) > 0:
        raise RuntimeError("projection input: records not acknowledged within 60 s")
    consumer = new_consumer(settings)
    assign_from(consumer, topic, from_end=False)
    messages: list[Message] = []
    got = consume_n(consumer, n, messages.append)
    consumer.close()
    if got != n:
        raise RuntimeError(f"projection input: consumed {got} of {n}")
    return [messages[i:i + BATCH] for i in range(0, n, BATCH)]


def timed_batches(batches: Sequence[Any], fn: Callable[[Any], None]) -> float:
    """Seconds to run `fn` over every batch."""
    t0 = time.perf_counter()
    for b in batches:
        fn(b)
    return time.perf_counter() - t0
