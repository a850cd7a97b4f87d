"""Document extractions and call analyses -> ClickHouse `media_metrics` (no text).

Invariant (nothing lost, nothing doubled), as for `step_metrics`: one insert per
topic-partition offset range with the deduplication token `topic:partition:first-last`;
each row carries its own topic/partition/offset, and on start the consumer seeks to
max(offset)+1 read from the table itself. A record that does not decode still gets a row
(kind = the decode error), so it is counted, never skipped.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Message

from projections.clickhouse_sink import ClickHouseRowSink, ch_datetime
from schemas import serde, topics
from schemas.events import CallAnalyzed, DocumentExtracted

TABLE = "media_metrics"
MEDIA_TOPICS = (topics.DOCUMENTS_EXTRACTED, topics.CALLS_ANALYZED)


def _zero() -> dict[str, Any]:
    return {"pages": 0, "words": 0, "duration_s": 0.0, "processing_ms": 0.0,
            "realtime_factor": 0.0, "confidence": 0.0, "sentiment": 0.0, "call_score": 0,
            "appointment_set": 0, "action_items": 0}


def media_row(m: Message) -> dict[str, Any]:
    """The media_metrics row of one record of documents.extracted or calls.analyzed."""
    base = {"topic": m.topic(), "partition": m.partition(), "offset": m.offset(), **_zero()}
    try:
        ev = serde.decode_any(m.value())
    except serde.DecodeError as exc:
        return {**base, "event_id": f"{m.topic()}:{m.partition()}:{m.offset()}",
                "tenant_id": "unknown", "step": "media_projection", "subject_id": "",
                "kind": exc.kind, "created_at": ch_datetime(datetime.now(UTC))}
    common = {**base, "event_id": ev.event_id, "tenant_id": ev.tenant_id,
              "created_at": ch_datetime(ev.occurred_at)}
    if isinstance(ev, DocumentExtracted):
        return {**common, "step": "ocr", "subject_id": ev.document_id,
                "kind": ev.document_kind or "other", "pages": ev.pages, "words": ev.word_count,
                "processing_ms": ev.processing_ms, "confidence": ev.confidence}
    if isinstance(ev, CallAnalyzed):
        score = json.loads(ev.score_json or "{}")
        rtf = ev.processing_ms / 1000 / ev.duration_s if ev.duration_s else 0.0
        return {**common, "step": "voice", "subject_id": ev.call_id, "kind": "call",
                "duration_s": ev.duration_s, "processing_ms": ev.processing_ms,
                "realtime_factor": rtf, "confidence": ev.confidence or 0.0,
                "sentiment": ev.sentiment or 0.0, "call_score": int(score.get("score", 0)),
                "appointment_set": int(bool(score.get("appointment_set"))),
                "action_items": len(ev.action_items)}
    return {**common, "step": "media_projection", "subject_id": "",
            "kind": "unexpected_event_type"}


class MediaMetricsSink(ClickHouseRowSink):
    """Projection `clickhouse_media` of documents.extracted and calls.analyzed."""

    name = "clickhouse_media"
    table = TABLE
    row = staticmethod(media_row)
