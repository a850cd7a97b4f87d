"""Helpers for integration tests: tenant-scoped sample events and row counts."""

from __future__ import annotations

import dataclasses
import uuid

import psycopg

from connectors.samples.conversations import SampleMessage, generate_conversations, sample_to_event
from projections.metrics_reader import open_metrics_reader
from runtime.settings import Settings
from schemas.events import ConversationMessageRaw


def tenant_samples(prefix: str, count: int, tenants: int = 3,
                   seed: int = 7) -> tuple[list[ConversationMessageRaw], list[SampleMessage]]:
    """`count` sample events whose tenant and conversation ids start with `prefix`."""
    samples = [dataclasses.replace(s, tenant_id=f"{prefix}-{s.tenant_id}",
                                   conversation_id=f"{prefix}-{s.conversation_id}")
               for s in generate_conversations(count, tenants, seed=seed)]
    run = uuid.uuid4().hex
    events = [sample_to_event(s, f"{run}-{i}") for i, s in enumerate(samples)]
    return events, samples


def pg_counts(settings: Settings, prefix: str) -> tuple[int, int]:
    """(rows, distinct ids) in ai_conversations for tenants starting with `prefix`."""
    with psycopg.connect(settings.resolved_database_url()) as conn:
        return conn.execute(
            "SELECT count(*), count(DISTINCT id) FROM ai_conversations WHERE tenant_id LIKE %s",
            (f"{prefix}-%",)).fetchone()


def ch_counts(settings: Settings, prefix: str, step: str = "pii_redaction") -> tuple[int, int]:
    """(rows after FINAL, distinct event ids) in step_metrics for tenants with `prefix`."""
    with open_metrics_reader(settings) as r:
        row = r.query(f"SELECT count() AS n, uniqExact(event_id) AS u FROM "
                      f"{r.database}.step_metrics FINAL WHERE tenant_id LIKE '{prefix}-%' "
                      f"AND step = '{step}'")[0]
    return int(row["n"]), int(row["u"])
