"""Kafka helpers of the bench: its own topics (create, wait for leaders, delete) and readers.

Every client comes from runtime/kafka_clients.py, so the bench talks to the broker with the
pipeline's own configuration; it acts as `admin` (its topics are outside the pipeline's ACLs).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from bench.table import log
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings


def create_topic(settings: Settings, name: str, partitions: int = 3) -> None:
    """Create topic `name` (messages up to the pipeline's size limit) and wait for its leaders."""
    kafka_clients.ensure_topic(
        settings, name, partitions,
        {"max.message.bytes": str(settings.max_message_bytes + 65536)},
        principal=Principal.ADMIN)
    wait_for_topic(settings, name, partitions)


def wait_for_topic(settings: Settings, name: str, partitions: int, timeout: float = 30.0) -> None:
    """Wait until the broker's metadata shows every partition of `name` with a leader (a topic
    just created is briefly unknown: assigning or reading its watermarks then fails)."""
    admin = kafka_clients.admin(settings, principal=Principal.ADMIN)
    deadline = time.monotonic() + timeout
    while True:
        md = admin.list_topics(name, timeout=10).topics.get(name)
        if (md is not None and md.error is None and len(md.partitions) == partitions
                and all(p.leader >= 0 and p.error is None for p in md.partitions.values())):
            return
        if time.monotonic() >= deadline:
            raise RuntimeError(f"topic {name} has no leader for every partition after "
                               f"{timeout:.0f}s")
        time.sleep(0.1)


def delete_topics(settings: Settings, prefixes: Sequence[str]) -> int:
    """Delete every topic whose name starts with one of `prefixes`; return how many."""
    admin = kafka_clients.admin(settings, principal=Principal.ADMIN)  # outlives the futures
    names = [t for t in admin.list_topics(timeout=10).topics
             if any(t.startswith(p) for p in prefixes)]
    if names:
        for fut in admin.delete_topics(names, operation_timeout=30).values():
            try:
                fut.result()
            except Exception as exc:  # noqa: BLE001 - cleanup is best effort, reported
                log(f"could not delete a bench topic: {exc}")
    return len(names)


def new_consumer(settings: Settings) -> Consumer:
    """A consumer in a throw-away group (the bench only assigns partitions)."""
    return kafka_clients.consumer(settings, f"auterity-bench-{uuid.uuid4().hex[:8]}",
                                  principal=Principal.ADMIN)


def assign_from(consumer: Consumer, topic: str, from_end: bool) -> None:
    """Assign every partition of `topic` at its beginning or at its current end."""
    md = consumer.list_topics(topic, timeout=10)
    if topic not in md.topics or not md.topics[topic].partitions:
        raise RuntimeError(f"topic {topic} is unknown to the broker")
    tps = []
    for p in md.topics[topic].partitions:
        if from_end:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            tps.append(TopicPartition(topic, p, high))
        else:
            tps.append(TopicPartition(topic, p, OFFSET_BEGINNING))
    consumer.assign(tps)


def consume_n(consumer: Consumer, n: int, on_message: Callable[[Message], None] | None = None,
              timeout: float = 120.0) -> int:
    """Consume until `n` records arrived (or `timeout` seconds pass); return how many came."""
    got = 0
    deadline = time.monotonic() + timeout
    while got < n and time.monotonic() < deadline:
        for msg in consumer.consume(min(1000, n - got), 0.05):
            if msg.error():
                continue
            if on_message is not None:
                on_message(msg)
            got += 1
    return got
