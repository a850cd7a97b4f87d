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
import logging
from typing import Any

import faust

from connectors.blob_store import open_blob_store
from connectors.media_upload import payload_of
from processors.llm.gateway import LlmGateway
from processors.media_jobs import (
    OCR_STEP,
    VOICE_STEP,
    call_analyzed,
    call_job,
    document_extracted,
    document_job,
    warm_up,
)
from processors.pii.output_firewall import scan_job
from processors.voice.call import analyze_transcript
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import (
    CallRecorded,
    DocumentUploaded,
    RestrictedFields,
)
from streams.process_pool import StepPool, shut_down_with
from streams.step_loop import Send, step_agent
from streams.usage_sink import KafkaUsageSink

log = logging.getLogger("auterity.media")


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

    def sends(out: Any, subject_id: str, topic: Any, fields: RestrictedFields | None
              ) -> list[Send]:
        found: list[Send] = [(topic, subject_id.encode(), serde.encode(out))]
        if fields is not None:
            found.append((restricted, subject_id.encode(), serde.encode(fields)))
        return found

    async def on_document(rec: Any) -> list[Send]:
        up = serde.decode(rec.message.value, DocumentUploaded)
        data = await asyncio.to_thread(payload_of, up, store, settings.max_document_bytes)
        r = await pool.run(document_job, data, up.filename, up.content_type, key,
                           settings.max_document_bytes, settings.max_document_pages)
        out, fields = document_extracted(up, r)
        out = await pool.run(scan_job, out)  # the output firewall, in the media pool
        return sends(out, up.document_id, extracted, fields)

    async def on_call(rec: Any) -> list[Send]:
        call = serde.decode(rec.message.value, CallRecorded)
        data = await asyncio.to_thread(payload_of, call, store, settings.max_audio_bytes)
        job = await pool.run(call_job, data, call.content_type, key, settings.max_audio_bytes,
                             settings.max_audio_seconds)
        t = job.transcript
        report = await asyncio.to_thread(
            analyze_transcript, t.segments, call_time=call.occurred_at, gateway=gateway,
            tenant_id=call.tenant_id, silence_s=t.silence_s)
        out, fields = call_analyzed(call, job, report)
        out = await pool.run(scan_job, out)  # the output firewall, in the media pool
        return sends(out, call.call_id, analyzed, fields)

    step_agent(app, settings, topics.DOCUMENTS_UPLOADED, OCR_STEP, on_document,
               batch=pool.workers * 2, concurrency=pool.workers)
    step_agent(app, settings, topics.CALLS_RECORDED, VOICE_STEP, on_call,
               batch=pool.workers * 2, concurrency=pool.workers, after_batch=usage.flush_or_raise)
