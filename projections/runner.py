"""The consume loop every projection shares (confluent-kafka batch consumer).

Invariant (nothing lost, nothing doubled): a sink writes a batch's rows AND the position
after it atomically in its own store, and on (re)assignment the consumer seeks to the
position the sink reports. Kafka's committed offsets are updated afterwards for tooling
only; they are never the source of truth.

A projection whose store is down (Postgres not started yet, a ClickHouse server restarting)
waits for it on its own, retrying with backoff and logging what it waits for, while the
other projections of the process go on:
- the sink is opened (connect, create the schema) in the projection's thread, not before;
- the consumer joins its group only once the sink answers `stored_offsets`, so nothing is
  consumed without the stored position; if a later assignment cannot read it, the
  consumer takes no partition, leaves the group, and rejoins once the store answers again;
- a failed write is retried with backoff until it succeeds (or the process stops).
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
from runtime.kafka_auth import Principal, projection_group
from runtime.settings import Settings

log = logging.getLogger("auterity.projections")

FIRST_RETRY_S = 0.5
MAX_RETRY_S = 15.0


class Sink(Protocol):
    name: str

    def stored_offsets(self, topics: Sequence[str]) -> dict[tuple[str, int], int]:
        """Next offset per (topic, partition) from the sink's own store."""

    def write(self, messages: Sequence[Message]) -> None:
        """Write the rows of `messages` and their positions atomically."""


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


