"""The demo's documents-and-calls part: scans and call recordings -> extractions, analyses."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg

from connectors.ingest import produce
from connectors.media_upload import call_recording, document_upload
from connectors.samples.calls import SCRIPTS, generate_call
from connectors.samples.scans import DISTORTIONS, KINDS, make_scan
from projections.metrics_reader import open_metrics_reader
from runtime.settings import Settings
from schemas import topics

DEMO_CALLS = ("service_booking", "sales_follow_up")


def _wait_rows(settings: Settings, sql: str, params: tuple, want: int,
               timeout_s: float) -> list[tuple]:
    deadline = time.monotonic() + timeout_s
    rows: list[tuple] = []
    with psycopg.connect(settings.resolved_database_url(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            rows = conn.execute(sql, params).fetchall()
            if len(rows) >= want:
                break
            time.sleep(1.0)
    return rows


def run_media_demo(settings: Settings, tenants: int, say: Callable[[str], None],
                   timeout_s: float = 600.0) -> None:
    """Upload one scan of each kind and two calls; wait for their results and print them."""
    run = uuid.uuid4().hex[:8]
    work = settings.home / "demo-media" / run
    work.mkdir(parents=True, exist_ok=True)
    docs, calls = [], []
    for i, kind in enumerate(KINDS):
        scan = make_scan(kind, 500 + i, DISTORTIONS[i % len(DISTORTIONS)])
        path = work / scan.filename
        path.write_bytes(scan.data)
        docs.append(document_upload(Path(path), tenant_id=f"dealer-{(i % tenants) + 1}",
                                    settings=settings, document_id=f"{run}-{kind}"))
    for i, name in enumerate(DEMO_CALLS):
        script = next(s for s in SCRIPTS if s.name == name)
        call = generate_call(script, work)
        calls.append(call_recording(call.path, tenant_id=f"dealer-{(i % tenants) + 1}",
                                    settings=settings, call_id=f"{run}-{name}"))
    for spec, events in ((topics.DOCUMENTS_UPLOADED, docs), (topics.CALLS_RECORDED, calls)):
        report = produce(settings, spec, events)
        if report.rejected:
            raise RuntimeError(f"{spec.suffix}: {len(report.rejected)} upload(s) not sent, "
                               f"first: {report.rejected[0]}")
    by_ref = sum(1 for e in [*docs, *calls] if getattr(e, "blob_ref", None))
    say(f"    uploaded {len(docs)} scans and {len(calls)} call recordings ({by_ref} by blob "
        f"reference in {settings.blobs_dir})")
    ids = [d.document_id for d in docs]
    rows = _wait_rows(settings, "SELECT document_id, tenant_id, document_kind, pages, "
                      "round(confidence::numeric, 2), fields, round(processing_ms) FROM "
                      "document_extractions WHERE document_id = ANY(%s) ORDER BY document_id",
                      (ids,), len(ids), timeout_s)
    for _doc_id, tenant, kind, pages, conf, fields, ms in rows:
        shown = {k: v for k, v in fields.items() if v}
        say(f"      {tenant:<10} {kind:<15} {pages}p conf {conf}  {ms:.0f} ms  "
            + ", ".join(f"{k}={v}" for k, v in list(shown.items())[:6]))
    if len(rows) < len(ids):
        say(f"    only {len(rows)}/{len(ids)} extractions arrived: see "
            "`auterity dlq list --step ocr`")
    ids = [c.call_id for c in calls]
    rows = _wait_rows(settings, "SELECT call_id, tenant_id, round(duration_s::numeric, 1), "
                      "sentiment_label, score, jsonb_array_length(action_items), summary FROM "
                      "call_analyses WHERE call_id = ANY(%s) ORDER BY call_id", (ids,),
                      len(ids), timeout_s)
    for call_id, tenant, duration, label, score, items, summary in rows:
        say(f"      {tenant:<10} {call_id.split('-', 1)[1]:<16} {duration}s  {label:<8} "
            f"score {score.get('score')}/100  appointment set={score.get('appointment_set')}"
            f"  {items} action item(s)")
        say(f"        summary: {summary[:150]}")
    if len(rows) < len(ids):
        say(f"    only {len(rows)}/{len(ids)} call analyses arrived: see "
            "`auterity dlq list --step voice`")
    with open_metrics_reader(settings) as reader:
        stats = reader.query(
            "SELECT step, count() AS n, round(avg(processing_ms)) AS avg_ms, "
            "round(avg(realtime_factor), 3) AS rtf FROM "
            f"{settings.clickhouse_database}.media_metrics FINAL GROUP BY step ORDER BY step")
    for s in stats:
        extra = f", real-time factor {s['rtf']}" if s["step"] == "voice" else ""
        say(f"      clickhouse media_metrics {s['step']:<6} {int(s['n'])} rows, avg "
            f"{float(s['avg_ms']):.0f} ms{extra}")
