"""Postgres projection: bare psycopg COPY into a plain table vs `PostgresConversationSink.write`
(decode, COPY, upsert, offsets in one transaction).

The rows go to a database created for the run and dropped after it.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from confluent_kafka import Message
from psycopg.conninfo import make_conninfo

from bench.projection_input import BATCH, timed_batches
from bench.table import log, row
from projections.postgres_sink import COLUMNS, PostgresConversationSink
from runtime.postgres import scalar
from runtime.settings import Settings
from schemas import serde
from schemas.events import ConversationMessageRedacted

PLAIN_TABLE_DDL = """
CREATE TABLE conversations_plain (
    id uuid, tenant_id text, user_id text, session_id text, message_type text, channel text,
    content text, metadata jsonb, created_at timestamptz, ingested_at timestamptz,
    source_topic text, source_partition integer, source_offset bigint
)
"""


def postgres_rows(settings: Settings, batches: list[list[Message]]) -> list[dict[str, Any]]:
    n = sum(len(b) for b in batches)
    dbname = f"bench_{uuid.uuid4().hex[:10]}"
    admin_url = settings.resolved_database_url()
    bench_url = make_conninfo(admin_url, dbname=dbname)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    log(f"postgres: {n:,} rows into fresh database {dbname}")
    sink = None
    try:
        sink = PostgresConversationSink(settings.model_copy(update={"database_url": bench_url}))
        row_batches = [[sink._row(m, serde.decode(m.value(), ConversationMessageRedacted))
                        for m in b] for b in batches]
        with psycopg.connect(bench_url, autocommit=True) as conn:
            conn.execute(PLAIN_TABLE_DDL)

            def copy_plain(rows: list[tuple]) -> None:
                with conn.transaction(), conn.cursor().copy(
                        f"COPY conversations_plain ({', '.join(COLUMNS)}) FROM STDIN") as cp:
                    for r in rows:
                        cp.write_row(r)

            base_s = timed_batches(row_batches, copy_plain)
        ours_s = timed_batches(batches, sink.write)
        stored = scalar(sink.conn, "SELECT count(*) FROM ai_conversations")
        if stored != n:
            raise RuntimeError(f"postgres sink stored {stored} of {n} rows")
    finally:
        if sink is not None:
            sink.close()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    return [row(f"Postgres projection ({n:,} rows, batches of {BATCH})",
                "bare psycopg COPY into a plain table", n / base_s, n / ours_s, "rows/s")]
