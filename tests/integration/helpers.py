"""Helpers for integration tests: tenant-scoped sample events, the ids in each store."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg

from connectors.samples.conversations import SampleMessage, generate_conversations, sample_to_event
from projections import tenant_readers
from projections.metrics_reader import open_metrics_reader
from runtime.settings import Settings
from schemas import topics
from schemas.events import ConversationMessageRaw
from schemas.ids import derived_id


def tenant_samples(prefix: str, count: int, tenants: int = 3,
                   seed: int = 7) -> tuple[list[ConversationMessageRaw], list[SampleMessage]]:
    """`count` sample events whose tenant and conversation ids start with `prefix`."""
    samples = [dataclasses.replace(s, tenant_id=f"{prefix}-{s.tenant_id}",
                                   conversation_id=f"{prefix}-{s.conversation_id}")
               for s in generate_conversations(count, tenants, seed=seed)]
    run = uuid.uuid4().hex
    events = [sample_to_event(s, f"{run}-{i}") for i, s in enumerate(samples)]
    return events, samples


def expected_redacted_ids(events: list[ConversationMessageRaw]) -> set[str]:
    """The ids the redaction step derives from `events` (one per raw event)."""
    return {derived_id(e.event_id, topics.PII_STEP) for e in events}


@contextmanager
def tenant_reader(settings: Settings, tenant_id: str, kind: tenant_readers.Kind = "reader"
                  ) -> Iterator[psycopg.Connection]:
    """A connection as a new login of `tenant_id` (`auterity tenants add-reader`), as an
    integrator would connect; the login is dropped afterwards."""
    owner_url = settings.resolved_database_url()
    with psycopg.connect(owner_url, autocommit=True) as owner:
        login = tenant_readers.add_reader(owner, tenant_id, kind)
    try:
        assert login.password is not None
        with psycopg.connect(tenant_readers.login_url(owner_url, login.role, login.password),
                             autocommit=True) as conn:
            yield conn
    finally:
        with psycopg.connect(owner_url, autocommit=True) as owner:
            tenant_readers.remove_reader(owner, login.role)


def pg_ids(settings: Settings, prefix: str) -> set[str]:
    """Event ids in ai_conversations for tenants starting with `prefix`."""
    with psycopg.connect(settings.resolved_database_url()) as conn:
        rows = conn.execute("SELECT id::text FROM ai_conversations WHERE tenant_id LIKE %s",
                            (f"{prefix}-%",)).fetchall()
    return {r[0] for r in rows}


def pg_count(settings: Settings, prefix: str) -> int:
    """Rows in ai_conversations for tenants starting with `prefix`."""
    return len(pg_ids(settings, prefix))


def ch_rows(settings: Settings, prefix: str, step: str = "pii_redaction"
            ) -> tuple[int, int, set[str]]:
    """(rows as physically stored, WITHOUT FINAL; distinct source records (topic, partition,
    offset) among them; the set of event ids) in step_metrics for tenants with `prefix`.

    rows > records means one consumed record was inserted twice: a broken insert-dedup token
    (until a background merge happens to collapse it). records > ids is legitimate: a worker
    killed mid-batch publishes some events again (same id, another offset), and the
    ReplacingMergeTree keeps one per id under FINAL."""
    where = f"tenant_id LIKE '{prefix}-%' AND step = '{step}'"
    with open_metrics_reader(settings) as r:
        row = r.query(f"SELECT count() AS n, uniqExact(topic, partition, offset) AS records "
                      f"FROM {r.database}.step_metrics WHERE {where}")[0]
        ids = {x["event_id"] for x in r.query(
            f"SELECT DISTINCT event_id FROM {r.database}.step_metrics WHERE {where}")}
    return int(row["n"]), int(row["records"]), ids


def first_output_after(settings: Settings, prefix: str, after: datetime,
                       step: str = "pii_redaction") -> datetime | None:
    """When the step first processed an event of `prefix` after `after` (step_metrics)."""
    ts = f"{after.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}"[:-3]
    with open_metrics_reader(settings) as r:
        rows = r.query(f"SELECT toUnixTimestamp64Milli(min(processed_at)) AS t, count() AS n "
                       f"FROM {r.database}.step_metrics WHERE tenant_id LIKE '{prefix}-%' "
                       f"AND step = '{step}' AND processed_at > '{ts}'")
    if not rows or not int(rows[0]["n"]):
        return None
    return datetime.fromtimestamp(int(rows[0]["t"]) / 1000.0, UTC)
