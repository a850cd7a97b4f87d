"""Redacted conversations -> Postgres `ai_conversations`, offsets in the same transaction.

A batch is COPYed into a temporary table, upserted by event id (`ON CONFLICT DO NOTHING`:
a redelivered event carries the same id and content), and the next offsets per partition are
upserted into `projection_offsets` — all in ONE transaction. A record that does not decode
or whose row Postgres refuses (e.g. a NUL character) goes to the dead-letter topic and the
batch goes on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import psycopg
from confluent_kafka import Message, Producer

from projections.postgres_schema import migrate
from schemas import serde
from schemas.events import ConversationMessageRedacted
from streams import topics
from streams.dlq import dead_letter
from streams.settings import Settings

MESSAGE_TYPE = {"customer": "user", "agent": "assistant", "bot": "assistant", "system": "system"}
COLUMNS = ("id", "tenant_id", "user_id", "session_id", "message_type", "channel", "content",
           "metadata", "created_at", "ingested_at", "source_topic", "source_partition",
           "source_offset")


class PostgresConversationSink:
    """Projection `postgres` of conversations.redacted."""

    name = "postgres"

    def __init__(self, settings: Settings, producer: Producer | None = None) -> None:
        self.settings = settings
        self.conn = psycopg.connect(settings.resolved_database_url(), autocommit=True)
        migrate(self.conn)
        self.producer = producer or Producer({"bootstrap.servers": settings.kafka_servers,
                                              "acks": "all", "enable.idempotence": True})
        self.dlq_topic = topics.DEAD_LETTERS.name(settings)

    def stored_offsets(self, topic_names: Sequence[str]) -> dict[tuple[str, int], int]:
        rows = self.conn.execute(
            "SELECT topic, partition, next_offset FROM projection_offsets "
            "WHERE projection = %s AND topic = ANY(%s)", (self.name, list(topic_names))).fetchall()
        return {(t, p): o for t, p, o in rows}

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

    def _dead_letter(self, m: Message, kind: str, error: str) -> None:
        dl = dead_letter(error_kind=kind, error=error, step="postgres_projection",
                         topic=m.topic(), partition=m.partition(), offset=m.offset(),
                         key=m.key(), payload=m.value(),
                         max_payload=self.settings.max_message_bytes)
        self.producer.produce(self.dlq_topic, key=m.topic().encode(), value=serde.encode(dl))

    def _copy(self, rows: Sequence[tuple]) -> None:
        self.conn.execute(
            "CREATE TEMP TABLE IF NOT EXISTS _conv_batch "
            "(LIKE ai_conversations INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
        with self.conn.cursor().copy(f"COPY _conv_batch ({', '.join(COLUMNS)}) FROM STDIN") as cp:
            for row in rows:
                cp.write_row(row)

    def _storable(self, rows: list[tuple[Message, tuple]]) -> list[tuple]:
        """Rows Postgres accepts; each row it refuses (DataError) goes to the DLQ instead."""
        good = []
        for m, row in rows:
            try:
                with self.conn.transaction(force_rollback=True):
                    self._copy([row])
                good.append(row)
            except psycopg.DataError as exc:
                self._dead_letter(m, "unstorable", f"Postgres refused the row: {exc}")
        return good

    def write(self, messages: Sequence[Message]) -> None:
        if self.conn.closed or self.conn.broken:
            self.conn = psycopg.connect(self.settings.resolved_database_url(), autocommit=True)
        pending: list[tuple[Message, tuple]] = []
        for m in messages:
            try:
                pending.append((m, self._row(m, serde.decode(m.value(),
                                                             ConversationMessageRedacted))))
            except serde.DecodeError as exc:
                self._dead_letter(m, exc.kind, str(exc))
        nxt: dict[tuple[str, int], int] = {}
        for m in messages:
            nxt[(m.topic(), m.partition())] = m.offset() + 1
        try:
            self._flush_dead_letters()
            self._commit([row for _, row in pending], nxt)
        except psycopg.DataError:
            good = self._storable(pending)
            self._flush_dead_letters()
            self._commit(good, nxt)

    def _flush_dead_letters(self) -> None:
        """Dead letters are acked by Kafka BEFORE the offsets past them are committed."""
        if self.producer.flush(30) > 0:
            raise RuntimeError("dead letters were not acknowledged by Kafka")

    def _commit(self, rows: Sequence[tuple], nxt: dict[tuple[str, int], int]) -> None:
        """Upsert `rows` and store the next offsets in ONE transaction."""
        with self.conn.transaction():
            self._copy(rows)
            self.conn.execute(
                f"INSERT INTO ai_conversations ({', '.join(COLUMNS)}, projected_at) "
                f"SELECT {', '.join(COLUMNS)}, clock_timestamp() FROM _conv_batch "
                "ON CONFLICT (id) DO NOTHING")
            with self.conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO projection_offsets (projection, topic, partition, next_offset) "
                    "VALUES (%s, %s, %s, %s) ON CONFLICT (projection, topic, partition) "
                    "DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()",
                    [(self.name, t, p, o) for (t, p), o in nxt.items()])

    def close(self) -> None:
        self.conn.close()
