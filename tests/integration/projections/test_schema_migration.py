"""The schema migration on a database that already holds the schema takes no table lock, so
a process connecting mid-stream (the worker's memory recall and delivery ledger) cannot
deadlock with a projection's open transaction (it did: failed first)."""

from __future__ import annotations

import psycopg

from projections.postgres_schema import DDL_SHA256, TENANT_TABLES, migrate


def test_an_up_to_date_schema_is_not_migrated_again_under_table_locks(settings):
    url = settings.resolved_database_url()
    with psycopg.connect(url, autocommit=True) as first:
        migrate(first)
        assert first.execute("SELECT ddl_sha256 FROM schema_migrations").fetchone() == (
            DDL_SHA256,)
    with psycopg.connect(url) as holder, psycopg.connect(url, autocommit=True) as late:
        # a projection's transaction in the middle of a batch
        for table in TENANT_TABLES:
            holder.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")
        late.execute("SET lock_timeout = '2s'")
        migrate(late)  # a DDL run would wait for ACCESS EXCLUSIVE and time out
        holder.rollback()
