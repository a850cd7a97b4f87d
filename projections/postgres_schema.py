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
- `ai_agents` (deployment-wide, no tenant: readers have no privilege on it) holds one row per
  AI agent, its capabilities as JSON, with the view `agent_capabilities` as the capability
  index; `agent_tasks` holds one row per (tenant_id, task_id): the latest AI agent task
  result (projections/agent_sink.py), and the view `agent_performance` its rollup per
  agent, task type, tenant and day (invoker's rights: RLS applies); `agent_memory` holds
  the AI agents' long-term memories, embedded (pgvector, HNSW; projections/agent_memory.py);
  `agent_deliveries` the delivery connector's ledger (one row per delivery id: status,
  attempts, provider; never an address); `delivery_results` and `delivery_outcomes` what
  became of each delivery and what its customer did, and the view `agent_learned_patterns`
  what the agents learn from them (per campaign and message variant); `crm_tasks` and
  `crm_customer_updates` (view `crm_customer_fields`) the CRM changes of the create_task /
  update_crm agents; `workflow_run_events` the workflow runs' histories, and the views
  `workflow_runs` and `workflow_step_runs` their state, folded when read;
- `restricted_pii_fields` holds the raw PII values media steps extracted and the CRM's
  customer contacts (subject_kind `customer`: deliveries take addresses from here), keyed
  (tenant_id, subject_kind, subject_id); `auterity_reader` has NO privilege on it: only
  `auterity_pii_reader` may select, and row-level security keeps it to one tenant too.

Tenant isolation (a reader runs any SQL it likes; it still cannot choose its tenant):
- a reader is a per-tenant LOGIN role with a password (projections/tenant_readers.py, `auterity
  tenants add-reader`), a member of the NOLOGIN group `auterity_reader` (SELECT on
  TENANT_TABLES) or `auterity_pii_reader` (SELECT on RESTRICTED_TABLES), inheriting its
  grants but unable to SET ROLE to the group;
- `tenant_readers` maps a login role (by oid) to its tenant; no role but the owner has any
  privilege on it (and row-level security without a policy denies even a stray grant);
- every reader-visible table has ONE policy, keeping `tenant_id` to the value of
  `auterity_current_tenant()` (TENANT_POLICY says why it has the shape it has): a
  SECURITY DEFINER function without arguments, with a fixed search_path, returning the
  tenant of `session_user` (the authenticated login: SET ROLE does not change it, and only a
  superuser may SET SESSION AUTHORIZATION), NULL (no rows) for a role it does not map. There
  is no setting a session can change to pick another tenant (the old `auterity.tenant_id`
  setting is gone);
- readers create nothing: no CREATE on the schema, no TEMPORARY on the database (so no
  functions, views or tables of their own, not even in pg_temp);
- the reader-visible tables keep no column statistics (`SET STATISTICS 0`): the planner's
  estimates cannot be turned into an oracle for another tenant's values (PostgreSQL lets a
  leakproof operator such as text `=` or `<` use the statistics of an RLS table);
