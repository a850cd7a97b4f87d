"""Per-step processing metrics -> ClickHouse `step_metrics` (chDB or a server).

One row per processed record: a redacted conversation (ok, latency from ingest to redaction,
entity counts by type) or a dead letter (error kind, step). No text and no payload is stored.

Invariant (nothing lost, nothing doubled): each insert holds the records of ONE
topic-partition offset range and carries the deduplication token `topic:partition:first-last`;
each row carries its own topic/partition/offset, and on start the consumer seeks to
max(offset)+1 per partition read from the table itself, so rows and position are one atomic
insert. Records below a partition's stored position are dropped before the insert
(`StoredPositions`), so a redelivery that overlaps stored rows with a different range (and so a
different token) adds no row either.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message

from projections.metrics_store import MetricsStore
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from schemas import serde, topics
from schemas.events import ConversationMessageRedacted, DeadLetter

TABLE = "step_metrics"


def ch_datetime(dt: datetime) -> str:
    """`dt` as a ClickHouse DateTime64(3, 'UTC') literal."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def insert_by_partition(store: MetricsStore, table: str,
                        rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert `rows` (each carrying its topic, partition and offset, in offset order) as one
    block per topic-partition, deduplicated by the token `topic:partition:first-last`."""
    groups: dict[tuple[str, int], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["topic"], row["partition"])].append(row)
    for (topic, partition), group in groups.items():
        token = f"{topic}:{partition}:{group[0]['offset']}-{group[-1]['offset']}"
        store.insert_rows(table, group, token)


def metric_row(m: Message) -> dict[str, Any]:
    """The step_metrics row of one record of conversations.redacted or the DLQ."""
    base = {"topic": m.topic(), "partition": m.partition(), "offset": m.offset()}
    try:
        ev = serde.decode_any(m.value())
    except serde.DecodeError as exc:
        return {**base, "event_id": f"{m.topic()}:{m.partition()}:{m.offset()}",
                "tenant_id": "unknown", "step": "metrics_projection", "ok": 0,
                "error_kind": exc.kind, "ingested_at": ch_datetime(datetime.now(UTC)),
                "processed_at": ch_datetime(datetime.now(UTC)), "latency_ms": 0.0,
                "text_chars": 0, "entities": {}}
    if isinstance(ev, ConversationMessageRedacted):
        ingested = ev.ingested_at or ev.occurred_at
        return {**base, "event_id": ev.event_id, "tenant_id": ev.tenant_id,
                "step": topics.PII_STEP, "ok": 1, "error_kind": "",
                "ingested_at": ch_datetime(ingested), "processed_at": ch_datetime(ev.redacted_at),
                "latency_ms": (ev.redacted_at - ingested).total_seconds() * 1000.0,
                "text_chars": len(ev.redacted_text),
                "entities": dict(Counter(f.entity_type for f in ev.entities))}
    if isinstance(ev, DeadLetter):
        return {**base, "event_id": ev.event_id, "tenant_id": ev.tenant_id, "step": ev.step,
                "ok": 0, "error_kind": ev.error_kind, "ingested_at": ch_datetime(ev.occurred_at),
                "processed_at": ch_datetime(ev.occurred_at), "latency_ms": 0.0, "text_chars": 0,
                "entities": {}}
    return {**base, "event_id": ev.event_id, "tenant_id": ev.tenant_id,
            "step": "metrics_projection", "ok": 0, "error_kind": "unexpected_event_type",
            "ingested_at": ch_datetime(ev.occurred_at), "processed_at": ch_datetime(ev.occurred_at),
            "latency_ms": 0.0, "text_chars": 0, "entities": {}}


class StoredPositions:
    """The next offset per topic-partition already stored in a table, kept in memory.

    Loaded from the table on first sight of a topic and advanced after each successful
    insert; `unseen` drops the records below it (stored already)."""

    def __init__(self, load: Callable[[Sequence[str]], dict[tuple[str, int], int]]) -> None:
        self._load = load
        self._next: dict[tuple[str, int], int] = {}
        self._topics: set[str] = set()

    def unseen(self, messages: Sequence[Message]) -> list[Message]:
        new_topics = sorted({kafka_clients.position(m)[0] for m in messages} - self._topics)
        if new_topics:
            self._next.update(self._load(new_topics))
            self._topics.update(new_topics)
        out = []
        for m in messages:
            topic, partition, offset = kafka_clients.position(m)
            if offset >= self._next.get((topic, partition), 0):
                out.append(m)
        return out

    def advance(self, messages: Sequence[Message]) -> None:
        for m in messages:
            topic, partition, offset = kafka_clients.position(m)
            self._next[(topic, partition)] = max(self._next.get((topic, partition), 0),
                                                 offset + 1)


class ClickHouseRowSink:
    """A ClickHouse projection writing one row per record into `table` (see the module
    docstring for its invariant); subclasses set `name`, `table` and `row`."""

    name: str
    table: str
    row: Callable[[Message], dict[str, Any]]
    principal: Principal = Principal.PROJECTIONS

    def __init__(self, store: MetricsStore) -> None:
        self.store = store
        store.ensure_schema()
        self.positions = StoredPositions(self.stored_offsets)

    def stored_offsets(self, topic_names: Sequence[str]) -> dict[tuple[str, int], int]:
        return self.store.stored_offsets(self.table, topic_names)

    def write(self, messages: Sequence[Message]) -> None:
        fresh = self.positions.unseen(messages)
        insert_by_partition(self.store, self.table, [self.row(m) for m in fresh])
        self.positions.advance(fresh)


class ClickHouseMetricsSink(ClickHouseRowSink):
    """Projection `clickhouse` of conversations.redacted and the DLQ."""

    name = "clickhouse"
    principal = Principal.STEP_METRICS  # may read the DLQ (raw layer); `projections` may not
    table = TABLE
    row = staticmethod(metric_row)
