"""`auterity bench`: every benchmark against its bare-library baseline, measured in one run.

    auterity bench [--quick]        (or: python -m bench.run [--quick])

Rows (ratio = ours / baseline; for throughput, higher is better), one module per area:
1. Kafka end to end (`bench.kafka_bench`): raw confluent-kafka Producer -> Consumer of
   pre-encoded events vs our ingest (`connectors.ingest.produce`: JSON -> pydantic -> Avro)
   -> a Faust passthrough agent (`bench.faust_passthrough`: decode + re-encode + forward,
   app settings as streams/app.py) -> Consumer + decode.
2. PII analysis (`bench.pii_bench`): presidio per text vs our batched PiiAnalyzer.
   PII accuracy (`bench.pii_accuracy`): token removal per type on presidio-evaluator's
   synth_dataset_v2 and on the held-out dealership corpus, stock presidio beside ours.
3. Postgres projection (`bench.postgres_bench`): bare psycopg COPY into a plain table vs
   `PostgresConversationSink.write` (decode, COPY, upsert, offsets in one transaction).
4. ClickHouse projection (`bench.clickhouse_bench`): bare chDB INSERT FORMAT JSONEachRow vs
   `ClickHouseMetricsSink.write` (decode, rows, one deduplicated insert per partition range).
   Both projections read the same input (`bench.projection_input`).
5. LLM router, cache and local model (`bench.llm_bench`).
6. OCR pages/s: `ocr_document` (preprocessing, one tesseract pass, fields) vs the tesseract
   CLI on the same generated pages, one process; and the speed-up of a process pool
   (`bench.ocr_bench`).
7. Transcription real-time factor: `transcribe_audio` vs bare faster-whisper (same model,
   threads, audio, VAD and decode options), not batched and batched (`bench.voice_bench`).
8. AI agents (`bench.agents_bench`): tasks/s through the dispatcher vs the agent called
   directly; memory recall p50 and recall@10 at 100k memories, HNSW vs an exact scan.

The bench never touches pipeline data: its topics carry their own prefix
(`bench.<random>.`) and are deleted at the end, Postgres rows go to a database created for
the run and dropped after it, and chDB runs in a temporary directory. It starts Kafka and
Postgres if they are not running and stops again what it started (`bench.stack_session`).
This module only orchestrates.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

from bench.agents_bench import dispatcher_rows, memory_rows
from bench.clickhouse_bench import clickhouse_rows
from bench.kafka_bench import kafka_rows
from bench.kafka_topics import delete_topics, wait_for_topic
from bench.llm_bench import local_model_rows, router_rows
from bench.ocr_bench import ocr_rows
from bench.pii_accuracy import pii_accuracy_rows
from bench.pii_bench import pii_rows
from bench.postgres_bench import postgres_rows
from bench.projection_input import projection_batches
from bench.stack_session import stack_session
from bench.table import log, print_table
from bench.voice_bench import voice_rows
from runtime.kafka_auth import Principal
from runtime.kafka_clients import ensure_acls, ensure_topics, remove_acls
from runtime.settings import Settings
from schemas import topics

#: `python -m bench.run --faust-passthrough '<json>'` still runs the passthrough worker; the
#: bench itself starts it as `python -m bench.faust_passthrough '<json>'`.
PASSTHROUGH_FLAG = "--faust-passthrough"


def benchmarks(bench: Settings, quick: bool) -> Iterator[list[dict[str, Any]]]:
    """Each area's rows in table order, as measured (so a failure keeps the rows before it)."""
    n_kafka, n_pii, n_proj = (5000, 200, 10_000) if quick else (20_000, 500, 20_000)
    yield kafka_rows(bench, n_kafka)
    yield pii_rows(n_pii)
    yield pii_accuracy_rows()
    batches = projection_batches(bench, n_proj)
    yield postgres_rows(bench, batches)
    yield clickhouse_rows(batches)
    log("LLM router, cache and local model")
    yield router_rows()
    yield local_model_rows(2 if quick else 4)
    log("OCR: ours vs the tesseract CLI on the same pages; scaling with processes")
    yield ocr_rows(6 if quick else 12)
    log("transcription: ours vs bare faster-whisper on the same audio")
    yield voice_rows(1 if quick else 2)
    log("AI agents: the dispatcher's overhead; memory recall, HNSW vs an exact scan")
    yield dispatcher_rows(2000 if quick else 10_000)
    yield memory_rows(bench, 20_000 if quick else 100_000)


def main(settings: Settings, quick: bool = False) -> int:
    started = time.perf_counter()
    tag = uuid.uuid4().hex[:8]
    bench = settings.model_copy(update={"topic_prefix": f"bench.{tag}.",
                                        "app_id": f"auterity-bench-{tag}"})
    log("starting the stack (Kafka, Postgres)")
    with stack_session(settings):
        ensure_topics(settings, principal=Principal.ADMIN)
        ensure_topics(bench, principal=Principal.ADMIN)
        ensure_acls(bench)  # the bench's own prefix: its clients act as the pipeline's do
        for spec in (topics.CONVERSATIONS_RAW, topics.CONVERSATIONS_REDACTED):
            wait_for_topic(bench, spec.name(bench.topic_prefix), spec.partitions)
        rows: list[dict[str, Any]] = []
        try:
            for area_rows in benchmarks(bench, quick):
                rows += area_rows
        finally:
            deleted = delete_topics(settings, [bench.topic_prefix, bench.app_id])
            log(f"deleted {deleted} bench topic(s) and {remove_acls(bench)} ACL(s)")
            if rows:
                print_table(rows)
    log(f"done in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == PASSTHROUGH_FLAG:
        # Imported only on this path: the module loads Faust and the streams app, which the
        # measuring bench process never needs (the worker runs in its own subprocess).
        from bench import faust_passthrough

        faust_passthrough.main(json.loads(sys.argv[2]))
    else:
        sys.exit(main(Settings(), quick="--quick" in sys.argv[1:]))
