"""The consume loop every projection shares (confluent-kafka batch consumer).

Invariant (nothing lost, nothing doubled): a sink writes a batch's rows AND the position
after it atomically in its own store, and on (re)assignment the consumer seeks to the
position the sink reports. Kafka's committed offsets are updated afterwards for tooling
only; they are never the source of truth.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from runtime import kafka_clients
from runtime.settings import Settings

log = logging.getLogger("auterity.projections")


class Sink(Protocol):
    name: str

    def stored_offsets(self, topics: Sequence[str]) -> dict[tuple[str, int], int]:
        """Next offset per (topic, partition) from the sink's own store."""

    def write(self, messages: Sequence[Message]) -> None:
        """Write the rows of `messages` and their positions atomically."""


class ProjectionRunner:
    """Consume `topics` into `sink` until `stop()` is called."""

    def __init__(self, settings: Settings, sink: Sink, topics: Sequence[str],
                 batch_size: int | None = None) -> None:
        self.settings = settings
        self.sink = sink
        self.topics = list(topics)
        self.batch_size = batch_size or settings.projection_batch
        self._stop = threading.Event()
        self.rows_written = 0
        self.error: Exception | None = None
        self.consumer = kafka_clients.consumer(
            settings, f"{settings.app_id}-projection-{sink.name}",
            **{"enable.auto.offset.store": False, "auto.offset.reset": "earliest",
               "fetch.max.bytes": settings.max_message_bytes * 2,
               "session.timeout.ms": 10_000, "heartbeat.interval.ms": 1_000})

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        stored = self.sink.stored_offsets(self.topics)
        for tp in partitions:
            tp.offset = stored.get((tp.topic, tp.partition), OFFSET_BEGINNING)
        log.info("%s: assigned %s", self.sink.name,
                 [(tp.topic, tp.partition, tp.offset) for tp in partitions])
        consumer.assign(partitions)

    def stop(self) -> None:
        self._stop.set()

    def run(self, idle_callback: Callable[[], None] | None = None) -> None:
        try:
            self._run(idle_callback)
        except Exception as exc:
            self.error = exc
            log.exception("%s: projection stopped by an error", self.sink.name)
            raise

    def _run(self, idle_callback: Callable[[], None] | None) -> None:
        self.consumer.subscribe(self.topics, on_assign=self._on_assign)
        try:
            while not self._stop.is_set():
                msgs = self.consumer.consume(num_messages=self.batch_size, timeout=0.05)
                if not msgs:
                    if idle_callback:
                        idle_callback()
                    continue
                batch: list[Message] = []
                for m in msgs:
                    err = m.error()
                    if err is None:
                        batch.append(m)
                    elif err.code() != KafkaError._PARTITION_EOF:
                        log.error("%s: consumer error %s", self.sink.name, err)
                if batch:
                    self._write_with_retry(batch)
        finally:
            self.consumer.close()

    def _write_with_retry(self, batch: list[Message]) -> None:
        delay = 0.5
        while True:
            try:
                self.sink.write(batch)
                break
            except Exception:
                log.exception("%s: write of %d records failed; retrying in %.1fs",
                              self.sink.name, len(batch), delay)
                if self._stop.wait(delay):
                    raise
                delay = min(delay * 2, 10.0)
        self.rows_written += len(batch)
        last: dict[tuple[str, int], int] = {}
        for m in batch:
            last[(m.topic(), m.partition())] = m.offset() + 1
        self.consumer.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in last.items()], asynchronous=True)


def run_until_signalled(runners: Sequence[ProjectionRunner], on_ready: Any = None) -> None:
    """Run each projection in a thread; SIGTERM/SIGINT stop them all cleanly."""

    def _stop(*_: object) -> None:
        for r in runners:
            r.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    threads = [threading.Thread(target=r.run, name=f"projection-{r.sink.name}") for r in runners]
    for t in threads:
        t.start()
    if on_ready:
        on_ready()
    while any(t.is_alive() for t in threads):
        if any(r.error for r in runners):
            _stop()  # one projection died: stop the others and exit non-zero so a
            for t in threads:  # supervisor restarts the process (and status shows it down)
                t.join(timeout=30)
            raise SystemExit(f"projection failed: {next(r.error for r in runners if r.error)}")
        time.sleep(0.2)
