"""Postgres state schema (idempotent DDL), tenant isolation by row-level security.

Invariants:
- `ai_conversations.id` is the redacted event's id: a redelivered event upserts onto itself;
- `projection_offsets` holds, per projection and topic-partition, the next offset to read,
  written in the same transaction as the rows it covers;
- readers connect as (or SET ROLE to) `auterity_reader` and see only the rows of the tenant
  named by `SET auterity.tenant_id = '...'` (row-level security; no tenant set = no rows).
"""

from __future__ import annotations

import psycopg

READER_ROLE = "auterity_reader"

DDL = f"""
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE IF NOT EXISTS ai_conversations (
    id              uuid PRIMARY KEY,
    tenant_id       text        NOT NULL,
    user_id         text,
    session_id      text        NOT NULL,
    message_type    text        NOT NULL CHECK (message_type IN ('user', 'assistant', 'system')),
    channel         text        NOT NULL,
    content         text        NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{{}}',
    created_at      timestamptz NOT NULL,
    ingested_at     timestamptz,
    projected_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    source_topic    text        NOT NULL,
    source_partition integer    NOT NULL,
    source_offset   bigint      NOT NULL
);
CREATE INDEX IF NOT EXISTS ai_conversations_tenant_session
    ON ai_conversations (tenant_id, session_id, created_at);

CREATE TABLE IF NOT EXISTS projection_offsets (
    projection  text    NOT NULL,
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, topic, partition)
);

ALTER TABLE ai_conversations ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{READER_ROLE}') THEN
        CREATE ROLE {READER_ROLE} NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies
                   WHERE tablename = 'ai_conversations' AND policyname = 'tenant_isolation') THEN
        CREATE POLICY tenant_isolation ON ai_conversations
            USING (tenant_id = current_setting('auterity.tenant_id', true));
    END IF;
END $$;
GRANT SELECT ON ai_conversations TO {READER_ROLE};
"""

_LOCK_ID = 0x61757465  # serialises concurrent migrations ("aute")


def migrate(conn: psycopg.Connection) -> None:
    """Create or update the schema; safe to run concurrently and repeatedly."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        conn.execute(DDL)