- the owner (the projections) bypasses row-level security as the tables' owner.
"""

from __future__ import annotations

import hashlib
import time

import psycopg

READER_ROLE = "auterity_reader"
PII_READER_ROLE = "auterity_pii_reader"
# the SECURITY DEFINER function every tenant policy calls: the tenant of the login
CURRENT_TENANT_FN = "auterity_current_tenant"
# every table a reader may query: row-level security keeps each tenant to its own rows
TENANT_TABLES = ("ai_conversations", "generated_workflows", "generated_workflow_versions",
                 "generated_interfaces", "document_extractions", "call_analyses",
                 "agent_tasks", "agent_memory", "agent_deliveries", "delivery_results",
                 "delivery_outcomes", "crm_tasks", "crm_customer_updates",
                 "workflow_run_events")
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

CREATE TABLE IF NOT EXISTS ai_agents (
    agent_id         text        PRIMARY KEY,
    agent_type       text        NOT NULL,
    description      text        NOT NULL DEFAULT '',
    capabilities     jsonb       NOT NULL DEFAULT '[]',
    status           text        NOT NULL CHECK (status IN ('active', 'retired')),
    event_id         text        NOT NULL,
    created_at       timestamptz NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL
);
CREATE INDEX IF NOT EXISTS ai_agents_capabilities ON ai_agents
    USING gin (capabilities jsonb_path_ops);
CREATE OR REPLACE VIEW agent_capabilities AS
    SELECT a.agent_id, c->>'task_type' AS task_type, c->>'description' AS description,
           (c->>'cost_per_operation_usd')::double precision AS cost_per_operation_usd,
           c->'input_schema' AS input_schema, c->'output_schema' AS output_schema, a.status
    FROM ai_agents a, jsonb_array_elements(a.capabilities) c;
REVOKE ALL ON ai_agents, agent_capabilities FROM PUBLIC;

CREATE TABLE IF NOT EXISTS agent_tasks (
    tenant_id        text        NOT NULL,
    task_id          text        NOT NULL,
    event_id         text        NOT NULL,
    agent_id         text,
    agent_type       text        NOT NULL,
    task_type        text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('completed', 'failed')),
    output           jsonb       NOT NULL DEFAULT '{{}}',
    confidence       double precision,
    execution_ms     double precision NOT NULL,
    cost_usd         double precision NOT NULL DEFAULT 0,
    attempts         integer     NOT NULL,
    selection_reason text,
    error            text,
    output_redactions jsonb      NOT NULL DEFAULT '{{}}',
    created_at       timestamptz NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    PRIMARY KEY (tenant_id, task_id)
);
CREATE INDEX IF NOT EXISTS agent_tasks_by_agent ON agent_tasks (tenant_id, agent_id, task_type);
CREATE INDEX IF NOT EXISTS agent_tasks_agent ON agent_tasks (agent_id, task_type, created_at);
-- the spec's agent_performance, per agent, task type, dealership and UTC day; a view of
-- agent_tasks (so it is rebuilt with it), with the invoker's rights: row-level security of
-- agent_tasks applies to whoever reads it
CREATE OR REPLACE VIEW agent_performance WITH (security_invoker = true) AS
    SELECT agent_id, task_type, tenant_id,
           (date_trunc('day', created_at AT TIME ZONE 'UTC'))::date AS day,
           count(*) AS executions,
           avg((status = 'completed')::int)::double precision AS success_rate,
           avg(execution_ms) AS avg_execution_ms,
           avg(confidence) AS avg_confidence,
           sum(cost_usd) AS cost_usd,
           avg(attempts)::double precision AS avg_attempts
    FROM agent_tasks WHERE agent_id IS NOT NULL
    GROUP BY agent_id, task_type, tenant_id, day;
REVOKE ALL ON agent_performance FROM PUBLIC;

-- AI agents' long-term memory (projections/agent_memory.py): one row per remembered task,
-- its text embedded by MiniLM (384-d, unit norm) under an HNSW index for cosine distance
CREATE TABLE IF NOT EXISTS agent_memory (
    tenant_id        text        NOT NULL,
    memory_id        text        NOT NULL,
    memory_type      text        NOT NULL CHECK (memory_type IN ('task', 'failure', 'feedback')),
    agent_id         text        NOT NULL,
    task_type        text        NOT NULL,
    task_id          text,
    content          text        NOT NULL,
    success          boolean     NOT NULL,
    confidence       double precision,
    embedding        vector(384) NOT NULL,
    event_id         text        NOT NULL,
    created_at       timestamptz NOT NULL,
    expires_at       timestamptz NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    PRIMARY KEY (tenant_id, memory_id)
);
CREATE INDEX IF NOT EXISTS agent_memory_embedding ON agent_memory
    USING hnsw (embedding vector_cosine_ops);
CREATE INDEX IF NOT EXISTS agent_memory_recent ON agent_memory
    (tenant_id, agent_id, created_at DESC);
-- the delivery connector's ledger (connectors/delivery/ledger.py): one row per delivery id,
-- claimed before sending and finished after, so a redelivered outbox record is sent once
CREATE TABLE IF NOT EXISTS agent_deliveries (
    tenant_id        text        NOT NULL,
    delivery_id      text        NOT NULL,
    task_id          text        NOT NULL,
    channel          text        NOT NULL CHECK (channel IN ('email', 'sms')),
    customer_ref     text        NOT NULL,
    variant          text,
    status           text        NOT NULL
                     CHECK (status IN ('sending', 'sent', 'failed', 'unknown')),
    attempts         integer     NOT NULL DEFAULT 0,
    provider         text        NOT NULL DEFAULT '',
    provider_message_id text,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, delivery_id)
);

-- the CRM changes the action agents create_task / update_crm made (their completed results,
-- projections/agent_sink.py): one CRM task per agent task, one update per agent task, and
-- the view of each customer field's latest value
CREATE TABLE IF NOT EXISTS crm_tasks (
    tenant_id        text        NOT NULL,
    crm_task_id      text        NOT NULL,
    task_id          text        NOT NULL,
    customer_ref     text,
    title            text        NOT NULL,
    description      text        NOT NULL,
    priority         text        NOT NULL CHECK (priority IN ('low', 'normal', 'high')),
    assignee         text,
    due_at           timestamptz NOT NULL,
    status           text        NOT NULL DEFAULT 'open',
    event_id         text        NOT NULL,
    created_at       timestamptz NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    PRIMARY KEY (tenant_id, crm_task_id)
);
CREATE INDEX IF NOT EXISTS crm_tasks_due ON crm_tasks (tenant_id, status, due_at);
CREATE TABLE IF NOT EXISTS crm_customer_updates (
    tenant_id        text        NOT NULL,
    task_id          text        NOT NULL,
    customer_ref     text        NOT NULL,
    fields           jsonb       NOT NULL,
    event_id         text        NOT NULL,
    created_at       timestamptz NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    PRIMARY KEY (tenant_id, task_id)
);
CREATE INDEX IF NOT EXISTS crm_customer_updates_customer
    ON crm_customer_updates (tenant_id, customer_ref, created_at);
CREATE OR REPLACE VIEW crm_customer_fields WITH (security_invoker = true) AS
    SELECT DISTINCT ON (u.tenant_id, u.customer_ref, f.key)
           u.tenant_id, u.customer_ref, f.key AS field, f.value, u.created_at AS updated_at,
           u.task_id
    FROM crm_customer_updates u, jsonb_each(u.fields) f
    ORDER BY u.tenant_id, u.customer_ref, f.key, u.created_at DESC, u.event_id DESC;
REVOKE ALL ON crm_customer_fields FROM PUBLIC;

-- what became of each delivery (deliveries.completed) and what customers did with it
-- (deliveries.outcomes): facts keyed by their natural keys, so a redelivered event counts
-- once and the order of the two topics does not matter (projections/delivery_outcomes_sink.py)
CREATE TABLE IF NOT EXISTS delivery_results (
    tenant_id        text        NOT NULL,
    delivery_id      text        NOT NULL,
    task_id          text        NOT NULL,
    channel          text        NOT NULL,
    customer_ref     text        NOT NULL,
    campaign_id      text,
    variant          text,
    status           text        NOT NULL,
    event_id         text        NOT NULL,
    created_at       timestamptz NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    PRIMARY KEY (tenant_id, delivery_id)
);
CREATE INDEX IF NOT EXISTS delivery_results_campaign
    ON delivery_results (tenant_id, campaign_id, variant);
CREATE INDEX IF NOT EXISTS delivery_results_customer
    ON delivery_results (tenant_id, customer_ref, channel);
CREATE TABLE IF NOT EXISTS delivery_outcomes (
    tenant_id        text        NOT NULL,
    delivery_id      text        NOT NULL,
    outcome          text        NOT NULL
                     CHECK (outcome IN ('replied', 'booked', 'unsubscribed', 'bounced')),
    event_id         text        NOT NULL,
    created_at       timestamptz NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    PRIMARY KEY (tenant_id, delivery_id, outcome)
);
-- the learned pattern `message_variant`: per campaign and variant, how many messages were
-- sent and what their customers did (engaged = replied or booked, once per message); the
-- campaign agent shares its audience by it (processors/ai_agents/campaign.py)
CREATE OR REPLACE VIEW agent_learned_patterns WITH (security_invoker = true) AS
    SELECT r.tenant_id, 'message_variant'::text AS pattern, r.campaign_id, r.variant,
           r.channel,
           count(*) FILTER (WHERE r.status = 'sent') AS sent,
           count(*) FILTER (WHERE r.status = 'sent' AND (o.replied OR o.booked)) AS engaged,
           count(*) FILTER (WHERE o.replied) AS replied,
           count(*) FILTER (WHERE o.booked) AS booked,
           count(*) FILTER (WHERE o.unsubscribed) AS unsubscribed,
           count(*) FILTER (WHERE o.bounced) AS bounced,
           max(greatest(r.created_at, o.last_at)) AS updated_at
    FROM delivery_results r
    LEFT JOIN (SELECT tenant_id, delivery_id,
                      bool_or(outcome = 'replied') AS replied,
                      bool_or(outcome = 'booked') AS booked,
                      bool_or(outcome = 'unsubscribed') AS unsubscribed,
                      bool_or(outcome = 'bounced') AS bounced,
                      max(created_at) AS last_at
               FROM delivery_outcomes GROUP BY tenant_id, delivery_id) o
           USING (tenant_id, delivery_id)
    WHERE r.campaign_id IS NOT NULL AND r.variant IS NOT NULL
    GROUP BY r.tenant_id, r.campaign_id, r.variant, r.channel;
REVOKE ALL ON agent_learned_patterns FROM PUBLIC;

-- no index on expires_at: the planner took it for recall (a bitmap over every live row)
-- instead of the HNSW index; the hourly purge scans the table
DROP INDEX IF EXISTS agent_memory_expiry;

-- workflow runs (processors/workflows/runs.py): the history, one row per event (a
-- redelivered event is the same row), and the state as views folding it, so the tables
-- the interfaces show (`workflow_runs`, `workflow_step_runs`) are always the fold of the log
CREATE TABLE IF NOT EXISTS workflow_run_events (
    tenant_id        text        NOT NULL,
    event_id         text        NOT NULL,
    run_id           text        NOT NULL,
    workflow_id      text        NOT NULL,
    workflow_version integer     NOT NULL,
    kind             text        NOT NULL,
    step_id          text,
    attempt          integer     NOT NULL,
    customer_ref     text,
    task_id          text,
    due_at           timestamptz,
    error            text,
    reason           text,
    output           jsonb       NOT NULL,
    created_at       timestamptz NOT NULL,
    source_topic     text        NOT NULL,
    source_partition integer     NOT NULL,
    source_offset    bigint      NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX IF NOT EXISTS workflow_run_events_run
    ON workflow_run_events (tenant_id, run_id, created_at);
CREATE OR REPLACE VIEW workflow_runs WITH (security_invoker = true) AS
    SELECT e.tenant_id, e.run_id, min(e.workflow_id) AS workflow_id,
           min(e.workflow_version) AS workflow_version, min(e.customer_ref) AS customer,
           min(e.created_at) FILTER (WHERE e.kind = 'run_started') AS started_at,
           coalesce((array_agg(replace(e.kind, 'run_', '') ORDER BY e.created_at DESC,
                               e.source_offset DESC)
                     FILTER (WHERE e.kind IN ('run_completed', 'run_failed',
                                              'run_cancelled')))[1], 'running') AS status,
           max(e.created_at) FILTER (WHERE e.kind IN ('run_completed', 'run_failed',
                                                      'run_cancelled')) AS finished_at,
           (array_agg(e.step_id ORDER BY e.created_at DESC, e.source_offset DESC)
                FILTER (WHERE e.kind IN ('step_scheduled', 'timer_set')))[1] AS current_step,
           (array_agg(coalesce(e.error, e.reason) ORDER BY e.created_at DESC,
                      e.source_offset DESC)
                FILTER (WHERE e.kind IN ('step_failed', 'run_failed')))[1] AS last_error,
           count(*) FILTER (WHERE e.kind = 'step_scheduled') AS tasks
    FROM workflow_run_events e
    GROUP BY e.tenant_id, e.run_id;
REVOKE ALL ON workflow_runs FROM PUBLIC;
CREATE OR REPLACE VIEW workflow_step_runs WITH (security_invoker = true) AS
    SELECT e.tenant_id, e.run_id, e.step_id, min(e.workflow_id) AS workflow_id,
           (array_agg(CASE e.kind WHEN 'step_scheduled' THEN 'running'
                                  WHEN 'timer_set' THEN 'waiting'
                                  ELSE replace(e.kind, 'step_', '') END
                      ORDER BY e.created_at DESC, e.source_offset DESC))[1] AS status,
           max(e.attempt) AS attempts,
           min(e.created_at) AS started_at,
           max(e.created_at) FILTER (WHERE e.kind IN ('step_completed', 'step_failed',
                                                      'step_skipped', 'step_cancelled'))
               AS finished_at,
           (array_agg(e.task_id ORDER BY e.created_at DESC) FILTER (
                WHERE e.task_id IS NOT NULL))[1] AS task_id,
           (array_agg(coalesce(e.error, e.reason) ORDER BY e.created_at DESC) FILTER (
                WHERE e.kind IN ('step_failed', 'step_cancelled', 'step_skipped',
                                 'timer_set') AND coalesce(e.error, e.reason) IS NOT NULL))[1]
               AS last_error
    FROM workflow_run_events e
    WHERE e.step_id IS NOT NULL
    GROUP BY e.tenant_id, e.run_id, e.step_id;
REVOKE ALL ON workflow_step_runs FROM PUBLIC;

CREATE TABLE IF NOT EXISTS restricted_pii_fields (
    tenant_id        text        NOT NULL,
    subject_kind     text        NOT NULL CHECK (subject_kind IN ('document', 'call', 'customer')),
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
-- CRM customer contacts (issue 11) joined documents and calls: widen an older CHECK once
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'restricted_pii_fields_subject_kind_check'
                     AND pg_get_constraintdef(oid) LIKE '%customer%') THEN
        ALTER TABLE restricted_pii_fields
            DROP CONSTRAINT IF EXISTS restricted_pii_fields_subject_kind_check;
        ALTER TABLE restricted_pii_fields ADD CONSTRAINT restricted_pii_fields_subject_kind_check
            CHECK (subject_kind IN ('document', 'call', 'customer'));
    END IF;
END $$;

CREATE TABLE IF NOT EXISTS tenant_readers (
    role_oid   oid         PRIMARY KEY,
    role_name  name        NOT NULL,
    tenant_id  text        NOT NULL CHECK (tenant_id <> ''),
    kind       text        NOT NULL CHECK (kind IN ('reader', 'pii_reader')),
    created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON tenant_readers FROM PUBLIC;
ALTER TABLE tenant_readers ENABLE ROW LEVEL SECURITY;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{READER_ROLE}') THEN
        CREATE ROLE {READER_ROLE} NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{PII_READER_ROLE}') THEN
        CREATE ROLE {PII_READER_ROLE} NOLOGIN;
    END IF;
    -- readers create nothing: no functions, views or tables, not even temporary ones
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', current_schema());
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO %I', current_database(), current_user);
    -- the tenant of the authenticated login; NULL (no rows) for any role it does not map
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION {CURRENT_TENANT_FN}() RETURNS text
            LANGUAGE sql STABLE SECURITY DEFINER PARALLEL SAFE
            SET search_path = pg_catalog, pg_temp
        AS $body$ SELECT t.tenant_id FROM %I.tenant_readers t WHERE t.role_oid =
                  pg_catalog.to_regrole(pg_catalog.quote_ident(session_user))::oid $body$
        $f$, current_schema());
END $$;
REVOKE ALL ON FUNCTION {CURRENT_TENANT_FN}() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {CURRENT_TENANT_FN}() TO {READER_ROLE}, {PII_READER_ROLE};
"""

