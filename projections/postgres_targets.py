"""Projections that dispatch each record by its event type to rows of several tables.

A `TargetedProjection` reads a set of topics, each carrying one event type (the catalog's
`model`); `handlers` turn an event into (Target, row) pairs, and each batch's rows are
COPYed into a per-table temporary table, then moved into the table by the target's
`upsert` statement — inside the transaction that also stores the offsets
(PostgresProjection). A record that does not decode, or decodes to another type than its
topic carries, is dead-lettered.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from confluent_kafka import Message, Producer

from projections.postgres_sink import PostgresProjection, Rejected, copy_rows
from runtime import kafka_clients
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import Event

SOURCE = ("source_topic", "source_partition", "source_offset")


@dataclass(frozen=True)
class Target:
    """A table a projection writes: a batch's rows are COPYed into `temp`, then `upsert`
    moves them into `table`."""

    table: str
    columns: tuple[str, ...]
    upsert: str

    @property
    def temp(self) -> str:
        return temp_table(self.table)


Rows = list[tuple[Target, tuple]]


def temp_table(table: str) -> str:
    return f"_batch_{table}"


def insert_one_per_key(table: str, columns: tuple[str, ...], key: str, order: str) -> str:
    """INSERT of one row per `key` of the batch (the first by `order`) into `table`."""
    cols = ", ".join(columns)
    return (f"INSERT INTO {table} AS cur ({cols}) SELECT DISTINCT ON ({key}) {cols} "
            f"FROM {temp_table(table)} ORDER BY {key}, {order} ON CONFLICT ({key}) ")


def update_all_but(columns: tuple[str, ...], keep: tuple[str, ...]) -> str:
    return "DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in columns if c not in keep)


def latest_wins(table: str, columns: tuple[str, ...], key: str) -> str:
    """Upsert keeping, per `key`, the greatest row by (created_at, event_id) whatever the
    order events arrive in (a redelivery or an older event is a no-op)."""
    return (insert_one_per_key(table, columns, key, "created_at DESC, event_id DESC")
            + update_all_but(columns, keep=tuple(k.strip() for k in key.split(",")))
            + " WHERE (EXCLUDED.created_at, EXCLUDED.event_id)"
            " > (cur.created_at, cur.event_id)")


def json_field(ev: Event, field: str) -> str:
    """The JSON text of string field `field`, refused (dead-lettered) if it is not JSON."""
    text = getattr(ev, field)
    try:
        json.loads(text)
    except ValueError as exc:
        raise Rejected("schema_invalid", f"{type(ev).__name__}.{field} is not JSON: {exc}",
                       ev.tenant_id) from exc
    return text


def source_of(m: Message) -> tuple[str, int, int]:
    """(topic, partition, offset) stored with each row (its source position)."""
    return kafka_clients.position(m)


class TargetedProjection(PostgresProjection):
    """Subclasses set `specs` (the topics read), `handlers` (event type -> rows) and
    `targets` (the tables, in the order they are written)."""

    specs: ClassVar[tuple[topics.TopicSpec, ...]]
    handlers: ClassVar[dict[type[Event], Callable[[Message, Any], Rows]]]
    targets: ClassVar[tuple[Target, ...]]

    def __init__(self, settings: Settings, producer: Producer | None = None) -> None:
        super().__init__(settings, producer)
        self.models = {spec.name(settings.topic_prefix): spec.model for spec in self.specs}

    def topic_names(self) -> list[str]:
        """The topics this projection reads."""
        return list(self.models)

    def _prepare(self, m: Message) -> Rows:
        ev = serde.decode_any(m.value())
        expected = self.models.get(source_of(m)[0])
        if expected is None or not isinstance(ev, expected):
            raise serde.WrongSchema(f"{m.topic()} carries {getattr(expected, '__name__', '?')}"
                                    f", got {type(ev).__name__}")
        return self.handlers[expected](m, ev)

    def _apply(self, rows: Sequence[Rows]) -> None:
        by_target: dict[Target, list[tuple]] = defaultdict(list)
        for record_rows in rows:
            for target, row in record_rows:
                by_target[target].append(row)
        for target in self.targets:
            if by_target[target]:
                copy_rows(self.conn, target.temp, target.table, target.columns,
                          by_target[target])
                self.conn.execute(target.upsert)
