"""`auterity ocr | transcribe | upload`: the document and call steps off-stream, and uploads.

`ocr` and `transcribe` run the same processors as the stream in this process. They print
the file's own content (it is the caller's file, on the caller's terminal) unless
`--redact` asks for exactly what the stream would publish; the LLM only ever sees the
redacted transcript either way. `upload` stages files (inline or in the blob store) and
produces their events to documents.uploaded / calls.recorded.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from runtime.settings import Settings


def _restore(text: str, labels: dict[str, str]) -> str:
    """`text` with pseudonym labels replaced by the raw values they stand for."""
    for raw, label in labels.items():
        text = text.replace(label, raw)
    return text


def cmd_ocr(args: argparse.Namespace, settings: Settings) -> int:
    from processors.media_jobs import document_job
    from processors.ocr.document import ocr_file

    if args.redact:
        data = _read_checked(Path(args.path), settings.max_document_bytes)
        job = document_job(data, Path(args.path).name, None,
                           settings.resolved_pseudonym_key(), settings.max_document_bytes,
                           settings.max_document_pages)
        out: dict[str, Any] = {"text": job.redacted_text, "confidence": job.confidence,
                               "fields": job.fields, "pages": job.pages,
                               "document_kind": job.document_kind,
                               "corrections": job.corrections, "blocks": job.blocks,
                               "processing_ms": job.processing_ms}
    else:
        r = ocr_file(args.path, max_bytes=settings.max_document_bytes,
                     max_pages=settings.max_document_pages)
        out = {"text": r.text, "confidence": r.confidence, "fields": r.fields.model_dump(),
               "pages": r.pages, "document_kind": r.document_kind,
               "corrections": r.corrections,
               "blocks": [b.model_dump() for b in r.blocks], "processing_ms": r.processing_ms}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{args.path}: {out['document_kind']}, {out['pages']} page(s), confidence "
          f"{out['confidence']:.2f}, {out['processing_ms']:.0f} ms")
    for name, value in out["fields"].items():
        print(f"  {name:<16} {value if value is not None else '-'}")
    for note in out["corrections"]:
        print(f"  correction: {note}")
    print()
    print(out["text"])
    return 0


def _read_checked(path: Path, max_bytes: int) -> bytes:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"{path} is {size:,} bytes; the limit is {max_bytes:,}")
    return path.read_bytes()


def cmd_transcribe(args: argparse.Namespace, settings: Settings) -> int:
    from cli.builder import ModelSession
    from processors.pii.pieces import redact_pieces
    from processors.voice.call import analyze_transcript, transcribe_audio

    data = _read_checked(Path(args.path), settings.max_audio_bytes)
    print(f"transcribing {args.path} ({len(data):,} bytes)...", file=sys.stderr)
    t = transcribe_audio(data, max_bytes=settings.max_audio_bytes,
                         max_duration_s=settings.max_audio_seconds, batched=args.batched)
    red = redact_pieces([s.text for s in t.segments], settings.resolved_pseudonym_key())
    redacted = [s.model_copy(update={"text": x}) for s, x in
                zip(t.segments, red.texts, strict=True)]
    session = ModelSession(settings, not args.no_model)
    call_time = datetime.fromisoformat(args.call_time) if args.call_time else datetime.now(UTC)
    print(f"analysing {len(redacted)} segment(s)"
          f"{' with the model' if session.gateway else ''}...", file=sys.stderr)
    report = analyze_transcript(redacted, call_time=call_time, gateway=session.gateway,
                                tenant_id=args.tenant, silence_s=t.silence_s)
    shown = redacted if args.redact else t.segments

    def show(text: str) -> str:
        return text if args.redact else _restore(text, red.labels)

    out: dict[str, Any] = {
        "text": " ".join(s.text.strip() for s in shown), "language": t.language,
        "duration_s": t.duration_s, "speakers": t.speakers,
        "segments": [{**s.model_dump(), "sentiment": sent}
                     for s, sent in zip(shown, report.segment_sentiments, strict=True)],
        "sentiment": {"compound": report.sentiment, "label": report.sentiment_label},
        "stress": t.stress,
        "action_items": [{**a.model_dump(), "task": show(a.task),
                          "assignee": show(a.assignee) if a.assignee else None}
                         for a in report.action_items],
        "summary": show(report.summary), "summary_source": report.summary_source,
        "score": report.score.model_dump(), "notes": report.notes,
        "processing_ms": t.processing_ms, "usage": session.finish(),
    }
    if args.json:
        print(json.dumps(out, indent=2, default=str))
        return 0
    print(f"{args.path}: {t.duration_s:.1f}s, {t.language}, speakers {', '.join(t.speakers)}, "
          f"sentiment {report.sentiment:+.2f} ({report.sentiment_label}), score "
          f"{report.score.score}/100")
    for s in out["segments"]:
        print(f"  [{s['start']:6.1f}-{s['end']:6.1f}] {s['speaker']:<9} {s['text'].strip()}")
    print(f"summary: {out['summary']}")
    for a in out["action_items"]:
        print(f"  action: {a['task']} (assignee {a['assignee'] or '-'}, deadline "
              f"{a['deadline'] or '-'}, {a['priority']})")
    return 0


def cmd_upload(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.ingest import produce
    from connectors.media_upload import call_recording, document_upload
    from schemas import topics

    events: list[Any] = []
    for i, path in enumerate(args.paths):
        subject = args.id if args.id and len(args.paths) == 1 else (
            f"{args.id}-{i + 1}" if args.id else None)
        try:
            if args.kind == "document":
                events.append(document_upload(Path(path), tenant_id=args.tenant,
                                              settings=settings, document_id=subject,
                                              document_kind=args.document_kind))
            else:
                events.append(call_recording(Path(path), tenant_id=args.tenant,
                                             settings=settings, call_id=subject,
                                             direction=args.direction))
        except (OSError, ValueError) as exc:
            events.append(ValueError(f"{path}: {exc}"))
    spec = topics.DOCUMENTS_UPLOADED if args.kind == "document" else topics.CALLS_RECORDED
    report = produce(settings, spec, events)
    for problem in report.rejected:
        print(f"rejected {problem}", file=sys.stderr)
    for ev in events:
        if not isinstance(ev, Exception):
            where = ev.blob_ref or "inline"
            ident = ev.document_id if args.kind == "document" else ev.call_id
            print(f"{ident}: {ev.size_bytes:,} bytes, {ev.content_type}, {where}")
    print(f"sent {report.sent} upload(s) to {spec.name(settings.topic_prefix)}; rejected "
          f"{len(report.rejected)}")
    return 1 if report.rejected else 0


def add_media_commands(sub: Any) -> None:
    s = sub.add_parser("ocr", help="OCR a scan or PDF and extract dealership fields (no Kafka)",
                       description="Tesseract OCR with preprocessing, per-word confidence, "
                                   "layout blocks and field extraction (VIN with check digit, "
                                   "RO/stock numbers, customer, phone, address, mileage, "
                                   "dates, totals). Prints the file's own values; --redact "
                                   "prints what documents.extracted would carry.")
    s.add_argument("path", help="image (PNG, JPEG, TIFF) or PDF")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--redact", action="store_true", help="PII replaced by pseudonyms")
    s.set_defaults(fn=cmd_ocr)

    s = sub.add_parser("transcribe", help="transcribe and analyse a call recording (no Kafka)",
                       description="faster-whisper (packaged tiny.en, int8) with VAD, speaker "
                                   "turns, sentiment, stress, action items, summary and call "
                                   "score. The transcript is redacted before the analysis and "
                                   "the LLM see it.")
    s.add_argument("path", help="audio file (WAV, FLAC, MP3, OGG, ...)")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument("--redact", action="store_true", help="PII replaced by pseudonyms")
    s.add_argument("--no-model", action="store_true",
                   help="rules only: no LLM for action items and summary")
    s.add_argument("--batched", action="store_true", help="batched Whisper inference")
    s.add_argument("--tenant", default="cli", help="tenant for model usage (default: cli)")
    s.add_argument("--call-time", help="ISO time of the call, for deadlines (default: now)")
    s.set_defaults(fn=cmd_transcribe)

    s = sub.add_parser("upload", help="send scans or call recordings into the stream",
                       description="Stages each file (inline up to AUTERITY_INLINE_MAX_BYTES, "
                                   "else in the content-addressed blob store) and produces its "
                                   "event to documents.uploaded or calls.recorded.")
    s.add_argument("kind", choices=["document", "call"])
    s.add_argument("paths", nargs="+", help="files to upload")
    s.add_argument("--tenant", required=True, help="the dealership (tenant id)")
    s.add_argument("--id", help="document/call id (default: derived from the content)")
    s.add_argument("--document-kind", help="repair_order, buyers_order, drivers_license, ...")
    s.add_argument("--direction", choices=["inbound", "outbound"], default="inbound")
    s.set_defaults(fn=cmd_upload)
