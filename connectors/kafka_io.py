"""Producing with backpressure, and reading a topic to its end.

Clients come from the one factory, runtime/kafka_clients.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Message, Producer, TopicPartition

from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings


def produce_blocking(producer: Producer, topic: str, key: bytes | None, value: bytes,
                     **kwargs: Any) -> None:
    """Produce one record, serving delivery callbacks while the local queue is full."""
    while True:
        try:
            producer.produce(topic, key=key, value=value, **kwargs)
            break
        except BufferError:
            producer.poll(0.1)
    producer.poll(0)


def read_topic(settings: Settings, topic: str, *, principal: Principal, from_end: bool = False,
               follow: bool = False, idle_timeout: float = 2.0) -> Iterator[Message]:
    """Yield the records of every partition of `topic` as `principal`; stop at the end unless
    `follow`."""
    consumer = kafka_clients.consumer(settings, principal=principal)
    try:
        md = consumer.list_topics(topic, timeout=10)
        if topic not in md.topics or md.topics[topic].error is not None:
            raise KeyError(f"topic {topic!r} does not exist")
        parts = list(md.topics[topic].partitions)
        ends = {}
        tps = []
        for p in parts:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            ends[p] = high
            tps.append(TopicPartition(topic, p, high if from_end else OFFSET_BEGINNING))
        consumer.assign(tps)
        remaining = {p for p in parts if ends[p] > 0} if not from_end else set()
        last_msg = time.monotonic()
        while follow or remaining:
            msg = consumer.poll(0.2)
            if msg is None:
                if not follow and time.monotonic() - last_msg > idle_timeout:
                    break
                continue
            last_msg = time.monotonic()
            if msg.error():
                continue
            yield msg
            _, partition, offset = kafka_clients.position(msg)
            if offset + 1 >= ends.get(partition, 0):
                remaining.discard(partition)
    finally:
        consumer.close()
