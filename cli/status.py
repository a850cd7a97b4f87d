"""`auterity status`: service health, topic sizes, projection rows, consumer lag, DLQ size.

An operator's view of every topic and group: its Kafka clients act as `admin`."""

from __future__ import annotations

from typing import Any

from confluent_kafka import TopicPartition

from cli import stack_health
from compose import processes as supervisor
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.postgres import scalar
from runtime.readiness import is_ready
from runtime.settings import Settings
from schemas import topics


def topic_sizes(settings: Settings) -> dict[str, dict[int, tuple[int, int]]]:
    """(low, high) watermarks per partition of every catalogued topic that exists."""
    consumer = kafka_clients.consumer(settings, "auterity-status", principal=Principal.ADMIN)
    try:
        md = consumer.list_topics(timeout=10)
        out: dict[str, dict[int, tuple[int, int]]] = {}
        for spec in topics.CATALOG:
            name = spec.name(settings.topic_prefix)
            if name not in md.topics:
                continue
            out[name] = {p: consumer.get_watermark_offsets(TopicPartition(name, p), timeout=10)
                         for p in md.topics[name].partitions}
        return out
    finally:
        consumer.close()


def group_positions(settings: Settings, group: str, topic: str,
                    partitions: list[int]) -> dict[int, int]:
    consumer = kafka_clients.consumer(settings, group, principal=Principal.ADMIN)
    try:
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return {tp.partition: max(tp.offset, 0) for tp in committed}
    finally:
        consumer.close()


def _lag(high: dict[int, tuple[int, int]], pos: dict[int, int]) -> int:
    return sum(max(0, h - pos.get(p, lo)) for p, (lo, h) in high.items())


PG_TABLES = ("ai_conversations", "generated_workflows", "generated_interfaces",
             "document_extractions", "call_analyses", "restricted_pii_fields")


def postgres_figures(settings: Settings) -> tuple[dict[str, int],
                                                 dict[str, dict[tuple[str, int], int]]]:
    """Row counts of the state tables, and each Postgres projection's stored positions."""
    import psycopg

    counts: dict[str, int] = {}
    offsets: dict[str, dict[tuple[str, int], int]] = {}
    with psycopg.connect(settings.resolved_database_url(), connect_timeout=5) as conn:
        for table in PG_TABLES:
            if scalar(conn, "SELECT to_regclass(%s) IS NOT NULL", (table,)):
                counts[table] = scalar(conn, f"SELECT count(*) FROM {table}")
        if scalar(conn, "SELECT to_regclass('projection_offsets') IS NOT NULL"):
            for name, t, p, o in conn.execute("SELECT projection, topic, partition, "
                                              "next_offset FROM projection_offsets"):
                offsets.setdefault(name, {})[(t, p)] = o
    return counts, offsets


def clickhouse_figures(settings: Settings,
                       topic_names: list[str]) -> tuple[int, dict[tuple[str, int], int]]:
    from projections.clickhouse_sink import TABLE
    from projections.metrics_reader import open_metrics_reader
    from projections.metrics_store import stored_offsets

    with open_metrics_reader(settings) as reader:
        db = reader.database
        exists = reader.query(f"SELECT count() AS n FROM system.tables WHERE database = '{db}' "
                              "AND name = 'step_metrics'")[0]["n"]
        if not int(exists):
            return 0, {}
        rows = int(reader.query(f"SELECT count() AS n FROM {db}.step_metrics FINAL")[0]["n"])
        return rows, stored_offsets(reader, TABLE, topic_names)


def collect(settings: Settings) -> dict[str, Any]:
    health = stack_health.status(settings)
    report: dict[str, Any] = {
        "services": {h.name: {"healthy": h.healthy, "detail": h.detail} for h in health},
        "processes": {n: {"running": supervisor.pid_of(settings, n) is not None,
                          "ready": is_ready(settings, n, supervisor.pid_of(settings, n))}
                      for n in supervisor.PROCESSES},
    }
    if not health[0].healthy:
        return report
    sizes = topic_sizes(settings)
    report["topics"] = {name: sum(h - lo for lo, h in parts.values())
                        for name, parts in sizes.items()}
    redacted = topics.CONVERSATIONS_REDACTED.name(settings.topic_prefix)
    dlq = topics.DEAD_LETTERS.name(settings.topic_prefix)
    lag: dict[str, int] = {}
    steps = {"pii_redaction": topics.CONVERSATIONS_RAW, "ocr": topics.DOCUMENTS_UPLOADED,
             "voice": topics.CALLS_RECORDED, "requirement_analysis": topics.WORKFLOW_REQUESTS}
    for step, spec in steps.items():
        name = spec.name(settings.topic_prefix)
        if name in sizes:
            lag[step] = _lag(sizes[name], group_positions(settings, settings.app_id, name,
                                                          list(sizes[name])))
    rows: dict[str, int | None] = {}
    try:
        counts, pg_offs = postgres_figures(settings)
        rows.update({f"postgres.{t}": n for t, n in counts.items()})
        for projection, offs in pg_offs.items():
            lag[f"{projection}_projection"] = sum(
                _lag(sizes[t], {p: o for (tt, p), o in offs.items() if tt == t})
                for t in {t for t, _ in offs} if t in sizes)
    except Exception as exc:  # noqa: BLE001 - shown in the report
        rows["postgres.ai_conversations"] = None
        report["postgres_error"] = str(exc)
    try:
        ch_rows, ch_offs = clickhouse_figures(settings, [redacted, dlq])
        rows["clickhouse.step_metrics"] = ch_rows
        lag["clickhouse_projection"] = sum(
            _lag(sizes[t], {p: o for (tt, p), o in ch_offs.items() if tt == t})
            for t in (redacted, dlq) if t in sizes)
    except Exception as exc:  # noqa: BLE001 - shown in the report
        rows["clickhouse.step_metrics"] = None
        report["clickhouse_error"] = str(exc)
    report["projection_rows"] = rows
    report["consumer_lag"] = lag
    report["dlq_size"] = report["topics"].get(dlq, 0)
    return report