class ProjectionRunner:
    """Consume `topics` into the sink `open_sink` builds until `stop()` is called.

    `name` is the sink's name (its consumer group is `<app_id>-projection-<name>`); `store`
    names what the sink writes to, for the log lines of a projection waiting for it;
    `principal` is who the consumer reads as (the broker's ACLs allow it `topics` or not).
    """

    def __init__(self, settings: Settings, open_sink: Callable[[], Sink], topics: Sequence[str],
                 *, name: str, principal: Principal, store: str = "its store",
                 batch_size: int | None = None) -> None:
        self.settings = settings
        self.name = name
        self.store = store
        self.open_sink = open_sink
        self.sink: Sink | None = None
        self.topics = list(topics)
        self.batch_size = batch_size or settings.projection_batch
        self._stop = threading.Event()
        self._subscribed = False
        self._store_lost = False
        self.rows_written = 0
        self.error: Exception | None = None
        self.consumer = kafka_clients.consumer(
            settings, projection_group(settings, name), principal=principal,
            **{"enable.auto.offset.store": False, "auto.offset.reset": "earliest",
               "fetch.max.bytes": settings.max_message_bytes * 2,
               "session.timeout.ms": 10_000, "heartbeat.interval.ms": 1_000})

    # --- the store --------------------------------------------------------------------

    def _drop_sink(self) -> None:
        """Forget the sink (its connection may be broken); the next attempt opens a new one."""
        sink, self.sink = self.sink, None
        close = getattr(sink, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:  # noqa: BLE001 - closing a broken connection may fail too
                log.info("%s: closing the old connection to %s failed too (%s)", self.name,
                         self.store, _reason(exc))

    def _stored_offsets(self) -> dict[tuple[str, int], int]:
        """The sink's stored positions, opening the sink first if needed."""
        if self.sink is None:
            self.sink = self.open_sink()
        return self.sink.stored_offsets(self.topics)

    def _wait_for_store(self) -> bool:
        """Open the sink and read its positions, retrying with backoff; False if stopped."""
        delay, started, attempts = FIRST_RETRY_S, time.monotonic(), 0
        while True:
            attempts += 1
            stage = "open it (connect, create the schema)"
            try:
                if self.sink is None:
                    self.sink = self.open_sink()
                stage = "read its stored positions"
                self.sink.stored_offsets(self.topics)
            except Exception as exc:  # noqa: BLE001 - any store failure: wait and retry
                self._drop_sink()
                log.warning("%s: waiting for %s: could not %s (%s); retrying in %.1fs",
                            self.name, self.store, stage, _reason(exc), delay)
                if self._stop.wait(delay):
                    return False
                delay = min(delay * 2, MAX_RETRY_S)
                continue
            if attempts > 1:
                log.info("%s: %s answers after %.1fs; consuming %s", self.name, self.store,
                         time.monotonic() - started, self.topics)
            return True

    # --- the consumer -----------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        try:
            stored = self._stored_offsets()
        except Exception as exc:  # noqa: BLE001 - no position, no consuming: rejoin later
            log.warning("%s: assigned %d partition(s) but could not read the stored positions "
                        "from %s (%s); taking none until it answers", self.name, len(partitions),
                        self.store, _reason(exc))
            self._drop_sink()
            self._store_lost = True
            consumer.assign([])
            return
        for tp in partitions:
            tp.offset = stored.get((tp.topic, tp.partition), OFFSET_BEGINNING)
        log.info("%s: assigned %s", self.name,
                 [(tp.topic, tp.partition, tp.offset) for tp in partitions])
        consumer.assign(partitions)

    def stop(self) -> None:
        self._stop.set()

    def run(self, idle_callback: Callable[[], None] | None = None) -> None:
        try:
            self._run(idle_callback)
        except Exception as exc:
            self.error = exc
            log.exception("%s: projection stopped by an error", self.name)
            raise

    def _run(self, idle_callback: Callable[[], None] | None) -> None:
        try:
            while not self._stop.is_set():
                if not self._subscribed:
                    if not self._wait_for_store():
                        break
                    self._store_lost = False
                    self.consumer.subscribe(self.topics, on_assign=self._on_assign)
                    self._subscribed = True
                msgs = self.consumer.consume(num_messages=self.batch_size, timeout=0.05)
                if self._store_lost:  # an assignment found the store down: leave the group
                    self.consumer.unsubscribe()
                    self._subscribed = False
                    continue
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
                        log.error("%s: consumer error %s", self.name, err)
                if batch and not self._write_with_retry(batch):
                    break
        finally:
            self.consumer.close()
            self._drop_sink()

    def _write_with_retry(self, batch: list[Message]) -> bool:
        """Write `batch`, retrying with backoff; False if stopped before it was written (its
        position is not stored either, so the next start reads it again)."""
        delay, started = FIRST_RETRY_S, time.monotonic()
        failed = False
        while True:
            try:
                if self.sink is None:
                    self.sink = self.open_sink()
                self.sink.write(batch)
                break
            except Exception as exc:
                if not failed:
                    log.exception("%s: write of %d records to %s failed", self.name,
                                  len(batch), self.store)
                failed = True
                log.warning("%s: waiting for %s: write of %d records failed (%s); retrying "
                            "in %.1fs", self.name, self.store, len(batch), _reason(exc), delay)
                if self._stop.wait(delay):
                    log.warning("%s: stopping with %d records unwritten; they are read again "
                                "from the stored position on the next start", self.name,
                                len(batch))
                    return False
                delay = min(delay * 2, MAX_RETRY_S)
        if failed:
            log.info("%s: %s took the write after %.1fs", self.name, self.store,
                     time.monotonic() - started)
        self.rows_written += len(batch)
        self.consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in
                                      kafka_clients.next_offsets(batch).items()],
                             asynchronous=True)
        return True


def run_until_signalled(runners: Sequence[ProjectionRunner], on_ready: Any = None) -> None:
    """Run each projection in a thread; SIGTERM/SIGINT stop them all cleanly.

    A projection waiting for its store does not stop the others; one that fails otherwise
    (a bug, a fatal consumer error) stops the process so a supervisor restarts it."""

    def _stop(*_: object) -> None:
        for r in runners:
            r.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    threads = [threading.Thread(target=r.run, name=f"projection-{r.name}") for r in runners]
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
