"""`auterity demo`: a sample dealership day through the whole pipeline, with a summary.

Starts the local stack, the worker and the projections; produces `count` generated messages
across `tenants` dealerships at `rate` events/s plus a handful of deliberately bad records;
waits until every event is projected (Postgres row or dead letter, and a ClickHouse row for
each); prints events in, rows projected, dead letters, throughput, end-to-end latency
percentiles and PII entities redacted by type; then the builder, documents and calls, the AI
agents and the workflow runs parts (cli/demo_*.py). The demo's worker lives in the clock
file (`AUTERITY_CLOCK=file`, unless the environment says otherwise), which the runs part
moves ahead.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from typing import Any

import psycopg

from cli import stack_health
from cli.status import topic_sizes
from compose import processes as supervisor
from compose import stack
from connectors.ingest import produce
from connectors.samples.conversations import sample_events
from projections.metrics_reader import open_metrics_reader
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.postgres import scalar
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import ConversationMessageRaw, utcnow

BAD_RECORDS = 3  # garbage bytes, empty text, blank tenant


def _say(msg: str) -> None:
    print(msg, flush=True)


def _dlq_high(settings: Settings) -> int:
    parts = topic_sizes(settings).get(topics.DEAD_LETTERS.name(settings.topic_prefix), {})
    return sum(h for _, h in parts.values())


def send_bad_records(settings: Settings, run: str) -> int:
    """Three records the pipeline must dead-letter while the stream goes on."""
    producer = kafka_clients.producer(settings, principal=Principal.INGEST)
    topic = topics.CONVERSATIONS_RAW.name(settings.topic_prefix)
    base = {"event_id": f"{run}-bad", "tenant_id": "dealer-001", "occurred_at": utcnow(),
            "schema_version": 1, "conversation_id": f"{run}-bad", "channel": "sms",
            "sender_role": "customer", "user_id": None, "source_system": "demo",
            "text": "   ", "ingested_at": utcnow()}
    producer.produce(topic, key=b"bad", value=b"\x13\x37 not avro at all")
    producer.produce(topic, key=b"bad", value=serde.encode_dict(ConversationMessageRaw, base))
    producer.produce(topic, key=b"bad", value=serde.encode_dict(
        ConversationMessageRaw, {**base, "event_id": f"{run}-bad2", "tenant_id": " ",
                                 "text": "hello"}))
    if producer.flush(30) > 0:
        raise RuntimeError("bad demo records were not acknowledged")
    return BAD_RECORDS


def _pg_counts(settings: Settings, since: datetime) -> int:
    with psycopg.connect(settings.resolved_database_url()) as conn:
        return int(scalar(conn, "SELECT count(*) FROM ai_conversations WHERE ingested_at >= %s",
                          (since,)))


def _ch_count(settings: Settings, since: datetime) -> int:
    with open_metrics_reader(settings) as r:
        return int(r.query(f"SELECT count() AS n FROM {r.database}.step_metrics FINAL "
                           f"WHERE ingested_at >= '{since:%Y-%m-%d %H:%M:%S}'")[0]["n"])


def wait_projected(settings: Settings, since: datetime, expected_pg: int, dlq_before: int,
                   expected_dead: int, timeout: float = 240.0) -> tuple[int, int, int]:
    """Wait until Postgres, the DLQ and ClickHouse account for every event of this run."""
    deadline = time.monotonic() + timeout
    last = (-1, -1, -1)
    while time.monotonic() < deadline:
        pg = _pg_counts(settings, since)
        dead = _dlq_high(settings) - dlq_before
        ch = _ch_count(settings, since)
        if (pg, dead, ch) != last:
            _say(f"  projected: postgres {pg:,}/{expected_pg:,}  dead letters {dead}/"
                 f"{expected_dead}  clickhouse {ch:,}/{expected_pg + expected_dead:,}")
            last = (pg, dead, ch)
        if pg >= expected_pg and dead >= expected_dead and ch >= expected_pg + dead:
            return pg, dead, ch
        time.sleep(0.5)
    raise TimeoutError(f"not everything was projected within {timeout:.0f}s: postgres {last[0]}/"
                       f"{expected_pg}, dead letters {last[1]}/{expected_dead}, clickhouse "
                       f"{last[2]}; see `auterity status` and {settings.logs_dir}")


def summary(settings: Settings, since: datetime) -> dict[str, Any]:
    with psycopg.connect(settings.resolved_database_url()) as conn:
        lat = conn.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), "
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms), "
            "extract(epoch FROM max(projected_at) - min(ingested_at)), "
            "count(DISTINCT tenant_id), count(DISTINCT session_id) FROM ("
            "  SELECT tenant_id, session_id, ingested_at, projected_at, "
            "  extract(epoch FROM projected_at - ingested_at) * 1000 AS ms "
            "  FROM ai_conversations WHERE ingested_at >= %s) t", (since,)).fetchone()
    if lat is None:
        raise RuntimeError("the latency query returned no row")
    with open_metrics_reader(settings) as r:
        ts = f"{since:%Y-%m-%d %H:%M:%S}"
        ents = r.query(
            f"SELECT k AS entity, sum(v) AS n FROM {r.database}.step_metrics FINAL "
            f"ARRAY JOIN mapKeys(entities) AS k, mapValues(entities) AS v "
            f"WHERE ingested_at >= '{ts}' GROUP BY k ORDER BY n DESC")
        steps = r.query(
            f"SELECT step, error_kind, count() AS n, quantile(0.5)(latency_ms) AS p50, "
            f"quantile(0.99)(latency_ms) AS p99 FROM {r.database}.step_metrics FINAL "
            f"WHERE ingested_at >= '{ts}' GROUP BY step, error_kind ORDER BY n DESC")
    return {"p50_ms": lat[0], "p99_ms": lat[1], "max_ms": lat[2], "span_s": lat[3],
            "tenants": lat[4], "conversations": lat[5], "entities": ents, "steps": steps}


def run_demo(settings: Settings, count: int, tenants: int, rate: float,
             keep_running: bool = True) -> int:
    """The sample day (module doc). keep_running=False (`--stop`): the worker, the
    projections and the stack are stopped when the demo ends, also when it fails."""
    try:
        return _run_demo(settings, count, tenants, rate, keep_running)
    finally:
        if not keep_running:
            for name in supervisor.PROCESSES:
                supervisor.stop(settings, name)
            stack.down(settings)
            _say("stack stopped")


def _run_demo(settings: Settings, count: int, tenants: int, rate: float,
              keep_running: bool) -> int:
    t0 = time.monotonic()
    _say("1/5 starting the local stack (Kafka, Postgres+pgvector, chDB) ...")
    for h in stack_health.up(settings):
        _say(f"    {h.name:<11} {h.detail}")
    kafka_clients.ensure_topics(settings, principal=Principal.ADMIN)
    _say("2/5 starting the Faust worker and the projections ...")
    from cli.demo_agents import demo_receivers

    # the runs part moves the clock ahead (the worker reads it from <home>/clock.json) and
    # assigns its leads over a sample sales team, unless the environment says otherwise
    os.environ.setdefault("AUTERITY_CLOCK", "file")
    os.environ.setdefault("AUTERITY_SALES_TEAM", "sp-1:Dana Ruiz,sp-2:Luis Ortega")
    with demo_receivers() as receivers:  # before the worker starts: it is pointed at them
        for name in supervisor.PROCESSES:
            supervisor.start(settings, name)
        for name in supervisor.PROCESSES:
            supervisor.wait_ready(settings, name)
        return _sample_day(settings, count, tenants, rate, keep_running, t0, receivers)


def _sample_day(settings: Settings, count: int, tenants: int, rate: float,
                keep_running: bool, t0: float, receivers: Any) -> int:
    since = datetime.now(UTC).replace(microsecond=0)
    dlq_before = _dlq_high(settings)
    run = f"demo-{int(time.time())}"
    _say(f"3/5 producing {count:,} messages across {tenants} dealerships at {rate:.0f}/s "
         f"(+{BAD_RECORDS} bad records) ...")
    bad = send_bad_records(settings, run)
    seed = int(time.time())
    report = produce(settings, topics.CONVERSATIONS_RAW, sample_events(count, tenants, seed=seed),
                     rate=rate)
    if report.rejected:
        raise RuntimeError(f"{len(report.rejected)} sample message(s) not sent, first: "
                           f"{report.rejected[0]}")
    _say(f"    sent {report.sent:,} in {report.seconds:.1f}s "
         f"({report.sent / report.seconds:.0f}/s)")
    _say("4/5 waiting until every event is projected ...")
    pg, dead, ch = wait_projected(settings, since, report.sent, dlq_before, bad)
    s = summary(settings, since)
    _say("5/5 summary")
    rows = [
        ("events in", f"{report.sent + bad:,} ({report.sent:,} good, {bad} bad)"),
        ("dealerships / conversations", f"{s['tenants']} / {s['conversations']:,}"),
        ("rows projected: postgres ai_conversations", f"{pg:,}"),
        ("rows projected: clickhouse step_metrics", f"{ch:,}"),
        ("dead letters", f"{dead}"),
        ("throughput (ingest -> last projected)", f"{report.sent / s['span_s']:.0f} events/s"),
        ("end-to-end latency p50 / p99 / max",
         f"{s['p50_ms']:.0f} / {s['p99_ms']:.0f} / {s['max_ms']:.0f} ms"),
    ]
    for k, v in rows:
        _say(f"    {k:<44} {v}")
    _say("    PII entities redacted by type:")
    for e in s["entities"]:
        _say(f"      {e['entity']:<22} {int(e['n']):>6,}")
    _say("    per step (clickhouse):")
    for st in s["steps"]:
        _say(f"      {st['step']:<20} {st['error_kind'] or 'ok':<16} {int(st['n']):>6,}  "
             f"p50 {float(st['p50']):.0f} ms  p99 {float(st['p99']):.0f} ms")
    _say("    workflow builder (requests -> analyses -> workflows -> interfaces):")
    from cli.demo_builder import run_builder_demo

    workflows = run_builder_demo(settings, tenants, _say)
    _say("    documents and calls (uploads -> OCR / transcription -> extractions, analyses):")
    from cli.demo_media import run_media_demo

    run_media_demo(settings, tenants, _say)
    _say("    AI agents (one task each; deliveries to local SMTP/SMS receivers):")
    from cli.demo_agents import run_agents_demo

    run_agents_demo(settings, receivers, _say)
    _say("    workflow runs (the builder's workflows on sample dealership facts):")
    from cli.demo_runs import run_runs_demo

    run_runs_demo(settings.model_copy(update={"clock": os.environ.get("AUTERITY_CLOCK",
                                                                      settings.clock)}),
                  workflows, receivers, _say)
    _say(f"    demo took {time.monotonic() - t0:.0f}s")
    if keep_running:
        _say("The stack, worker and projections keep running: try `.venv/bin/auterity status`, "
             "`auterity tail conversations.redacted --max 5`; stop with `auterity stack down`.")
    return 0


if __name__ == "__main__":
    sys.exit(run_demo(Settings(), 2400, 3, 200.0))
