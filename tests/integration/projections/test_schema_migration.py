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


def test_tenant_isolation_that_drifted_is_restored_on_the_next_connect(settings):
    with psycopg.connect(settings.resolved_database_url(), autocommit=True) as conn:
        migrate(conn)
        # an operator "debugging" in production
        conn.execute("ALTER TABLE agent_memory DISABLE ROW LEVEL SECURITY")
        conn.execute("GRANT SELECT ON agent_deliveries TO PUBLIC")
        conn.execute("CREATE POLICY open_door ON agent_tasks FOR SELECT USING (true)")
        conn.execute("ALTER TABLE agent_tasks ALTER COLUMN task_type SET STATISTICS 100")
        migrate(conn)
        assert conn.execute("SELECT relrowsecurity FROM pg_class WHERE relname = "
                            "'agent_memory'").fetchone() == (True,)
        assert conn.execute("SELECT count(*) FROM pg_class c, aclexplode(c.relacl) x WHERE "
                            "c.relname = 'agent_deliveries' AND x.grantee = 0"
                            ).fetchone() == (0,)
        assert conn.execute("SELECT array_agg(policyname) FROM pg_policies WHERE tablename = "
                            "'agent_tasks'").fetchone() == (["tenant_of_login"],)
        assert conn.execute("SELECT attstattarget FROM pg_attribute WHERE attrelid = "
                            "'agent_tasks'::regclass AND attname = 'task_type'"
                            ).fetchone() == (0,)