# The policy every reader-visible table has (named for what it does; a policy of any other name
# or command on these tables, such as the former `tenant_isolation` keyed by the client-set
# `auterity.tenant_id` setting, is dropped by `migrate`). Why this shape:
# - `(SELECT fn())` is an InitPlan: the login's tenant is looked up once per query, and every
#   tenant index (they all lead with tenant_id) can use the bounds, so a plain call per row
#   (about 5 us each in a sequential scan) is avoided;
# - the policy's quals must be the FIRST a scan evaluates on every row. PostgreSQL lets a
#   reader's cheap leakproof quals (text `=`, `<`, `>=`) run before a policy's when they cost
#   less, and (PostgreSQL 18, measured) orders an equality that joins an equivalence class,
#   `tenant_id = (SELECT fn())`, after a reader's range quals of equal cost. An InitPlan
#   runs when first needed, so EXPLAIN ANALYZE
#   showing it "never executed" would tell the reader that NO row of ANY tenant matched its
#   predicate: an oracle for other tenants' values, one range at a time. Two range quals of
#   one operator each are not an equivalence class and cost what any reader qual costs at
#   least, so they stay first (a qual of cost zero, `col IS NULL` or a bare boolean column,
#   can still go ahead: README "What it does not cover");
# - `>=` and `<=` together are `=` under the deterministic default collation.
POLICY_NAME = "tenant_of_login"
TENANT_POLICY = (f"tenant_id >= (SELECT {CURRENT_TENANT_FN}()) "
                 f"AND tenant_id <= (SELECT {CURRENT_TENANT_FN}())")

