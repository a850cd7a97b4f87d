"""ingest.produce reports every record Kafka refuses (at produce or in its delivery report)
by where it came from, and still sends and flushes the others."""

from __future__ import annotations

import json
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException

from connectors import ingest
from runtime.settings import Settings
from schemas import topics


class FakeProducer:
    """Refuses key b'c2' at produce() and fails the delivery of key b'c3'."""

    def __init__(self) -> None:
        self.queued: list[tuple[bytes, Any]] = []
        self.delivered: list[bytes] = []

    def produce(self, topic: str, key: bytes, value: bytes, on_delivery: Any) -> None:
        if key == b"c2":
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
        self.queued.append((key, on_delivery))

    def poll(self, timeout: float = 0) -> int:
        served = 0
        while self.queued:
            key, cb = self.queued.pop(0)
            if key == b"c3":
                cb(KafkaError(KafkaError.REQUEST_TIMED_OUT), None)
            else:
                self.delivered.append(key)
                cb(None, None)
            served += 1
        return served

    def flush(self, timeout: float = 0) -> int:
        self.poll()
        return 0

    def purge(self) -> None:
        raise AssertionError("nothing is left to purge")


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeProducer:
    producer = FakeProducer()
    monkeypatch.setattr(ingest.kafka_clients, "producer", lambda settings, **_: producer)
    return producer


def _lines(*conversations: str) -> list[str]:
    return [json.dumps({"tenant_id": "d1", "conversation_id": c, "text": "hi"})
            for c in conversations]


def test_refused_records_are_reported_by_line_and_the_others_sent(fake: FakeProducer):
    lines = _lines("c1", "c2", "c3", "c4")
    report = ingest.produce(Settings(), topics.CONVERSATIONS_RAW,
                            ingest.numbered_lines(lines, topics.CONVERSATIONS_RAW.model))
    assert fake.delivered == [b"c1", b"c4"]
    assert report.sent == 2
    assert [r.split(":")[0] for r in report.rejected] == ["line 2", "line 3"]
    assert "too large" in report.rejected[0]
    assert "REQUEST_TIMED_OUT" in report.rejected[1]


def test_a_record_over_the_message_limit_is_not_produced(fake: FakeProducer):
    settings = Settings(max_message_bytes=1000)
    lines = [*_lines("c1"), json.dumps({"tenant_id": "d1", "conversation_id": "c9",
                                        "text": "x" * 2000})]
    report = ingest.produce(settings, topics.CONVERSATIONS_RAW,
                            ingest.numbered_lines(["", *lines], topics.CONVERSATIONS_RAW.model))
    assert fake.delivered == [b"c1"] and report.sent == 1
    [problem] = report.rejected
    assert problem.startswith("line 3: too large") and "1,000 bytes" in problem


def test_unnamed_events_are_named_by_position(fake: FakeProducer):
    events = [ingest.parse_line(line, topics.CONVERSATIONS_RAW.model)
              for line in _lines("c1", "c2", "c3")]
    report = ingest.produce(Settings(), topics.CONVERSATIONS_RAW, events)
    assert report.sent == 1
    assert [r.split(": not sent")[0] for r in report.rejected] == ["record 2", "record 3"]
