"""Operator access to the dead-letter topic: list and replay.

Replay re-sends the original bytes to the original topic with the original key, so a record
that failed for a transient reason (or after a fix) flows through the normal path again.
The DLQ is raw layer: both act as the `admin` principal (an operator's tool).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from connectors.kafka_io import read_topic
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import DeadLetter, utcnow


@dataclass
class StoredDeadLetter:
    offset: int
    event: DeadLetter


def list_dead_letters(settings: Settings, kind: str | None = None,
                      step: str | None = None) -> Iterator[StoredDeadLetter]:
    topics.assert_raw_readers("dlq_cli", topics.DEAD_LETTERS)
    for msg in read_topic(settings, topics.DEAD_LETTERS.name(settings.topic_prefix),
                          principal=Principal.ADMIN):
        try:
            dl = serde.decode(msg.value(), DeadLetter)
        except serde.DecodeError as exc:  # shown, not hidden: someone wrote junk to the DLQ
            dl = DeadLetter(event_id=f"dlq-offset-{msg.offset()}", tenant_id="unknown",
                            occurred_at=utcnow(), error_kind="undecodable_dead_letter",
                            error=str(exc), step="dlq", source_topic="?", source_partition=-1,
                            source_offset=-1, payload_size=len(msg.value() or b""),
                            payload_truncated=True)
        if (kind is None or dl.error_kind == kind) and (step is None or dl.step == step):
            yield StoredDeadLetter(kafka_clients.position(msg)[2], dl)


def replay(settings: Settings, kind: str | None = None, step: str | None = None,
           offsets: Sequence[int] | None = None) -> int:
    """Re-send matching dead letters' payloads to their source topics; return how many."""
    producer = kafka_clients.producer(settings, principal=Principal.ADMIN)
    sent = 0
    for stored in list_dead_letters(settings, kind=kind, step=step):
        if offsets and stored.offset not in offsets:
            continue
        dl = stored.event
        if dl.payload_truncated:
            raise RuntimeError(f"dead letter at offset {stored.offset} kept only "
                               f"{len(dl.payload)} of {dl.payload_size} bytes; cannot replay it")
        producer.produce(dl.source_topic, key=dl.source_key, value=dl.payload)
        sent += 1
    if producer.flush(30) > 0:
        raise RuntimeError("replayed records were not acknowledged within 30 s")
    return sent
