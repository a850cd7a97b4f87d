"""The document and call steps' entries: the CPU-heavy halves as process-pool jobs, and the
events their results become (`document_extracted`, `call_analyzed`; no Kafka).

Each job takes the raw bytes and returns only redacted results plus, separately, the raw
PII fields bound for the restricted store. Invariant: raw OCR text and raw transcripts never
leave the worker process — every text in a job's result (except `restricted`) has been
through `redact_pieces`, and extracted PII field values that the recognizers missed are
replaced by their pseudonym labels as well.

Jobs are module-level functions of picklable arguments (spawn-safe). They import the OCR,
PII and voice modules inside their bodies on purpose: the worker's main process imports this
module only to name the jobs, and loading presidio, Whisper and Tesseract there would cost
memory, and the OCR engine's OMP_THREAD_LIMIT=1 would cap llama.cpp's threads in it.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from schemas.events import (
    ActionItem,
    CallAnalyzed,
    CallRecorded,
    DocumentExtracted,
    DocumentUploaded,
    RestrictedFields,
    TranscriptSegment,
)
from schemas.ids import derived_id

#: field name -> the entity type its pseudonym is labelled with
FIELD_ENTITY = {
    "customer_name": "PERSON", "caller_name": "PERSON", "phone": "PHONE_NUMBER",
    "callback_number": "PHONE_NUMBER", "vin": "VIN", "address": "STREET_ADDRESS",
    "license_number": "US_DRIVER_LICENSE", "date_of_birth": "DATE_OF_BIRTH",
    "policy_number": "POLICY_NUMBER",
}


class DocumentJobResult(BaseModel):
    redacted_text: str
    blocks: list[dict[str, Any]]
    fields: dict[str, str | None]  # PII fields as pseudonym labels
    restricted: dict[str, str | None]  # raw PII field values (restricted store only)
    confidence: float
    pages: int
    word_count: int
    document_kind: str
    corrections: list[str] = Field(default_factory=list)
    processing_ms: float


class CallJobResult(BaseModel):
    transcript: Any  # processors.voice.call.Transcript with redacted texts
    restricted: dict[str, str | None]
    pii_types: list[str]


def _scrub(texts: list[str], values: dict[str, str], label: Any) -> list[str]:
    """Replace raw `values` (field -> raw value) still present in `texts` by their labels."""
    out = texts
    for name, value in values.items():
        if not value or len(value) < 3:
            continue
        pattern = re.compile(re.escape(value), re.IGNORECASE)
        lab = label(FIELD_ENTITY.get(name, name.upper()), value)
        out = [pattern.sub(lab, t) for t in out]
    return out


def document_job(data: bytes, filename: str, content_type: str | None, key: bytes,
                 max_bytes: int, max_pages: int) -> DocumentJobResult:
    """OCR + field extraction + redaction of one upload (runs in a pool worker)."""
    from processors.ocr.document import PII_FIELDS, ocr_document
    from processors.pii.pieces import redact_pieces

    r = ocr_document(data, filename=filename, content_type=content_type, max_bytes=max_bytes,
                     max_pages=max_pages)
    red = redact_pieces([b.text for b in r.blocks], key)
    fields = r.fields.model_dump()
    restricted = {k: v for k, v in fields.items() if k in PII_FIELDS and v}
    texts = _scrub(red.texts, restricted, red.book.label)
    public = {k: (red.book.label(FIELD_ENTITY.get(k, k.upper()), v)
                  if k in PII_FIELDS and v else v) for k, v in fields.items()}
    blocks = [{**b.model_dump(), "text": t} for b, t in zip(r.blocks, texts, strict=True)]
    corrections = [c if not any(v in c for v in restricted.values() if v) else
                   c.split(":", 1)[0] + ": corrected (value in the restricted store)"
                   for c in r.corrections]
    return DocumentJobResult(
        redacted_text="\n\n".join(t for t in texts if t.strip()), blocks=blocks, fields=public,
        restricted=restricted, confidence=r.confidence, pages=r.pages,
        word_count=len(r.words), document_kind=r.document_kind, corrections=corrections,
        processing_ms=r.processing_ms)


def call_job(data: bytes, content_type: str | None, key: bytes, max_bytes: int,
             max_seconds: float) -> CallJobResult:
    """Transcription + speaker turns + redaction of one recording (runs in a pool worker)."""
    from processors.pii.pieces import redact_pieces
    from processors.voice.call import transcribe_audio

    t = transcribe_audio(data, content_type=content_type, max_bytes=max_bytes,
                         max_duration_s=max_seconds)
    red = redact_pieces([s.text for s in t.segments], key)
    restricted: dict[str, str | None] = {}
    for seg, fs in zip(t.segments, red.findings, strict=True):
        for f in sorted(fs, key=lambda f: f.start):
            name = {"PERSON": "caller_name", "PHONE_NUMBER": "callback_number"}.get(
                f.entity_type)
            if name and seg.speaker != "agent" and name not in restricted:
                restricted[name] = seg.text[f.start:f.end]
    segments = [s.model_copy(update={"text": text}) for s, text in
                zip(t.segments, red.texts, strict=True)]
    redacted = t.model_copy(update={"segments": segments,
                                    "text": " ".join(x.strip() for x in red.texts)})
    return CallJobResult(transcript=redacted, restricted=restricted,
                         pii_types=sorted(red.values))


def warm_up() -> str:
    """Load the models a worker needs (presidio; Whisper) so the first job is not slow."""
    from processors.pii.redaction import process_analyzer
    from processors.voice.model import get_model

    process_analyzer()
    get_model()
    return f"media worker {os.getpid()} ready"


# --- step results: the events a job's result becomes (pure and cheap; the step runs them
# on its event loop after the pool job, so keep real work out of them) -----------------------

OCR_STEP = "ocr"
VOICE_STEP = "voice"


def restricted_fields(ev: DocumentUploaded | CallRecorded, kind: Literal["document", "call"],
                      subject_id: str, step: str, fields: dict[str, str | None]
                      ) -> RestrictedFields | None:
    """The pii.restricted event of a subject's raw PII fields (None when there are none)."""
    if not fields:
        return None
    return RestrictedFields(
        event_id=derived_id(ev.event_id, f"{step}:restricted"), tenant_id=ev.tenant_id,
        occurred_at=ev.occurred_at, subject_kind=kind, subject_id=subject_id,
        source_event_id=ev.event_id, fields=fields)


