"""`auterity projections` started while Postgres is down: the ClickHouse projections and the
metrics endpoint work meanwhile, the process stays up, and once Postgres starts the Postgres
projection catches up with nothing lost or doubled."""

from __future__ import annotations

import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from compose import processes as supervisor
from compose import stack
from connectors.ingest import produce
from projections.metrics_reader import open_metrics_reader
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import topics
from schemas.dead_letters import dead_letter
from schemas.events import ConversationMessageRedacted, utcnow
from tests.integration.conftest import wait_for

N_REDACTED = 40
N_DEAD = 5


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def isolated(settings: Settings) -> Iterator[Settings]:
    """Settings of a second projections process on the session's Kafka with its own home
    (chDB, run files), topic prefix, app id, metrics port and a Postgres not started yet."""
    # a fresh 0755 dir outside pytest's 0700 basetemp: pgserver runs as its own user
    home = Path(tempfile.mkdtemp(prefix="auterity-pgdown-"))
    home.chmod(0o755)
    run = uuid.uuid4().hex[:6]
    mine = settings.model_copy(update={
        "home": home, "kafka_bootstrap": settings.kafka_servers,
        "topic_prefix": f"{settings.topic_prefix}pgdown{run}.",
        "app_id": f"{settings.app_id}-pgdown{run}", "metrics_port": _free_port(),
        "database_url": f"postgresql://postgres:@/postgres?host={home / 'pg'}",
        "kafka_credentials_file": settings.kafka_credentials_path})
    kafka_clients.ensure_acls(mine)  # its own prefix and app id, as an external broker's would
    try:
        yield mine
    finally:
        print(supervisor.stop(mine, "projections"))
        log = mine.logs_dir / "projections.log"
        if log.exists():  # shown by pytest when the test fails
            print(log.read_text(errors="replace")[-6000:])
        print(stack.stop_postgres(mine.model_copy(update={"database_url": None})))
        shutil.rmtree(home, ignore_errors=True)


def _env(s: Settings) -> dict[str, str]:
    return {"AUTERITY_KAFKA_BOOTSTRAP": s.kafka_servers,
            "AUTERITY_TOPIC_PREFIX": s.topic_prefix, "AUTERITY_APP_ID": s.app_id,
            "AUTERITY_METRICS_PORT": str(s.metrics_port), "DATABASE_URL": s.database_url or "",
            "AUTERITY_KAFKA_CREDENTIALS_FILE": str(s.kafka_credentials_path)}


def _redacted(tenant: str, i: int) -> ConversationMessageRedacted:
    now = utcnow()
    return ConversationMessageRedacted(
        event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=now - timedelta(seconds=1),
        source_event_id=str(uuid.uuid4()), conversation_id=f"{tenant}-c{i % 4}",
        channel="sms", redacted_text=f"<PERSON_1> asks about service slot {i}",
        ingested_at=now - timedelta(seconds=1), redacted_at=now, redaction_ms=3.0)


def _ch_event_ids(s: Settings, tenant: str) -> tuple[int, set[str]]:
    with open_metrics_reader(s) as r:
        rows = r.query(f"SELECT event_id FROM {r.database}.step_metrics FINAL "
                       f"WHERE tenant_id = '{tenant}'")
    return len(rows), {row["event_id"] for row in rows}


def _pg_event_ids(s: Settings, tenant: str) -> tuple[int, set[str]] | None:
    try:
        with psycopg.connect(s.resolved_database_url(), connect_timeout=5) as conn:
            rows = conn.execute("SELECT id::text FROM ai_conversations WHERE tenant_id = %s",
                                (tenant,)).fetchall()
    except psycopg.Error:  # not started yet, or the schema is not created yet
        return None
    return len(rows), {r[0] for r in rows}


def test_postgres_down_at_start_then_up(isolated: Settings):
    s = isolated
    tenant = f"pgdown-{uuid.uuid4().hex[:6]}"
    supervisor.start(s, "projections", env=_env(s))
    supervisor.wait_ready(s, "projections", timeout=120)

    # events arrive while Postgres is down
    redacted = [_redacted(tenant, i) for i in range(N_REDACTED)]
    raw = topics.CONVERSATIONS_RAW.name(s.topic_prefix)
    dead = [dead_letter(error_kind="oversized", error="too big", step="pii_redaction",
                        topic=raw, partition=0, offset=i, key=b"k", payload=b"x",
                        tenant_id=tenant, max_payload=s.max_message_bytes)
            for i in range(N_DEAD)]
    for spec, events in ((topics.CONVERSATIONS_REDACTED, redacted), (topics.DEAD_LETTERS, dead)):
        report = produce(s, spec, events, principal=Principal.PII_STEP)  # as the worker
        assert report.sent == len(events) and not report.rejected, report.rejected

    # ClickHouse metrics and the metrics endpoint work meanwhile; the process stays up
    want_ch = {e.event_id for e in redacted} | {d.event_id for d in dead}
    wait_for(lambda: _ch_event_ids(s, tenant) == (len(want_ch), want_ch), 90,
             "ClickHouse step_metrics rows while Postgres is down")
    log = s.logs_dir / "projections.log"
    wait_for(lambda: "postgres: waiting for Postgres" in log.read_text(errors="replace"), 30,
             "a log line naming what the Postgres projection waits for")
    assert supervisor.pid_of(s, "projections") is not None, log.read_text()[-3000:]
    assert _pg_event_ids(s, tenant) is None

    # Postgres comes up: the Postgres projection catches up, nothing lost or doubled
    import pgserver

    pgserver.get_server(s.home / "pg", cleanup_mode=None)
    want_pg = {e.event_id for e in redacted}
    wait_for(lambda: _pg_event_ids(s, tenant) == (len(want_pg), want_pg), 120,
             "Postgres ai_conversations rows after Postgres started")
    with psycopg.connect(s.resolved_database_url()) as conn:
        stored = conn.execute(
            "SELECT sum(next_offset) FROM projection_offsets WHERE projection = 'postgres' "
            "AND topic = %s", (topics.CONVERSATIONS_REDACTED.name(s.topic_prefix),)).fetchone()
    assert stored == (N_REDACTED,)
    assert supervisor.pid_of(s, "projections") is not None, log.read_text()[-3000:]
    assert _ch_event_ids(s, tenant) == (len(want_ch), want_ch)
