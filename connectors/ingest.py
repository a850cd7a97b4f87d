"""Ingest: JSON lines (file/stdin) or any iterable of events -> validated events -> Avro -> topic.

Invalid lines are reported with their line number and reason and are not sent; the command
exits non-zero when any line was rejected. Missing `event_id`/`occurred_at` are filled in
(uuid4 / now); `ingested_at` is always stamped here.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from connectors.kafka_io import produce_blocking
from runtime import kafka_clients
from runtime.settings import Settings
from schemas import serde
from schemas.errors import describe
from schemas.events import ConversationMessageRaw, Event, utcnow
from schemas.topics import TopicSpec


@dataclass
class IngestReport:
    sent: int = 0
    rejected: list[str] = field(default_factory=list)
    seconds: float = 0.0


def parse_line(line: str, model: type[Event]) -> Event:
    """One JSON line -> event of `model`; raise ValueError naming what is wrong."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    data.setdefault("event_id", str(uuid.uuid4()))
    data.setdefault("occurred_at", utcnow().isoformat())
    if "ingested_at" in model.model_fields:
        data["ingested_at"] = utcnow().isoformat()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(describe(exc))
        raise ValueError(problems) from exc


def produce(settings: Settings, spec: TopicSpec, events: Iterable[Event | ValueError],
            rate: float | None = None,
            progress: Callable[[int], None] | None = None) -> IngestReport:
    """Send `events` to `spec`'s topic keyed by its key field; ValueErrors are reported."""
    producer = kafka_clients.producer(settings)
    topic = spec.name(settings.topic_prefix)
    report = IngestReport()
    failures: list[str] = []

    def on_delivery(err: Any, msg: Any) -> None:
        if err is not None:
            failures.append(f"delivery failed: {err}")

    started = time.monotonic()
    for ev in events:
        if isinstance(ev, ValueError):
            report.rejected.append(str(ev))
            continue
        if rate:
            delay = started + report.sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if isinstance(ev, ConversationMessageRaw) and rate:
            ev = ev.model_copy(update={"ingested_at": utcnow()})
        key = str(getattr(ev, spec.key)).encode()
        produce_blocking(producer, topic, key, serde.encode(ev), on_delivery=on_delivery)
        report.sent += 1
        if progress and report.sent % 500 == 0:
            progress(report.sent)
    if producer.flush(60) > 0:
        failures.append("some records were not acknowledged within 60 s")
    report.seconds = time.monotonic() - started
    if failures:
        raise RuntimeError(f"{len(failures)} delivery failure(s): {failures[0]}")
    return report


def parse_lines(lines: Iterable[str], model: type[Event]) -> Iterator[Event | ValueError]:
    """Parse JSON lines; a bad line yields a ValueError naming its line number and reason."""
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield parse_line(line, model)
        except ValueError as exc:
            yield ValueError(f"line {n}: {exc}")