TENANT_ISOLATION = """
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    -- one policy, for SELECT, keyed by the login; any other (such as the former one keyed
    -- by the client-set auterity.tenant_id setting) is dropped
    IF EXISTS (SELECT 1 FROM pg_policies
               WHERE schemaname = current_schema() AND tablename = '{table}'
                 AND (policyname <> '{policy_name}' OR cmd <> 'SELECT')) THEN
        EXECUTE (SELECT string_agg(format('DROP POLICY %I ON {table}', policyname), '; ')
                 FROM pg_policies
                 WHERE schemaname = current_schema() AND tablename = '{table}');
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_policies
                   WHERE schemaname = current_schema() AND tablename = '{table}') THEN
        CREATE POLICY {policy_name} ON {table} FOR SELECT USING ({policy});
    END IF;
END $$;
DO $$
DECLARE col name;
BEGIN
    -- no column statistics: the planner's estimates must not reveal other tenants' values
    FOR col IN SELECT attname FROM pg_attribute
               WHERE attrelid = '{table}'::regclass AND attnum > 0 AND NOT attisdropped
                 AND attstattarget IS DISTINCT FROM 0 LOOP
        EXECUTE format('ALTER TABLE {table} ALTER COLUMN %I SET STATISTICS 0', col);
        IF to_regproc('pg_clear_attribute_stats') IS NOT NULL THEN  -- PostgreSQL 18+
            EXECUTE format('SELECT pg_clear_attribute_stats(%L, %L, %L, false)',
                           current_schema(), '{table}', col);
        ELSIF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            DELETE FROM pg_statistic WHERE starelid = '{table}'::regclass;
        END IF;
    END LOOP;
END $$;
REVOKE ALL ON {table} FROM PUBLIC;
GRANT SELECT ON {table} TO {reader};
"""

