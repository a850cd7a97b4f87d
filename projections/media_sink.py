"""Documents and calls -> Postgres, offsets in the same transaction.

- `postgres_media` reads documents.extracted -> `document_extractions` and calls.analyzed ->
  `call_analyses` (redacted text only);
- `postgres_restricted` reads the raw-layer topics pii.restricted and customers.raw (CRM
  contacts, subject kind `customer`) -> `restricted_pii_fields`, a table only
  `auterity_pii_reader` may select from (projections/postgres_schema.py).

Idempotency invariant: each table is keyed by the tenant and the subject (document, call)
and holds the greatest event by (created_at, event_id), whatever order events arrive in, so
a redelivered or replayed event never changes the result.
"""

from __future__ import annotations

import json

from confluent_kafka import Message

from projections.postgres_targets import (
    SOURCE,
    Rows,
    Target,
    TargetedProjection,
    json_field,
    latest_wins,
    source_of,
)
from runtime.kafka_auth import Principal
from schemas import topics
from schemas.events import CallAnalyzed, CustomerContact, DocumentExtracted, RestrictedFields

DOC_COLUMNS = ("tenant_id", "document_id", "event_id", "source_event_id", "document_kind",
               "redacted_text", "confidence", "pages", "word_count", "fields", "blocks",
               "corrections", "pii_fields", "processing_ms", "created_at", *SOURCE)
CALL_COLUMNS = ("tenant_id", "call_id", "event_id", "source_event_id", "redacted_transcript",
                "language", "duration_s", "segments", "speakers", "sentiment",
                "sentiment_label", "summary", "action_items", "score", "stress",
                "processing_ms", "created_at", *SOURCE)
RESTRICTED_COLUMNS = ("tenant_id", "subject_kind", "subject_id", "fields", "event_id",
                      "source_event_id", "created_at", *SOURCE)

DOCUMENTS = Target("document_extractions", DOC_COLUMNS,
                   latest_wins("document_extractions", DOC_COLUMNS, "tenant_id, document_id"))
CALLS = Target("call_analyses", CALL_COLUMNS,
               latest_wins("call_analyses", CALL_COLUMNS, "tenant_id, call_id"))
RESTRICTED = Target("restricted_pii_fields", RESTRICTED_COLUMNS,
                    latest_wins("restricted_pii_fields", RESTRICTED_COLUMNS,
                                "tenant_id, subject_kind, subject_id"))


def document_rows(m: Message, ev: DocumentExtracted) -> Rows:
    return [(DOCUMENTS, (
        ev.tenant_id, ev.document_id, ev.event_id, ev.source_event_id, ev.document_kind,
        ev.redacted_text, ev.confidence, ev.pages, ev.word_count, json.dumps(ev.fields),
        json_field(ev, "blocks_json"), json.dumps(ev.corrections), json.dumps(ev.pii_fields),
        ev.processing_ms, ev.occurred_at, *source_of(m)))]


def call_rows(m: Message, ev: CallAnalyzed) -> Rows:
    return [(CALLS, (
        ev.tenant_id, ev.call_id, ev.event_id, ev.source_event_id, ev.redacted_transcript,
        ev.language, ev.duration_s, json.dumps([s.model_dump() for s in ev.segments]),
        json.dumps(ev.speakers), ev.sentiment, ev.sentiment_label, ev.summary,
        json.dumps([a.model_dump() for a in ev.action_items]), json_field(ev, "score_json"),
        json_field(ev, "stress_json"), ev.processing_ms, ev.occurred_at, *source_of(m)))]


def restricted_rows(m: Message, ev: RestrictedFields) -> Rows:
    return [(RESTRICTED, (
        ev.tenant_id, ev.subject_kind, ev.subject_id, json.dumps(ev.fields), ev.event_id,
        ev.source_event_id, ev.occurred_at, *source_of(m)))]


def contact_rows(m: Message, ev: CustomerContact) -> Rows:
    fields = {"first_name": ev.first_name, "last_name": ev.last_name, "email": ev.email,
              "phone": ev.phone, "email_opt_in": str(ev.email_opt_in).lower(),
              "sms_opt_in": str(ev.sms_opt_in).lower()}
    return [(RESTRICTED, (
        ev.tenant_id, "customer", ev.customer_id, json.dumps(fields), ev.event_id,
        ev.event_id, ev.occurred_at, *source_of(m)))]


class PostgresMediaSink(TargetedProjection):
    """Projection `postgres_media` of documents.extracted and calls.analyzed."""

    name = "postgres_media"
    step = "postgres_media_projection"
    specs = (topics.DOCUMENTS_EXTRACTED, topics.CALLS_ANALYZED)
    handlers = {DocumentExtracted: document_rows, CallAnalyzed: call_rows}
    targets = (DOCUMENTS, CALLS)


class PostgresRestrictedSink(TargetedProjection):
    """Projection `postgres_restricted` of pii.restricted and customers.raw (the raw
    layer's one reader)."""

    name = "postgres_restricted"
    step = "restricted_projection"
    principal = Principal.RESTRICTED  # the one principal that may read pii.restricted
    specs = (topics.RESTRICTED_FIELDS, topics.CUSTOMERS_RAW)
    handlers = {RestrictedFields: restricted_rows, CustomerContact: contact_rows}
    targets = (RESTRICTED,)
