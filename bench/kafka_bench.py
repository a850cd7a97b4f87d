"""Kafka end to end: raw produce -> consume vs our ingest -> a Faust passthrough -> consume.

- baseline: a raw confluent-kafka Producer of pre-encoded events -> a raw Consumer;
- ours: `connectors.ingest.produce` (JSON -> pydantic -> Avro) -> the Faust passthrough worker
  (bench/faust_passthrough.py: decode + re-encode + forward, app settings as streams/app.py)
  -> a Consumer + decode.
Each side's best of `rounds`; each round on new offsets.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bench.kafka_topics import assign_from, consume_n, create_topic, new_consumer
from bench.table import log, row
from connectors.ingest import parse_lines, produce
from connectors.kafka_io import produce_blocking
from connectors.samples.conversations import sample_events
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import ConversationMessageRaw

#: The passthrough worker's entry, started by module name so this process never loads Faust.
PASSTHROUGH_MODULE = "bench.faust_passthrough"


def passthrough_command(config: dict[str, Any]) -> list[str]:
    return [sys.executable, "-m", PASSTHROUGH_MODULE, json.dumps(config)]


@contextmanager
def faust_passthrough(settings: Settings, in_topic: str, out_topic: str) -> Iterator[None]:
    """The Faust passthrough worker running in a subprocess for the duration of the block."""
    config = {"home": str(settings.home), "app_id": settings.app_id,
              "kafka_servers": settings.kafka_servers, "in_topic": in_topic,
              "out_topic": out_topic, "max_message_bytes": settings.max_message_bytes,
              "batch": settings.redaction_batch * settings.redaction_workers}
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.logs_dir / "bench-faust.log"
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            passthrough_command(config),
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
    n = len(payloads)
    create_topic(settings, topic)
    consumer = new_consumer(settings)
    producer = kafka_clients.producer(settings, principal=Principal.ADMIN)  # our config
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
    n = len(lines)
    consumer = new_consumer(settings)
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


def kafka_rows(settings: Settings, n: int, rounds: int = 2) -> list[dict[str, Any]]:
    """Best of `rounds` for each side (this 2-core box is noisy); each round on new offsets."""
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
        warm = new_consumer(settings)
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