DDL = (TABLES_DDL
       + "".join(TENANT_ISOLATION.format(table=t, reader=READER_ROLE,
                                         policy=TENANT_POLICY, policy_name=POLICY_NAME)
         for t in TENANT_TABLES)
       + "".join(TENANT_ISOLATION.format(table=t, reader=PII_READER_ROLE,
                                         policy=TENANT_POLICY, policy_name=POLICY_NAME)
                 + f"REVOKE ALL ON {t} FROM {READER_ROLE};\n" for t in RESTRICTED_TABLES))

_LOCK_ID = 0x61757465  # serialises concurrent migrations ("aute")
#: the schema a database holds is this DDL's digest, recorded in `schema_migrations`
DDL_SHA256 = hashlib.sha256(DDL.encode()).hexdigest()


#: the guarantees checked on every connect (cheap: one catalog query): each reader-visible
#: table has row-level security, exactly one policy (ours, for SELECT), no column statistics
#: and no grant to PUBLIC; a table that drifted (an operator's ALTER) makes migrate run the
#: DDL again, which restores all of it
_ISOLATION_HOLDS = """
SELECT count(*) FROM pg_class c
WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY(%(tables)s)
  AND c.relrowsecurity
  AND (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) = 1
  AND EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid
              AND p.polname = %(policy)s AND p.polcmd = 'r')
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                  AND NOT a.attisdropped AND a.attstattarget IS DISTINCT FROM 0)
  AND NOT EXISTS (SELECT 1 FROM aclexplode(c.relacl) x WHERE x.grantee = 0)
"""
#: how long a migration waits for a table lock (a projection mid-batch) before it lets go
#: and tries again (MIGRATE_TRIES times, backing off): it never queues ahead of the stream
MIGRATE_LOCK_TIMEOUT = "5s"
MIGRATE_TRIES = 6


