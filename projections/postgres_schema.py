"""Postgres state schema (idempotent DDL), tenant isolation by row-level security.

Invariants:
- `ai_conversations.id` is the projected event's id: a redelivered event upserts onto itself;
- the workflow builder's tables have the tenant in their primary keys ((tenant_id,
  workflow_id), (tenant_id, workflow_id, version), (tenant_id, interface_id)), so one
  dealership's event can never replace another's row; `generated_workflows` holds the
  highest version seen, `generated_workflow_versions` every version once (the upsert rules
  are in projections/builder_sink.py);
- `projection_offsets` holds, per projection and topic-partition, the next offset to read,
  written in the same transaction as the rows it covers;
- `document_extractions` / `call_analyses` are keyed (tenant_id, document_id / call_id) and
  hold the latest extraction by (created_at, event_id) (projections/media_sink.py); they
  hold redacted text only;
- `restricted_pii_fields` holds the raw PII values media steps extracted, keyed (tenant_id,
  subject_kind, subject_id); `auterity_reader` has NO privilege on it: only
  `auterity_pii_reader` may select, and row-level security keeps it to one tenant too;
- readers connect as (or SET ROLE to) `auterity_reader` and see only the rows of the tenant
  named by `SET auterity.tenant_id = '...'` (row-level security; no tenant set = no rows).
"""

from __future__ import annotations

import psycopg

READER_ROLE = "auterity_reader"
PII_READER_ROLE = "auterity_pii_reader"
# every table a reader may query: row-level security keeps each tenant to its own rows
TENANT_TABLES = ("ai_conversations", "generated_workflows", "generated_workflow_versions",
                 "generated_interfaces", "document_extractions", "call_analyses")
RESTRICTED_TABLES = ("restricted_pii_fields",)

