"""`auterity bench`: every benchmark against its bare-library baseline, measured in one run.

    auterity bench [--quick]        (or: python -m bench.run [--quick])

Rows (ratio = ours / baseline; for throughput, higher is better):
1. Kafka end to end: raw confluent-kafka Producer -> Consumer of pre-encoded events vs our
   ingest (`connectors.ingest.produce`: JSON -> pydantic -> Avro) -> a Faust passthrough
   agent (decode + re-encode + forward, app settings as streams/app.py) -> Consumer + decode.
2. PII analysis: `bench.pii_bench.run` (presidio per text vs our batched PiiAnalyzer).
3. Postgres projection: bare psycopg COPY into a plain table vs
   `PostgresConversationSink.write` (decode, COPY, upsert, offsets in one transaction).
4. ClickHouse projection: bare chDB INSERT FORMAT JSONEachRow vs
   `ClickHouseMetricsSink.write` (decode, rows, one deduplicated insert per partition range).
5. LLM router, cache and local model (`bench.llm_bench`).
6. OCR pages/s: `ocr_document` (preprocessing, one tesseract pass, fields) vs the tesseract
   CLI on the same generated pages, one process; and the speed-up of a process pool
   (`bench.ocr_bench`).
7. Transcription real-time factor: `transcribe_audio` vs bare faster-whisper (same model,
   threads, audio, VAD and decode options), not batched and batched (`bench.voice_bench`).

The bench never touches pipeline data: its topics carry their own prefix
(`bench.<random>.`) and are deleted at the end, Postgres rows go to a database created for
the run and dropped after it, and chDB runs in a temporary directory.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition  # noqa: E402

from runtime import kafka_clients
from runtime.settings import Settings  # noqa: E402

PASSTHROUGH_FLAG = "--faust-passthrough"
BATCH = 2000


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


_RATIO = object()


def row(name: str, baseline_what: str, baseline: float | None, ours: float | None, unit: str,
        ratio: Any = _RATIO) -> dict[str, Any]:
    """One table row; the ratio is ours/baseline unless given (None: no meaningful ratio)."""
    if ratio is _RATIO:
        ratio = ours / baseline if baseline and ours is not None else None
    return {"benchmark": name, "baseline_what": baseline_what, "baseline": baseline,
            "ours": ours, "unit": unit, "ratio": ratio}


# --- Kafka helpers -----------------------------------------------------------------------

def _admin(settings: Settings) -> Any:
    return kafka_clients.admin(settings)


def create_topic(settings: Settings, name: str, partitions: int = 3) -> None:
    from confluent_kafka.admin import NewTopic

    admin = _admin(settings)  # must outlive the futures
    futs = admin.create_topics(
        [NewTopic(name, num_partitions=partitions, replication_factor=1,
                  config={"max.message.bytes": str(settings.max_message_bytes + 65536)})],
        operation_timeout=30)
    for fut in futs.values():
        fut.result()
    wait_for_topic(settings, name, partitions)


def wait_for_topic(settings: Settings, name: str, partitions: int, timeout: float = 30.0) -> None:
    """Wait until the broker's metadata shows every partition of `name` with a leader (a topic
    just created is briefly unknown: assigning or reading its watermarks then fails)."""
    admin = _admin(settings)
    deadline = time.monotonic() + timeout
    while True:
        md = admin.list_topics(name, timeout=10).topics.get(name)
        if (md is not None and md.error is None and len(md.partitions) == partitions
                and all(p.leader >= 0 and p.error is None for p in md.partitions.values())):
            return
        if time.monotonic() >= deadline:
            raise RuntimeError(f"topic {name} has no leader for every partition after "
                               f"{timeout:.0f}s")
        time.sleep(0.1)


def delete_topics(settings: Settings, prefixes: Sequence[str]) -> int:
    admin = _admin(settings)
    names = [t for t in admin.list_topics(timeout=10).topics
             if any(t.startswith(p) for p in prefixes)]
    if names:
        for fut in admin.delete_topics(names, operation_timeout=30).values():
            try:
                fut.result()
            except Exception as exc:  # noqa: BLE001 - cleanup is best effort, reported
                log(f"could not delete a bench topic: {exc}")
    return len(names)


def _consumer(settings: Settings) -> Consumer:
    return kafka_clients.consumer(settings, f"auterity-bench-{uuid.uuid4().hex[:8]}")


def assign_from(consumer: Consumer, topic: str, from_end: bool) -> None:
    """Assign every partition of `topic` at its beginning or at its current end."""
    md = consumer.list_topics(topic, timeout=10)
    if topic not in md.topics or not md.topics[topic].partitions:
        raise RuntimeError(f"topic {topic} is unknown to the broker")
    tps = []
    for p in md.topics[topic].partitions:
        if from_end:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            tps.append(TopicPartition(topic, p, high))
        else:
            tps.append(TopicPartition(topic, p, OFFSET_BEGINNING))
    consumer.assign(tps)


def consume_n(consumer: Consumer, n: int, on_message: Callable[[Message], None] | None = None,
              timeout: float = 120.0) -> int:
    """Consume until `n` records arrived (or `timeout` seconds pass); return how many came."""
    got = 0
    deadline = time.monotonic() + timeout
    while got < n and time.monotonic() < deadline:
        for msg in consumer.consume(min(1000, n - got), 0.05):
            if msg.error():
                continue
            if on_message is not None:
                on_message(msg)
            got += 1
    return got


# --- 1. Kafka: raw produce->consume vs ingest -> Faust passthrough -> consume ----------------

def faust_passthrough_main(config: dict[str, Any]) -> None:
    """Subprocess entry: a Faust app (streams/app.py's settings) forwarding decoded events."""
    import faust
    from faust import Worker

    from runtime.settings import Settings
    from schemas import serde
    from schemas.events import ConversationMessageRaw
    from streams.app import new_faust_app

    app = new_faust_app(Settings(home=Path(config["home"]), kafka_bootstrap=config["kafka_servers"],
                                 app_id=config["app_id"],
                                 max_message_bytes=config["max_message_bytes"]))
    in_topic = app.topic(config["in_topic"], key_type=bytes, value_type=bytes, partitions=3)
    out_topic = app.topic(config["out_topic"], key_type=bytes, value_type=bytes)

    @app.agent(in_topic, name="bench-passthrough")
    async def passthrough(stream: faust.StreamT) -> None:
        async for batch in stream.take_events(config["batch"], 0.05):
            futures = []
            for ev in batch:
                event = serde.decode(ev.message.value, ConversationMessageRaw)
                futures.append(await out_topic.send(key=ev.message.key,
                                                    value=serde.encode(event)))
            await asyncio.gather(*futures)

    sys.argv = [sys.argv[0], "worker"]
    Worker(app, loglevel="warning", quiet=True, override_logging=True).execute_from_commandline()


@contextmanager
def faust_passthrough(settings: Settings, in_topic: str, out_topic: str) -> Iterator[None]:
    config = {"home": str(settings.home), "app_id": settings.app_id,
              "kafka_servers": settings.kafka_servers, "in_topic": in_topic,
              "out_topic": out_topic, "max_message_bytes": settings.max_message_bytes,
              "batch": settings.redaction_batch * settings.redaction_workers}
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.logs_dir / "bench-faust.log"
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.run", PASSTHROUGH_FLAG, json.dumps(config)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(settings.home / "faust" / settings.app_id, ignore_errors=True)


def _baseline_round(settings: Settings, topic: str, payloads: Sequence[tuple[bytes, bytes]],
                    ) -> tuple[float, float]:
    """Raw Producer -> raw Consumer of pre-encoded events; (produce seconds, total seconds)."""
    from connectors.kafka_io import produce_blocking
    from runtime import kafka_clients

    n = len(payloads)
    create_topic(settings, topic)
    consumer = _consumer(settings)
    producer = kafka_clients.producer(settings)  # the same config as ours
    producer.produce(f"{settings.topic_prefix}kafka.warm-up", value=b"warm-up")
    producer.flush(30)  # connections and the idempotent producer id, before timing
    t0 = time.perf_counter()
    for key, value in payloads:
        produce_blocking(producer, topic, key, value)
    if producer.flush(60) > 0:
        raise RuntimeError("baseline producer: records not acknowledged within 60 s")
    produced_s = time.perf_counter() - t0
    assign_from(consumer, topic, from_end=False)
    got = consume_n(consumer, n)
    total_s = time.perf_counter() - t0
    consumer.close()
    if got != n:
        raise RuntimeError(f"kafka baseline: consumed {got} of {n}")
    return produced_s, total_s


def _ours_round(settings: Settings, out_topic: str, lines: Sequence[str]) -> tuple[float, float]:
    """ingest.produce -> (running Faust passthrough) -> Consumer + decode; as above."""
    from connectors.ingest import parse_lines, produce
    from schemas import serde, topics
    from schemas.events import ConversationMessageRaw

    n = len(lines)
    consumer = _consumer(settings)
    assign_from(consumer, out_topic, from_end=True)
    decoded: list[Any] = []
    t0 = time.perf_counter()
    report = produce(settings, topics.CONVERSATIONS_RAW,
                     parse_lines(lines, ConversationMessageRaw))
    produced_s = time.perf_counter() - t0
    got = consume_n(consumer, n, lambda m: decoded.append(
        serde.decode(m.value(), ConversationMessageRaw)))
    total_s = time.perf_counter() - t0
    consumer.close()
    if report.rejected or got != n:
        raise RuntimeError(f"kafka ours: sent {report.sent}, rejected {len(report.rejected)}, "
                           f"consumed {got} of {n}; see {settings.logs_dir / 'bench-faust.log'}")
    return produced_s, total_s


def bench_kafka(settings: Settings, n: int, rounds: int = 2) -> list[dict[str, Any]]:
    """Best of `rounds` for each side (this 2-core box is noisy); each round on new offsets."""
    from connectors.ingest import parse_lines, produce
    from connectors.samples.conversations import sample_events
    from schemas import serde, topics
    from schemas.events import ConversationMessageRaw

    events = list(sample_events(n, tenants=5, seed=11))
    payloads = [(e.conversation_id.encode(), serde.encode(e)) for e in events]
    lines = [e.model_dump_json() for e in events]
    avg_bytes = sum(len(v) for _, v in payloads) / n
    create_topic(settings, f"{settings.topic_prefix}kafka.warm-up", partitions=1)

    base: list[tuple[float, float]] = []
    for i in range(rounds):
        base.append(_baseline_round(settings, f"{settings.topic_prefix}kafka.baseline.{i}",
                                    payloads))
        log(f"kafka baseline round {i + 1}: {n:,} pre-encoded events (avg {avg_bytes:.0f} B): "
            f"produce {base[-1][0]:.2f}s, end to end {base[-1][1]:.2f}s")

    out_topic = f"{settings.topic_prefix}kafka.passthrough"
    create_topic(settings, out_topic)
    log("kafka ours: starting the Faust passthrough worker")
    ours: list[tuple[float, float]] = []
    raw_name = topics.CONVERSATIONS_RAW.name(settings.topic_prefix)
    with faust_passthrough(settings, raw_name, out_topic):
        warm = _consumer(settings)
        assign_from(warm, out_topic, from_end=True)
        for _ in range(9):  # the worker is ready once it forwards an event
            produce(settings, topics.CONVERSATIONS_RAW,
                    parse_lines(lines[:1], ConversationMessageRaw))
            if consume_n(warm, 1, timeout=10) == 1:
                break
        else:
            raise RuntimeError("the Faust passthrough worker forwarded no warm-up event within "
                               f"90 s; see {settings.logs_dir / 'bench-faust.log'}")
        warm.close()
        time.sleep(0.5)  # let a late duplicate warm-up event pass before the timed rounds
        for i in range(rounds):
            ours.append(_ours_round(settings, out_topic, lines))
            log(f"kafka ours round {i + 1}: ingest -> Faust -> consumer: "
                f"produce {ours[-1][0]:.2f}s, end to end {ours[-1][1]:.2f}s")
    best = f" (best of {rounds})" if rounds > 1 else ""
    return [row(f"Kafka end to end ({n:,} events, avg {avg_bytes:.0f} B){best}",
                "raw confluent-kafka Producer -> Consumer (pre-encoded)",
                n / min(t for _, t in base), n / min(t for _, t in ours), "events/s"),
            row("  of which: produce until acked (ours: ingest.produce from JSON lines)",
                "raw confluent-kafka Producer (pre-encoded)",
                n / min(p for p, _ in base), n / min(p for p, _ in ours), "events/s")]


# --- 2. PII ------------------------------------------------------------------------------

def bench_pii(n: int) -> list[dict[str, Any]]:
    from bench import pii_bench

    log(f"pii: presidio per text vs batched PiiAnalyzer on {n} texts")
    what = "presidio AnalyzerEngine, one text at a time"
    return [row(f"PII {r['name']}", what, r["baseline"], r["ours"], r["unit"], r["ratio"])
            for r in pii_bench.run(n)]


# --- 3 + 4. projection inputs ----------------------------------------------------------------

def redacted_events(n: int) -> Iterator[Any]:
    """Redacted conversation events as the PII step emits them (ground-truth pseudonyms)."""
    from connectors.samples.conversations import generate_conversations
    from schemas.events import ConversationMessageRedacted, EntityFinding

    now = datetime.now(UTC)
    for i, s in enumerate(generate_conversations(n, tenants=5, seed=13)):
        text, entities, numbers = s.text, [], {}
        for entity_type, value in dict.fromkeys(s.pii):
            numbers[entity_type] = numbers.get(entity_type, 0) + 1
            token = f"<{entity_type}_{numbers[entity_type]}>"
            start = text.find(value)
            if start < 0:
                continue
            text = text.replace(value, token)
            entities.append(EntityFinding(entity_type=entity_type, start=start,
                                          end=start + len(token), score=0.85))
        occurred = now - timedelta(seconds=n - i)
        yield ConversationMessageRedacted(
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-redacted-{i}")),
            tenant_id=s.tenant_id, occurred_at=occurred,
            source_event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-raw-{i}")),
            conversation_id=s.conversation_id, channel=s.channel, sender_role=s.sender_role,
            source_system="sample", redacted_text=text, entities=entities,
            ingested_at=occurred, redacted_at=occurred + timedelta(milliseconds=40),
            redaction_ms=12.5)


def projection_batches(settings: Settings, n: int) -> list[list[Message]]:
    """Produce `n` redacted events to the bench topic; read them back as confluent Messages."""
    from connectors.kafka_io import produce_blocking
    from runtime import kafka_clients
    from schemas import serde, topics

    topic = topics.CONVERSATIONS_REDACTED.name(settings.topic_prefix)
    log(f"projections: producing {n:,} redacted events to {topic}")
    producer = kafka_clients.producer(settings)
    for ev in redacted_events(n):
        produce_blocking(producer, topic, ev.conversation_id.encode(), serde.encode(ev))
    if producer.flush(60) > 0:
        raise RuntimeError("projection input: records not acknowledged within 60 s")
    consumer = _consumer(settings)
    assign_from(consumer, topic, from_end=False)
    messages: list[Message] = []
    got = consume_n(consumer, n, messages.append)
    consumer.close()
    if got != n:
        raise RuntimeError(f"projection input: consumed {got} of {n}")
    return [messages[i:i + BATCH] for i in range(0, n, BATCH)]


def _timed_batches(batches: Sequence[Any], fn: Callable[[Any], None]) -> float:
    t0 = time.perf_counter()
    for b in batches:
        fn(b)
    return time.perf_counter() - t0


# --- 3. Postgres -------------------------------------------------------------------------

PLAIN_TABLE_DDL = """
CREATE TABLE conversations_plain (
    id uuid, tenant_id text, user_id text, session_id text, message_type text, channel text,
    content text, metadata jsonb, created_at timestamptz, ingested_at timestamptz,
    source_topic text, source_partition integer, source_offset bigint
)
"""


def bench_postgres(settings: Settings, batches: list[list[Message]]) -> list[dict[str, Any]]:
    import psycopg
    from psycopg.conninfo import make_conninfo

    from projections.postgres_sink import COLUMNS, PostgresConversationSink
    from schemas import serde
    from schemas.events import ConversationMessageRedacted

    n = sum(len(b) for b in batches)
    dbname = f"bench_{uuid.uuid4().hex[:10]}"
    admin_url = settings.resolved_database_url()
    bench_url = make_conninfo(admin_url, dbname=dbname)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    log(f"postgres: {n:,} rows into fresh database {dbname}")
    sink = None
    try:
        sink = PostgresConversationSink(settings.model_copy(update={"database_url": bench_url}))
        row_batches = [[sink._row(m, serde.decode(m.value(), ConversationMessageRedacted))
                        for m in b] for b in batches]
        with psycopg.connect(bench_url, autocommit=True) as conn:
            conn.execute(PLAIN_TABLE_DDL)

            def copy_plain(rows: list[tuple]) -> None:
                with conn.transaction(), conn.cursor().copy(
                        f"COPY conversations_plain ({', '.join(COLUMNS)}) FROM STDIN") as cp:
                    for r in rows:
                        cp.write_row(r)

            base_s = _timed_batches(row_batches, copy_plain)
        ours_s = _timed_batches(batches, sink.write)
        stored = sink.conn.execute("SELECT count(*) FROM ai_conversations").fetchone()[0]
        if stored != n:
            raise RuntimeError(f"postgres sink stored {stored} of {n} rows")
    finally:
        if sink is not None:
            sink.close()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    return [row(f"Postgres projection ({n:,} rows, batches of {BATCH})",
                "bare psycopg COPY into a plain table", n / base_s, n / ours_s, "rows/s")]


# --- 4. ClickHouse -----------------------------------------------------------------------

def bench_clickhouse(batches: list[list[Message]]) -> list[dict[str, Any]]:
    from projections.clickhouse_sink import TABLE, ClickHouseMetricsSink, metric_row
    from projections.metrics_store import DEDUP_WINDOW, STEP_METRICS_DDL, ChdbStore, rows_to_json

    n = sum(len(b) for b in batches)
    tmp = Path(tempfile.mkdtemp(prefix="auterity-bench-chdb-"))
    log(f"clickhouse: {n:,} rows into chDB at {tmp}")
    store = ChdbStore(tmp, "bench")
    try:
        sink = ClickHouseMetricsSink(store)  # creates bench.step_metrics
        session = store._session  # the same chDB session: one directory per process
        session.query("CREATE DATABASE IF NOT EXISTS bench_raw")
        session.query(STEP_METRICS_DDL.format(db="bench_raw", window=DEDUP_WINDOW))
        row_batches = [[metric_row(m) for m in b] for b in batches]

        def insert_plain(rows: list[dict[str, Any]]) -> None:
            session.query(f"INSERT INTO bench_raw.{TABLE} FORMAT JSONEachRow\n"
                          + rows_to_json(rows))

        base_s = _timed_batches(row_batches, insert_plain)
        ours_s = _timed_batches(batches, sink.write)
        stored = store.query(f"SELECT count() AS c FROM bench.{TABLE}")[0]["c"]
        if int(stored) != n:
            raise RuntimeError(f"clickhouse sink stored {stored} of {n} rows")
    finally:
        store.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return [row(f"ClickHouse projection ({n:,} rows, batches of {BATCH})",
                "bare chDB INSERT FORMAT JSONEachRow", n / base_s, n / ours_s, "rows/s")]


# --- table + main ------------------------------------------------------------------------

def _fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return ""
    if unit == "recall":
        return f"{v:.3f}"
    if isinstance(v, float) and v == float("inf"):
        return "inf"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if float(v).is_integer():
        return f"{int(v)}"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"


def print_table(rows: list[dict[str, Any]]) -> None:
    head = ("benchmark", "baseline (what)", "baseline", "ours", "unit", "ratio (ours/base)")
    cells = [head] + [(r["benchmark"], r["baseline_what"], _fmt(r["baseline"], r["unit"]),
                       _fmt(r["ours"], r["unit"]),
                       r["unit"], "" if r["ratio"] is None else f"{r['ratio']:.2f}")
                      for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    right = {2, 3, 5}
    for j, c in enumerate(cells):
        print(" | ".join(c[i].rjust(widths[i]) if i in right else c[i].ljust(widths[i])
                         for i in range(len(head))).rstrip())
        if j == 0:
            print("-+-".join("-" * w for w in widths))


def main(settings: Settings, quick: bool = False) -> int:
    from compose import stack
    from runtime.kafka_clients import ensure_topics
    from schemas import topics

    started = time.perf_counter()
    n_kafka, n_pii, n_proj = (5000, 200, 10_000) if quick else (20_000, 500, 20_000)
    tag = uuid.uuid4().hex[:8]
    bench = settings.model_copy(update={"topic_prefix": f"bench.{tag}.",
                                        "app_id": f"auterity-bench-{tag}"})
    log("starting the stack (Kafka, Postgres, chDB check)")
    for h in stack.up(settings):
        if not h.healthy:
            raise RuntimeError(f"{h.name} is not healthy: {h.detail}")
    ensure_topics(settings)
    ensure_topics(bench)
    for spec in (topics.CONVERSATIONS_RAW, topics.CONVERSATIONS_REDACTED):
        wait_for_topic(bench, spec.name(bench.topic_prefix), spec.partitions)
    rows: list[dict[str, Any]] = []
    try:
        rows += bench_kafka(bench, n_kafka)
        rows += bench_pii(n_pii)
        batches = projection_batches(bench, n_proj)
        rows += bench_postgres(bench, batches)
        rows += bench_clickhouse(batches)
        from bench.llm_bench import local_model_rows, router_rows

        log("LLM router, cache and local model")
        rows += router_rows()
        rows += local_model_rows(2 if quick else 4)
        from bench.ocr_bench import ocr_rows
        from bench.voice_bench import voice_rows

        log("OCR: ours vs the tesseract CLI on the same pages; scaling with processes")
        rows += ocr_rows(6 if quick else 12)
        log("transcription: ours vs bare faster-whisper on the same audio")
        rows += voice_rows(1 if quick else 2)
    finally:
        deleted = delete_topics(settings, [bench.topic_prefix, bench.app_id])
        log(f"deleted {deleted} bench topic(s)")
        if rows:
            print_table(rows)
    log(f"done in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == PASSTHROUGH_FLAG:
        faust_passthrough_main(json.loads(sys.argv[2]))
    else:
        sys.exit(main(Settings(), quick="--quick" in sys.argv[1:]))