def migrate(conn: psycopg.Connection) -> None:
    """Create or update the schema; safe to run concurrently and repeatedly.

    Invariants: the DDL runs only if the database does not already hold it — its digest in
    `schema_migrations` AND the tenant isolation of every reader-visible table intact
    (`_ISOLATION_HOLDS`: drift is healed on the next connect). The DDL takes ACCESS
    EXCLUSIVE locks on every tenant table (row-level security, statistics, policies), so
    running it while a projection's transaction holds one of them deadlocked (a worker
    connecting mid-stream; test_agent_deliveries.py): an up-to-date database takes no lock
    but the advisory one, and a DDL run waits at most MIGRATE_LOCK_TIMEOUT per try.
    """
    for attempt in range(MIGRATE_TRIES):
        try:
            _migrate_once(conn)
            return
        except psycopg.errors.LockNotAvailable:
            if attempt == MIGRATE_TRIES - 1:
                raise
            time.sleep(0.2 * 2**attempt)  # a backoff, the stream holds the locks


def _migrate_once(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute(f"SET LOCAL lock_timeout = '{MIGRATE_LOCK_TIMEOUT}'")
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (id integer PRIMARY KEY, "
                     "ddl_sha256 text NOT NULL, applied_at timestamptz NOT NULL)")
        row = conn.execute("SELECT ddl_sha256 FROM schema_migrations WHERE id = 1").fetchone()
        if row is not None and row[0] == DDL_SHA256:
            tables = list(TENANT_TABLES + RESTRICTED_TABLES)
            held = conn.execute(_ISOLATION_HOLDS, {"tables": tables,
                                                   "policy": POLICY_NAME}).fetchone()
            if held is not None and held[0] == len(tables):
                return
        conn.execute(DDL)
        conn.execute("REVOKE ALL ON schema_migrations FROM PUBLIC")
        conn.execute("INSERT INTO schema_migrations (id, ddl_sha256, applied_at) "
                     "VALUES (1, %s, now()) ON CONFLICT (id) DO UPDATE SET "
                     "ddl_sha256 = EXCLUDED.ddl_sha256, applied_at = now()", (DDL_SHA256,))
