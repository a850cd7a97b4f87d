"""Redacted conversations -> Postgres `ai_conversations`, offsets in the same transaction.

A batch is COPYed into a temporary table, upserted by event id (`ON CONFLICT DO NOTHING`:
a redelivered event carries the same id and content), and the next offsets per partition are
upserted into `projection_offsets` — all in ONE transaction. A record that does not decode
or whose row Postgres refuses (e.g. a NUL character) goes to the dead-letter topic and the
batch goes on.

`PostgresProjection` is that loop for any Postgres projection (the workflow builder's too,
projections/builder_sink.py); a projection supplies how a record becomes rows and how rows
are stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg
from confluent_kafka import Message, Producer

from projections.postgres_schema import migrate
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde, topics
from schemas.dead_letters import dead_letter
from schemas.events import ConversationMessageRedacted

MESSAGE_TYPE = {"customer": "user", "agent": "assistant", "bot": "assistant", "system": "system"}
COLUMNS = ("id", "tenant_id", "user_id", "session_id", "message_type", "channel", "content",
           "metadata", "created_at", "ingested_at", "source_topic", "source_partition",
           "source_offset")


class Rejected(serde.DecodeError):
    """A record that decodes but must not be stored; dead-lettered with `kind`."""

    def __init__(self, kind: str, message: str, tenant_id: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.tenant_id = tenant_id


class DeadLetterOutbox:
    """Dead letters of one projection step, produced to the DLQ topic.

    Invariant: `flush` returns only once Kafka acknowledged every dead letter, so a caller
    that stores the offsets past a record after `flush` never loses it. The producer acts as
    the projection's principal (which may write the DLQ, not read it).
    """

    def __init__(self, settings: Settings, step: str, producer: Producer | None = None, *,
                 principal: Principal) -> None:
        self.settings = settings
        self.step = step
        self.producer = producer or kafka_clients.producer(settings, principal=principal)
        self.topic = topics.DEAD_LETTERS.name(settings.topic_prefix)

    def add(self, m: Message, kind: str, error: str, tenant_id: str | None = None) -> None:
        topic, partition, offset = kafka_clients.position(m)
        dl = dead_letter(error_kind=kind, error=error, step=self.step, topic=topic,
                         partition=partition, offset=offset, key=m.key(),
                         payload=m.value(), tenant_id=tenant_id,
                         max_payload=self.settings.max_message_bytes)
        self.producer.produce(self.topic, key=topic.encode(), value=serde.encode(dl))

    def flush(self) -> None:
        if self.producer.flush(30) > 0:
            raise RuntimeError("dead letters were not acknowledged by Kafka")


def copy_rows(conn: psycopg.Connection, temp: str, like: str, columns: Sequence[str],
              rows: Iterable[Sequence[Any]]) -> None:
    """COPY `rows` into the session's temporary table `temp`, shaped like table `like` and
    emptied at every commit."""
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {temp} "
                 f"(LIKE {like} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    with conn.cursor().copy(f"COPY {temp} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


class PostgresProjection:
    """A projection into Postgres: rows and next offsets in ONE transaction.

    Subclasses set `name` (the key in `projection_offsets`), `step` (the dead letters'
    step) and, if not `projections`, the Kafka `principal` it reads as; and implement
    `_prepare` (a record -> its rows, or raise serde.DecodeError to dead-letter it) and
    `_apply` (store prepared rows inside the caller's transaction).
    Invariant: the offsets past a batch are stored only with its rows, and only after the
    dead letters of its refused records were acknowledged.
    """

    name: str
    step: str
    principal: Principal = Principal.PROJECTIONS

    def __init__(self, settings: Settings, producer: Producer | None = None) -> None:
        self.settings = settings
        self.conn = psycopg.connect(settings.resolved_database_url(), autocommit=True)
        migrate(self.conn)
        self.dead_letters = DeadLetterOutbox(settings, self.step, producer,
                                             principal=self.principal)

    def stored_offsets(self, topic_names: Sequence[str]) -> dict[tuple[str, int], int]:
        rows = self.conn.execute(
            "SELECT topic, partition, next_offset FROM projection_offsets "
            "WHERE projection = %s AND topic = ANY(%s)", (self.name, list(topic_names))).fetchall()
        return {(t, p): o for t, p, o in rows}

    def _prepare(self, m: Message) -> Any:
        raise NotImplementedError

    def _apply(self, rows: Sequence[Any]) -> None:
        raise NotImplementedError

    def _probe(self, rows: Sequence[Any]) -> None:
        """Raise psycopg.DataError if Postgres refuses `rows` (run in a rolled-back
        transaction)."""
        self._apply(rows)

    def _storable(self, pending: list[tuple[Message, Any]]) -> list[Any]:
        """Rows Postgres accepts; each row it refuses (DataError) goes to the DLQ instead."""
        good = []
        for m, row in pending:
            try:
                with self.conn.transaction(force_rollback=True):
                    self._probe([row])
                good.append(row)
            except psycopg.DataError as exc:
                self.dead_letters.add(m, "unstorable", f"Postgres refused the row: {exc}")
        return good

    def write(self, messages: Sequence[Message]) -> None:
        if self.conn.closed or self.conn.broken:
            self.conn = psycopg.connect(self.settings.resolved_database_url(), autocommit=True)
        pending: list[tuple[Message, Any]] = []
        for m in messages:
            try:
                pending.append((m, self._prepare(m)))
            except serde.DecodeError as exc:
                self.dead_letters.add(m, exc.kind, str(exc), getattr(exc, "tenant_id", None))
        nxt = kafka_clients.next_offsets(messages)
        try:
            self.dead_letters.flush()
            self._commit([row for _, row in pending], nxt)
        except psycopg.DataError:
            good = self._storable(pending)
            self.dead_letters.flush()
            self._commit(good, nxt)

    def _commit(self, rows: Sequence[Any], nxt: dict[tuple[str, int], int]) -> None:
        """Store `rows` and the next offsets in ONE transaction."""
        with self.conn.transaction():
            self._apply(rows)
            with self.conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO projection_offsets (projection, topic, partition, next_offset) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (projection, topic, partition) "
                    "DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()",
                    [(self.name, t, p, o) for (t, p), o in nxt.items()])

    def close(self) -> None:
        self.conn.close()


class PostgresConversationSink(PostgresProjection):
    """Projection `postgres` of conversations.redacted."""

    name = "postgres"
    step = "postgres_projection"

    def _row(self, m: Message, ev: ConversationMessageRedacted) -> tuple:
        counts: dict[str, int] = {}
        for f in ev.entities:
            counts[f.entity_type] = counts.get(f.entity_type, 0) + 1
        metadata = {"source_event_id": ev.source_event_id, "source_system": ev.source_system,
                    "entities": counts, "redaction_ms": ev.redaction_ms}
        return (ev.event_id, ev.tenant_id, ev.user_id, ev.conversation_id,
                MESSAGE_TYPE[ev.sender_role], ev.channel, ev.redacted_text,
                json.dumps(metadata), ev.occurred_at, ev.ingested_at, m.topic(), m.partition(),
                m.offset())

    def _prepare(self, m: Message) -> tuple:
        return self._row(m, serde.decode(m.value(), ConversationMessageRedacted))

    def _copy(self, rows: Sequence[tuple]) -> None:
        copy_rows(self.conn, "_conv_batch", "ai_conversations", COLUMNS, rows)

    _probe = _copy

    def _apply(self, rows: Sequence[tuple]) -> None:
        self._copy(rows)
        self.conn.execute(
            f"INSERT INTO ai_conversations ({', '.join(COLUMNS)}, projected_at) "
            f"SELECT {', '.join(COLUMNS)}, clock_timestamp() FROM _conv_batch "
            "ON CONFLICT (id) DO NOTHING")