TABLES_DDL = f"""
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

CREATE TABLE IF NOT EXISTS generated_workflows (
    tenant_id           text        NOT NULL,
    workflow_id         text        NOT NULL,
    user_id             text,
    conversation_id     text,
    name                text        NOT NULL,
    description         text        NOT NULL DEFAULT '',
    requirements        jsonb       NOT NULL,
    workflow_definition jsonb       NOT NULL,
    generation_metadata jsonb       NOT NULL DEFAULT '{{}}',
    status              text        NOT NULL,
    version             integer     NOT NULL,
    operation           text        NOT NULL,
    valid               boolean     NOT NULL,
    errors              jsonb       NOT NULL DEFAULT '[]',
    event_id            text        NOT NULL,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    source_topic        text        NOT NULL,
    source_partition    integer     NOT NULL,
    source_offset       bigint      NOT NULL,
    PRIMARY KEY (tenant_id, workflow_id)
);
CREATE INDEX IF NOT EXISTS generated_workflows_tenant_updated
    ON generated_workflows (tenant_id, updated_at);
CREATE INDEX IF NOT EXISTS generated_workflows_tenant_conversation
    ON generated_workflows (tenant_id, conversation_id);

CREATE TABLE IF NOT EXISTS generated_workflow_versions (
    tenant_id        text        NOT NULL,
    workflow_id      text        NOT NULL,
    version          integer     NOT NULL,
    definition       jsonb       NOT NULL,
    diff             jsonb       NOT NULL DEFAULT '[]',
    diagnosis        jsonb       NOT NULL DEFAULT '{{}}',
    operation        text        NOT NULL,
    event_id         text        NOT NULL,
    created_at       timestamptz NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    PRIMARY KEY (tenant_id, workflow_id, version)
);

CREATE TABLE IF NOT EXISTS generated_interfaces (
    tenant_id            text        NOT NULL,
    interface_id         text        NOT NULL,
    workflow_id          text        NOT NULL,
    workflow_version     integer     NOT NULL,
    interface_definition jsonb       NOT NULL,
    component_metadata   jsonb       NOT NULL DEFAULT '{{}}',
    event_id             text        NOT NULL,
    created_at           timestamptz NOT NULL,
    source_topic         text        NOT NULL,
    source_partition     integer     NOT NULL,
    source_offset        bigint      NOT NULL,
    PRIMARY KEY (tenant_id, interface_id)
);
CREATE INDEX IF NOT EXISTS generated_interfaces_tenant_workflow
    ON generated_interfaces (tenant_id, workflow_id, workflow_version);

CREATE TABLE IF NOT EXISTS document_extractions (
    tenant_id        text        NOT NULL,
    document_id      text        NOT NULL,
    event_id         text        NOT NULL,
    source_event_id  text        NOT NULL,
    document_kind    text,
    redacted_text    text        NOT NULL,
    confidence       double precision NOT NULL,
    pages            integer     NOT NULL,
    word_count       integer     NOT NULL,
    fields           jsonb       NOT NULL DEFAULT '{{}}',
    blocks           jsonb       NOT NULL DEFAULT '[]',
    corrections      jsonb       NOT NULL DEFAULT '[]',
    pii_fields       jsonb       NOT NULL DEFAULT '[]',
    processing_ms    double precision NOT NULL,
    created_at       timestamptz NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    PRIMARY KEY (tenant_id, document_id)
);

CREATE TABLE IF NOT EXISTS call_analyses (
    tenant_id        text        NOT NULL,
    call_id          text        NOT NULL,
    event_id         text        NOT NULL,
    source_event_id  text        NOT NULL,
    redacted_transcript text     NOT NULL,
    language         text        NOT NULL,
    duration_s       double precision NOT NULL,
    segments         jsonb       NOT NULL DEFAULT '[]',
    speakers         jsonb       NOT NULL DEFAULT '[]',
    sentiment        double precision,
    sentiment_label  text        NOT NULL DEFAULT '',
    summary          text        NOT NULL DEFAULT '',
    action_items     jsonb       NOT NULL DEFAULT '[]',
    score            jsonb       NOT NULL DEFAULT '{{}}',
    stress           jsonb       NOT NULL DEFAULT '{{}}',
    processing_ms    double precision NOT NULL,
    created_at       timestamptz NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    PRIMARY KEY (tenant_id, call_id)
);

CREATE TABLE IF NOT EXISTS restricted_pii_fields (
    tenant_id        text        NOT NULL,
    subject_kind     text        NOT NULL CHECK (subject_kind IN ('document', 'call')),
    subject_id       text        NOT NULL,
    fields           jsonb       NOT NULL,
    event_id         text        NOT NULL,
    source_event_id  text        NOT NULL,
    created_at       timestamptz NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    PRIMARY KEY (tenant_id, subject_kind, subject_id)
);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{READER_ROLE}') THEN
        CREATE ROLE {READER_ROLE} NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{PII_READER_ROLE}') THEN
        CREATE ROLE {PII_READER_ROLE} NOLOGIN;
    END IF;
END $$;
"""

TENANT_ISOLATION = """
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_policies
                   WHERE tablename = '{table}' AND policyname = 'tenant_isolation') THEN
        CREATE POLICY tenant_isolation ON {table}
            USING (tenant_id = current_setting('auterity.tenant_id', true));
    END IF;
END $$;
GRANT SELECT ON {table} TO {reader};
"""

DDL = (TABLES_DDL
       + "".join(TENANT_ISOLATION.format(table=t, reader=READER_ROLE) for t in TENANT_TABLES)
       + "".join(TENANT_ISOLATION.format(table=t, reader=PII_READER_ROLE)
                 + f"REVOKE ALL ON {t} FROM {READER_ROLE};\n" for t in RESTRICTED_TABLES))

_LOCK_ID = 0x61757465  # serialises concurrent migrations ("aute")


def migrate(conn: psycopg.Connection) -> None:
    """Create or update the schema; safe to run concurrently and repeatedly."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        conn.execute(DDL)
