"""Ingest: JSON lines (file/stdin) or any iterable of events -> validated events -> Avro -> topic.

Invalid lines are reported with their line number and reason and are not sent; so is a line
whose encoded record exceeds the topic's message limit (`max_message_bytes`), and a record
Kafka refuses or does not acknowledge. Every other record is sent and flushed, and the
command exits non-zero when any line was rejected. Missing `event_id`/`occurred_at` are
filled in (uuid4 / now); `ingested_at` is always stamped here.

A text over `max_text_chars` that fits the message limit is sent: the PII step dead-letters
it as `oversized` (bad input never stops the stream).

Records are sent as the `ingest` principal, which may write the pipeline's input topics
(runtime/kafka_auth.py INGEST_TOPICS) and read none.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from pydantic import ValidationError

from connectors.kafka_io import produce_blocking
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde
from schemas.errors import describe
from schemas.events import ConversationMessageRaw, Event, utcnow
from schemas.topics import TopicSpec

Item = Event | ValueError
FLUSH_TIMEOUT_S = 60.0


@dataclass
class IngestReport:
    """`sent`: records Kafka acknowledged; `rejected`: one '<where>: <reason>' per record not
    sent (invalid, too large, refused or unacknowledged)."""

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


def too_large(size: int, limit: int) -> str | None:
    """Why a record of `size` bytes (key + value) cannot go to a topic, or None if it fits."""
    if size <= limit:
        return None
    return (f"too large: the encoded record is {size:,} bytes; the topic's limit is "
            f"{limit:,} bytes (AUTERITY_MAX_MESSAGE_BYTES)")


UNACKNOWLEDGED = (f"not acknowledged by Kafka within {FLUSH_TIMEOUT_S:.0f} s "
                  "(it may or may not have been written)")


def _kafka_reason(err: KafkaError) -> str:
    code = err.code()
    if code == KafkaError.MSG_SIZE_TOO_LARGE:
        return f"too large for the topic: Kafka refused it ({err.str()})"
    if code == KafkaError._PURGE_QUEUE:
        return f"not acknowledged by Kafka within {FLUSH_TIMEOUT_S:.0f} s; not written"
    if code in (KafkaError._PURGE_INFLIGHT, KafkaError._MSG_TIMED_OUT):
        return f"{UNACKNOWLEDGED}: {err.str()}"
    return f"Kafka refused it ({err.name()}: {err.str()})"


def produce(settings: Settings, spec: TopicSpec,
            events: Iterable[Item | tuple[str, Item]],
            rate: float | None = None,
            progress: Callable[[int], None] | None = None, *,
            principal: Principal = Principal.INGEST) -> IngestReport:
    """Send `events` to `spec`'s topic keyed by its key field.

    An item is an event, a ValueError (an input already rejected, reported as it is), or a
    (where, event-or-ValueError) pair naming where it came from (e.g. 'line 3'); an unnamed
    event is named 'record <n>' (its position). A record larger than the topic's limit, or
    that Kafka refuses or does not acknowledge, is reported with its name and reason; every
    other record is sent and flushed. The records go as `principal`: the connectors' `ingest`,
    which may write only the input topics (a tool standing in for the worker names its own).
    """
    producer = kafka_clients.producer(settings, principal=principal)
    topic = spec.name(settings.topic_prefix)
    report = IngestReport()
    problems: list[tuple[int, str]] = []  # (position, '<where>: <reason>'), sorted at the end
    pending: dict[int, str] = {}  # record sequence number -> where, until acknowledged
    acked = 0
    fatal: str | None = None
    queued = 0

    def delivered(seq: int) -> Callable[[Any, Any], None]:
        def on_delivery(err: KafkaError | None, msg: Any) -> None:
            nonlocal acked
            where = pending.pop(seq, f"record {seq}")
            if err is None:
                acked += 1
            else:
                problems.append((seq, f"{where}: not sent: {_kafka_reason(err)}"))
        return on_delivery

    started = time.monotonic()
    for n, item in enumerate(events, start=1):
        where, ev = item if isinstance(item, tuple) else (f"record {n}", item)
        if isinstance(ev, ValueError):
            problems.append((n, str(ev)))
            continue
        if fatal:
            problems.append((n, f"{where}: not sent: {fatal}"))
            continue
        if rate:
            delay = started + queued / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if isinstance(ev, ConversationMessageRaw) and rate:
            ev = ev.model_copy(update={"ingested_at": utcnow()})
        key = str(getattr(ev, spec.key)).encode()
        value = serde.encode(ev)
        reason = too_large(len(key) + len(value), settings.max_message_bytes)
        if reason:
            problems.append((n, f"{where}: {reason}"))
            continue
        pending[n] = where
        try:
            produce_blocking(producer, topic, key, value, on_delivery=delivered(n))
        except KafkaException as exc:
            pending.pop(n, None)
            err = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            problems.append((n, f"{where}: not sent: "
                                f"{_kafka_reason(err) if err else f'Kafka refused it ({exc})'}"))
            if err is not None and err.fatal():
                fatal = f"the producer failed ({err.name()}: {err.str()})"
            continue
        queued += 1
        if progress and queued % 500 == 0:
            progress(queued)
    if producer.flush(FLUSH_TIMEOUT_S) > 0:
        producer.purge()  # what is left gets its delivery report (purged) now
        producer.flush(5)
    problems.extend((seq, f"{where}: not sent: {UNACKNOWLEDGED}") for seq, where in pending.items())
    report.rejected = [problem for _, problem in sorted(problems, key=lambda p: p[0])]
    report.sent = acked
    report.seconds = time.monotonic() - started
    return report


def numbered_lines(lines: Iterable[str],
                   model: type[Event]) -> Iterator[tuple[str, Item]]:
    """Parse JSON lines into ('line <n>', event or ValueError) pairs for `produce`; a bad
    line's ValueError names its line number and reason. Blank lines are skipped."""
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield f"line {n}", parse_line(line, model)
        except ValueError as exc:
            yield f"line {n}", ValueError(f"line {n}: {exc}")


def parse_lines(lines: Iterable[str], model: type[Event]) -> Iterator[Item]:
    """Parse JSON lines; a bad line yields a ValueError naming its line number and reason."""
    for _, item in numbered_lines(lines, model):
        yield item
