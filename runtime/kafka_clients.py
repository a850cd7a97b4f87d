"""The one factory for confluent-kafka clients (producer, consumer, admin) and topic creation.

Every confluent-kafka client in the code, bench included, is built here, so broker address,
message-size limits, acks and idempotence are set in one place. (Faust builds its own
aiokafka clients from streams/app.py.)

Invariants:
- producers are idempotent with acks=all and the Java client's murmur2 partitioner, so a
  key lands in the partition Faust and the Java tools would pick;
- consumers never auto-commit: whoever consumes stores its own position (the projections
  with their rows, the redaction step in its progress topic);
- `ensure_topics` / `ensure_topic` are idempotent (an existing topic is left as it is).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from runtime.settings import Settings
from schemas import topics

_QUIET = logging.getLogger("auterity.rdkafka")
_QUIET.setLevel(logging.CRITICAL)  # librdkafka logs connection refusals while a broker starts


def producer(settings: Settings, **overrides: object) -> Producer:
    """An idempotent producer, acks=all, Java-compatible partitioner (murmur2)."""
    conf: dict[str, object] = {
        "bootstrap.servers": settings.kafka_servers,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "partitioner": "murmur2_random",
        "message.max.bytes": settings.max_message_bytes + 65536,
    }
    conf.update(overrides)
    return Producer(conf)


def consumer(settings: Settings, group_id: str | None = None, **overrides: object) -> Consumer:
    """A consumer that never auto-commits and fetches messages up to the size limit.

    `group_id` defaults to a throw-away group (readers that only assign partitions).
    """
    conf: dict[str, object] = {
        "bootstrap.servers": settings.kafka_servers,
        "group.id": group_id or f"auterity-reader-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "max.partition.fetch.bytes": settings.max_message_bytes + 65536,
    }
    conf.update(overrides)
    return Consumer(conf)


def admin(settings: Settings, *, quiet: bool = False) -> AdminClient:
    """An admin client; `quiet` silences librdkafka's connection errors (health probes)."""
    conf: dict[str, Any] = {"bootstrap.servers": settings.kafka_servers}
    if quiet:
        conf.update({"log_level": 0, "logger": _QUIET})
    return AdminClient(conf)


def ensure_topic(settings: Settings, name: str, partitions: int,
                 config: Mapping[str, str], timeout: float = 30.0) -> bool:
    """Create topic `name` unless it exists; True if this call created it."""
    client = admin(settings)
    if name in client.list_topics(timeout=timeout).topics:
        return False
    return bool(_create(client, [NewTopic(name, num_partitions=partitions, replication_factor=1,
                                          config=dict(config))], timeout))


def ensure_topics(settings: Settings, timeout: float = 30.0) -> list[str]:
    """Create every catalogued topic that does not exist yet; return the names created."""
    client = admin(settings)
    existing = set(client.list_topics(timeout=timeout).topics)
    prefix = settings.topic_prefix
    wanted = [
        NewTopic(spec.name(prefix), num_partitions=spec.partitions, replication_factor=1,
                 config=spec.config(settings.max_message_bytes))
        for spec in topics.CATALOG if spec.name(prefix) not in existing
    ]
    return _create(client, wanted, timeout) if wanted else []


def _create(client: AdminClient, wanted: list[NewTopic], timeout: float) -> list[str]:
    created = []
    for name, fut in client.create_topics(wanted, operation_timeout=timeout).items():
        try:
            fut.result()
            created.append(name)
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    return created


def next_offsets(messages: Iterable[Message]) -> dict[tuple[str, int], int]:
    """The offset after the last of `messages` per (topic, partition)."""
    nxt: dict[tuple[str, int], int] = {}
    for m in messages:
        topic, partition, offset = position(m)
        nxt[(topic, partition)] = offset + 1
    return nxt


def position(m: Message) -> tuple[str, int, int]:
    """(topic, partition, offset) of a CONSUMED message (librdkafka sets all three on it)."""
    topic, partition, offset = m.topic(), m.partition(), m.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError("a message without topic/partition/offset was not consumed")
    return topic, partition, offset
