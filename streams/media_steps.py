"""Documents and call recordings on the stream, as two steps:

    documents.uploaded --ocr-->   documents.extracted (+ pii.restricted)
    calls.recorded     --voice--> calls.analyzed      (+ pii.restricted)

The heavy halves (Tesseract; Whisper + speaker turns) run in the step process pool
(streams/process_pool.py) sized to the cores (AUTERITY_MEDIA_WORKERS), one record per
worker at a time, and redact inside the
worker (processors/media_jobs.py), so raw text never reaches this process. The call
analysis (sentiment, action items, summary via the LLM router, scoring) then runs on a
thread over the REDACTED transcript. The event loop only awaits futures.

Invariants: output ids derive from input ids (a redelivery repeats the same events); a
record that cannot be processed (oversized, missing or corrupt blob, undecodable image or
audio, no speech, a worker crash or timeout) becomes one dead letter naming the reason,
and the stream goes on (streams/step_loop.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Literal

import faust

from connectors.blob_store import open_blob_store
from connectors.media_upload import payload_of
from processors.llm.gateway import LlmGateway
from processors.media_jobs import call_job, document_job, warm_up
from processors.voice.call import analyze_transcript
from runtime.settings import Settings
from schemas import serde, topics
from schemas.dead_letters import derived_id
from schemas.events import (
    ActionItem,
    CallAnalyzed,
    CallRecorded,
    DocumentExtracted,
    DocumentUploaded,
    RestrictedFields,
    TranscriptSegment,
)
from streams.process_pool import StepPool, shut_down_with
from streams.step_loop import Send, step_agent
from streams.usage_sink import KafkaUsageSink

log = logging.getLogger("auterity.media")
OCR_STEP = "ocr"
VOICE_STEP = "voice"


def wire(app: faust.App, settings: Settings, gateway: LlmGateway,
         usage: KafkaUsageSink) -> None:
    """Register the OCR and voice steps on `app`; model calls go through the worker's one
    `gateway`, reporting to `usage`."""
    topics.assert_raw_readers(OCR_STEP, topics.DOCUMENTS_UPLOADED)
    topics.assert_raw_readers(VOICE_STEP, topics.CALLS_RECORDED)

    def topic(spec: topics.TopicSpec) -> Any:
        return app.topic(spec.name(settings.topic_prefix), key_type=bytes, value_type=bytes)

    extracted, analyzed = topic(topics.DOCUMENTS_EXTRACTED), topic(topics.CALLS_ANALYZED)
    restricted = topic(topics.RESTRICTED_FIELDS)
    store = open_blob_store(settings.blobs_dir)
    key = settings.resolved_pseudonym_key()
    pool = StepPool("media", settings.media_workers, settings.media_timeout_s,
                    timeout_setting="(AUTERITY_MEDIA_TIMEOUT_S)")
    shut_down_with(app, pool)

    @app.task
    async def _warm_up_media() -> None:
        await pool.warm_up(warm_up)
        log.info("media pool ready: %d process(es)", pool.workers)

    def restricted_send(ev: Any, kind: Literal["document", "call"], subject_id: str, step: str,
                        fields: dict[str, str | None]) -> list[Send]:
        if not fields:
            return []
        out = RestrictedFields(
            event_id=derived_id(ev.event_id, f"{step}:restricted"), tenant_id=ev.tenant_id,
            occurred_at=ev.occurred_at, subject_kind=kind, subject_id=subject_id,
            source_event_id=ev.event_id, fields=fields)
        return [(restricted, subject_id.encode(), serde.encode(out))]

    async def on_document(rec: Any) -> list[Send]:
        up = serde.decode(rec.message.value, DocumentUploaded)
        data = await asyncio.to_thread(payload_of, up, store, settings.max_document_bytes)
        r = await pool.run(document_job, data, up.filename, up.content_type, key,
                           settings.max_document_bytes, settings.max_document_pages)
        out = DocumentExtracted(
            event_id=derived_id(up.event_id, OCR_STEP), tenant_id=up.tenant_id,
            occurred_at=up.occurred_at, document_id=up.document_id, source_event_id=up.event_id,
            redacted_text=r.redacted_text, confidence=r.confidence, pages=r.pages,
            fields=r.fields, blocks_json=json.dumps(r.blocks),
            processing_ms=r.processing_ms, document_kind=up.document_kind or r.document_kind,
            word_count=r.word_count, corrections=r.corrections, pii_fields=sorted(r.restricted))
        return [(extracted, up.document_id.encode(), serde.encode(out)),
                *restricted_send(up, "document", up.document_id, OCR_STEP, r.restricted)]

    async def on_call(rec: Any) -> list[Send]:
        call = serde.decode(rec.message.value, CallRecorded)
        data = await asyncio.to_thread(payload_of, call, store, settings.max_audio_bytes)
        job = await pool.run(call_job, data, call.content_type, key, settings.max_audio_bytes,
                             settings.max_audio_seconds)
        t = job.transcript
        report = await asyncio.to_thread(
            analyze_transcript, t.segments, call_time=call.occurred_at, gateway=gateway,
            tenant_id=call.tenant_id, silence_s=t.silence_s)
        segments = [TranscriptSegment(start=s.start, end=s.end, speaker=s.speaker,
                                      redacted_text=s.text, sentiment=sent,
                                      confidence=s.confidence)
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
        return [(analyzed, call.call_id.encode(), serde.encode(out)),
                *restricted_send(call, "call", call.call_id, VOICE_STEP, job.restricted)]

    step_agent(app, settings, topics.DOCUMENTS_UPLOADED, OCR_STEP, on_document,
               batch=pool.workers * 2, concurrency=pool.workers)
    step_agent(app, settings, topics.CALLS_RECORDED, VOICE_STEP, on_call,
               batch=pool.workers * 2, concurrency=pool.workers, after_batch=usage.flush_or_raise)
