"""Model usage -> ClickHouse `ai_model_usage` (chDB or a server), one row per model call.

Invariants (nothing lost, nothing doubled), as for `step_metrics`:
- each insert holds the rows of ONE topic-partition offset range and carries the
  deduplication token `topic:partition:first-last`; each row carries its own
  topic/partition/offset, so rows and position are one atomic insert;
- `ai_model_usage` is a ReplacingMergeTree keyed by (tenant_id, event_id): a usage event
  redelivered upstream collapses to one row (read sums with FINAL);
- a record that does not decode, or that no column can hold (negative or overflowing token
  counts, a cost that is not a finite amount under 1,000,000 USD), is dead-lettered, never
  skipped silently: once Kafka acknowledged its dead letter, its offset is recorded in
  `ai_model_usage_skipped` AFTER the batch's rows, and the position on start is the
  offset after the greatest of both tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message, Producer

from projections.clickhouse_sink import StoredPositions, ch_datetime, insert_by_partition
from projections.metrics_store import MetricsStore
from projections.postgres_sink import DeadLetterOutbox, Rejected
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde
from schemas.events import ModelUsage

TABLE = "ai_model_usage"
SKIPPED = f"{TABLE}_skipped"
MAX_TOKENS = 2**32 - 1  # UInt32
MAX_COST = 1_000_000  # Decimal(12, 6) holds up to 999,999.999999


def _check(ev: ModelUsage) -> None:
    """Raise Rejected if a column of `ai_model_usage` cannot hold a field of `ev`."""
    problems = [f"{name}={value}" for name, value in
                (("input_tokens", ev.input_tokens), ("output_tokens", ev.output_tokens))
                if not 0 <= value <= MAX_TOKENS]
    if not (math.isfinite(ev.cost_usd) and 0 <= ev.cost_usd < MAX_COST):
        problems.append(f"cost_usd={ev.cost_usd}")
    if not (math.isfinite(ev.latency_ms) and ev.latency_ms >= 0):
        problems.append(f"latency_ms={ev.latency_ms}")
    if problems:
        raise Rejected("schema_invalid", "ModelUsage out of range: " + ", ".join(problems),
                       ev.tenant_id)


def usage_row(m: Message, ev: ModelUsage) -> dict[str, Any]:
    """The ai_model_usage row of one ModelUsage record."""
    _check(ev)
    return {"event_id": ev.event_id, "tenant_id": ev.tenant_id, "user_id": ev.user_id or "",
            "operation_type": ev.operation, "model_name": ev.model, "provider": ev.provider,
            "input_tokens": ev.input_tokens, "output_tokens": ev.output_tokens,
            "cost_usd": round(ev.cost_usd, 6), "processing_time_ms": ev.latency_ms,
            "success": int(ev.success), "error_class": ev.error_class or "",
            "cache_hit": int(ev.cache_hit), "created_at": ch_datetime(ev.occurred_at),
            "topic": m.topic(), "partition": m.partition(), "offset": m.offset()}


class ModelUsageSink:
    """Projection `clickhouse_usage` of model.usage."""

    name = "clickhouse_usage"
    step = "usage_projection"
    principal = Principal.PROJECTIONS

    def __init__(self, store: MetricsStore, settings: Settings,
                 producer: Producer | None = None) -> None:
        self.store = store
        store.ensure_schema()
        self.dead_letters = DeadLetterOutbox(settings, self.step, producer,
                                             principal=self.principal)
        self.positions = StoredPositions(self.stored_offsets)

    def stored_offsets(self, topic_names: Sequence[str]) -> dict[tuple[str, int], int]:
        stored = self.store.stored_offsets(TABLE, topic_names)
        for tp, nxt in self.store.stored_offsets(SKIPPED, topic_names).items():
            stored[tp] = max(stored.get(tp, 0), nxt)
        return stored

    def write(self, messages: Sequence[Message]) -> None:
        rows: list[dict[str, Any]] = []
        skipped: list[dict[str, Any]] = []
        fresh = self.positions.unseen(messages)
        for m in fresh:
            try:
                rows.append(usage_row(m, serde.decode(m.value(), ModelUsage)))
            except serde.DecodeError as exc:
                self.dead_letters.add(m, exc.kind, str(exc), getattr(exc, "tenant_id", None))
                skipped.append({"topic": m.topic(), "partition": m.partition(),
                                "offset": m.offset(), "error_kind": exc.kind,
                                "skipped_at": ch_datetime(datetime.now(UTC))})
        self.dead_letters.flush()
        insert_by_partition(self.store, TABLE, rows)
        insert_by_partition(self.store, SKIPPED, skipped)  # after the rows: see the docstring
        self.positions.advance(fresh)