def document_extracted(up: DocumentUploaded, r: DocumentJobResult
                       ) -> tuple[DocumentExtracted, RestrictedFields | None]:
    """The OCR step's outputs for one upload: the redacted extraction, and its raw PII fields
    for the restricted store."""
    out = DocumentExtracted(
        event_id=derived_id(up.event_id, OCR_STEP), tenant_id=up.tenant_id,
        occurred_at=up.occurred_at, document_id=up.document_id, source_event_id=up.event_id,
        redacted_text=r.redacted_text, confidence=r.confidence, pages=r.pages,
        fields=r.fields, blocks_json=json.dumps(r.blocks),
        processing_ms=r.processing_ms, document_kind=up.document_kind or r.document_kind,
        word_count=r.word_count, corrections=r.corrections, pii_fields=sorted(r.restricted))
    return out, restricted_fields(up, "document", up.document_id, OCR_STEP, r.restricted)


def call_analyzed(call: CallRecorded, job: CallJobResult, report: Any
                  ) -> tuple[CallAnalyzed, RestrictedFields | None]:
    """The voice step's outputs for one recording: the redacted transcript with its analysis
    (`report`, from processors.voice.call.analyze_transcript), and the caller's raw fields."""
    t = job.transcript
    segments = [TranscriptSegment(start=s.start, end=s.end, speaker=s.speaker,
                                  redacted_text=s.text, sentiment=sent, confidence=s.confidence)
                for s, sent in zip(t.segments, report.segment_sentiments, strict=True)]
    items = [ActionItem(task=a.task, assignee=a.assignee, deadline=a.deadline,
                        priority=a.priority, deadline_phrase=a.deadline_phrase,
                        source=a.source) for a in report.action_items]
    confidences = [s.confidence for s in t.segments]
    out = CallAnalyzed(
        event_id=derived_id(call.event_id, VOICE_STEP), tenant_id=call.tenant_id,
        occurred_at=call.occurred_at, call_id=call.call_id, source_event_id=call.event_id,
        redacted_transcript=t.text, language=t.language, segments=segments,
        sentiment=report.sentiment, summary=report.summary, action_items=items,
        score_json=report.score.model_dump_json(), processing_ms=t.processing_ms,
        duration_s=t.duration_s, speakers=t.speakers, sentiment_label=report.sentiment_label,
        summary_source=report.summary_source, stress_json=json.dumps(t.stress),
        confidence=sum(confidences) / len(confidences) if confidences else None,
        pii_fields=sorted(job.restricted))
    return out, restricted_fields(call, "call", call.call_id, VOICE_STEP, job.restricted)
