"""Documents and calls through Kafka into Postgres and ClickHouse on the real engines:
upload (inline and by blob reference) -> OCR / transcription in the worker's process pool ->
redacted results on the topics and in Postgres, raw PII only in the restricted table,
metrics in ClickHouse; bad inputs become dead letters and the stream goes on."""

from __future__ import annotations

import hashlib
import io
import subprocess
import uuid
from pathlib import Path

import psycopg
import pypdfium2
import pytest

from connectors.kafka_io import read_topic
from connectors.media_upload import call_recording, document_upload
from connectors.samples.calls import generated_calls
from connectors.samples.scans import Distortion, make_scan
from projections.metrics_reader import open_metrics_reader
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from schemas import serde, topics
from schemas.events import (
    CallAnalyzed,
    DeadLetter,
    DocumentExtracted,
    DocumentUploaded,
    utcnow,
)

from .conftest import wait_for
from .helpers import tenant_reader


def _send(settings, spec: topics.TopicSpec, key: str, value: bytes) -> None:
    p = kafka_clients.producer(settings, principal=Principal.INGEST)
    p.produce(spec.name(settings.topic_prefix), key=key.encode(), value=value)
    assert p.flush(30) == 0


def _dead_letters(settings, tenant: str) -> dict[str, DeadLetter]:
    out = {}
    for m in read_topic(settings, topics.DEAD_LETTERS.name(settings.topic_prefix),
                        principal=Principal.ADMIN):
        dl = serde.decode(m.value(), DeadLetter)
        if dl.tenant_id == tenant:
            subject = serde.decode_any(dl.payload) if dl.payload else None
            ident = getattr(subject, "document_id", None) or getattr(subject, "call_id", None)
            out[ident] = dl
    return out


def _events(settings, spec: topics.TopicSpec, model, tenant: str) -> list:
    return [ev for m in read_topic(settings, spec.name(settings.topic_prefix),
                                   principal=Principal.READER)
            if (ev := serde.decode(m.value(), model)).tenant_id == tenant]


def _raw_upload(tenant: str, document_id: str, data: bytes, **kw) -> DocumentUploaded:
    fields = {"event_id": str(uuid.uuid4()), "tenant_id": tenant, "occurred_at": utcnow(),
              "document_id": document_id, "filename": f"{document_id}.png",
              "content_type": "image/png", "size_bytes": len(data),
              "sha256": hashlib.sha256(data).hexdigest(), "inline_bytes": data}
    return DocumentUploaded(**{**fields, **kw})


def _empty_pdf() -> bytes:
    """A well-formed PDF with zero pages."""
    buf = io.BytesIO()
    pypdfium2.PdfDocument.new().save(buf)
    return buf.getvalue()


def test_documents_to_extractions_restricted_fields_and_metrics(pipeline, pg, tmp_path: Path):
    settings = pipeline
    tenant = f"dealer-d{uuid.uuid4().hex[:6]}"
    ro = make_scan("repair_order", 41, Distortion(rotate=1.5, noise=8.0))
    ins = make_scan("insurance_card", 42, Distortion(noise=18.0, jpeg_quality=30))
    paths = []
    for scan in (ro, ins):
        paths.append(tmp_path / scan.filename)
        paths[-1].write_bytes(scan.data)
    by_ref = settings.model_copy(update={"inline_max_bytes": 0})  # force the blob store
    up_ro = document_upload(paths[0], tenant_id=tenant, settings=by_ref, document_id="ro-1")
    up_ins = document_upload(paths[1], tenant_id=tenant, settings=settings,
                             document_id="ins-1")
    assert up_ro.blob_ref and up_ro.inline_bytes is None

    # bad inputs first: each becomes one dead letter and the good ones behind still land
    png = ro.data if ro.content_type == "image/png" else make_scan(
        "repair_order", 43).data
    bad = {
        "trunc-1": _raw_upload(tenant, "trunc-1", png[: len(png) // 3]),
        "zero-1": _raw_upload(tenant, "zero-1", b""),
        "random-1": _raw_upload(tenant, "random-1", uuid.uuid4().bytes * 100),
        "huge-1": _raw_upload(tenant, "huge-1", b"", size_bytes=200 * 1024 * 1024,
                              inline_bytes=None, blob_ref="sha256:" + "ab" * 32),
        "missing-1": _raw_upload(tenant, "missing-1", b"x", inline_bytes=None,
                                 blob_ref="sha256:" + "cd" * 32),
        "nopages-1": _raw_upload(tenant, "nopages-1", _empty_pdf(),
                                 content_type="application/pdf"),
    }
    for ident, ev in bad.items():
        _send(settings, topics.DOCUMENTS_UPLOADED, ident, serde.encode(ev))
    _send(settings, topics.DOCUMENTS_UPLOADED, "garbage", b"\x00not avro")
    for ev in (up_ro, up_ins):
        _send(settings, topics.DOCUMENTS_UPLOADED, ev.document_id, serde.encode(ev))

    rows = wait_for(lambda: (lambda r: r if len(r) == 2 else None)(pg.execute(
        "SELECT document_id, document_kind, fields, redacted_text, pages, confidence, "
        "pii_fields FROM document_extractions WHERE tenant_id = %s ORDER BY document_id",
        (tenant,)).fetchall()), 300, "two document extractions in Postgres")
    got = {r[0]: r for r in rows}
    _, kind, fields, text, pages, confidence, pii = got["ro-1"]
    assert kind == "repair_order" and pages == 1 and 0.5 < confidence <= 1.0
    for name in ("ro_number", "mileage", "total"):
        assert fields[name] == ro.expected[name], name
    # PII fields are pseudonyms on the topic and in this table; raw values are nowhere here
    assert fields["customer_name"].startswith("<PERSON_") and "customer_name" in pii
    assert fields["vin"] == "<VIN_1>"
    for name in ("customer_name", "phone", "vin"):
        raw = ro.expected[name]
        assert raw and raw not in text and raw.replace(" ", "") not in text.replace(" ", "")

    restricted = wait_for(lambda: (lambda r: r if "ro-1" in r else None)(dict(pg.execute(
        "SELECT subject_id, fields FROM restricted_pii_fields WHERE tenant_id = %s",
        (tenant,)).fetchall())), 120, "the restricted fields of ro-1")
    assert restricted["ro-1"]["vin"] == ro.expected["vin"]
    assert restricted["ro-1"]["customer_name"] == ro.expected["customer_name"]
    # ordinary readers cannot select the restricted table at all; the PII reader sees its
    # own tenant's rows only
    with tenant_reader(settings, tenant) as conn:
        assert conn.execute("SELECT count(*) FROM document_extractions").fetchone()[0] == 2
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM restricted_pii_fields")
    with tenant_reader(settings, tenant, "pii_reader") as conn:
        assert {r[0] for r in conn.execute(
            "SELECT subject_id FROM restricted_pii_fields")} >= {"ro-1"}
    with tenant_reader(settings, "someone-else", "pii_reader") as conn:
        assert conn.execute("SELECT count(*) FROM restricted_pii_fields").fetchone()[0] == 0

    dead = wait_for(lambda: (lambda d: d if set(bad) <= set(d) else None)(
        _dead_letters(settings, tenant)), 120, "a dead letter per bad upload")
    kinds = {ident: dead[ident].error_kind for ident in bad}
    assert kinds["huge-1"] == "payload_too_large"
    assert kinds["missing-1"] == "blob_missing"
    assert kinds["nopages-1"] == "pdf_no_pages"
    assert kinds["zero-1"] == "empty_payload"
    assert {kinds["trunc-1"], kinds["random-1"]} <= {"corrupt_image", "unsupported_content_type"}
    assert all(dead[i].step == "ocr" and dead[i].error for i in bad)

    # the topic carries the same redacted result; metrics reached ClickHouse
    [ev] = [e for e in _events(settings, topics.DOCUMENTS_EXTRACTED, DocumentExtracted,
                               tenant) if e.document_id == "ro-1"]
    assert ro.expected["customer_name"] not in ev.redacted_text + ev.blocks_json
    with open_metrics_reader(settings) as ch:
        wait_for(lambda: ch.query(
            f"SELECT count() AS n FROM {ch.database}.media_metrics FINAL WHERE tenant_id = "
            f"'{tenant}' AND step = 'ocr'")[0]["n"] == 2, 120, "media metrics in ClickHouse")


def test_calls_to_redacted_analyses(pipeline, pg, tmp_path: Path):
    settings = pipeline
    tenant = f"dealer-c{uuid.uuid4().hex[:6]}"
    call = generated_calls()[0]
    assert call.script.name == "service_booking"
    up = call_recording(call.path, tenant_id=tenant, settings=settings, call_id="call-1")
    silence = tmp_path / "hour.flac"
    subprocess.run(["sox", "-n", "-r", "16000", "-c", "1", str(silence), "trim", "0", "3600"],
                   check=True)
    quiet = call_recording(silence, tenant_id=tenant, settings=settings, call_id="silent-1")
    noise = tmp_path / "noise.wav"
    noise.write_bytes(b"RIFF" + uuid.uuid4().bytes * 500)
    junk = call_recording(noise, tenant_id=tenant, settings=settings, call_id="junk-1")
    for ev in (quiet, junk, up):
        _send(settings, topics.CALLS_RECORDED, ev.call_id, serde.encode(ev))

    rows = wait_for(lambda: pg.execute(
        "SELECT redacted_transcript, segments, speakers, action_items, score, summary, "
        "sentiment_label FROM call_analyses WHERE tenant_id = %s AND call_id = 'call-1'",
        (tenant,)).fetchall(), 600, "the call analysis in Postgres")
    transcript, segments, speakers, items, score, summary, label = rows[0]
    assert set(speakers) == {"agent", "customer"}
    assert len(segments) >= 4 and label in ("positive", "neutral", "negative")
    assert items and all(i["task"] for i in items) and summary
    assert isinstance(score["score"], int) and "appointment_set" in score
    # the caller's name and number never reach the transcript or the summary; they are in
    # the restricted table
    script_text = " ".join(t.text for t in call.script.turns)
    for raw in ("Sarah Jones", "555-0143"):
        assert raw in script_text
        assert raw not in transcript and raw not in summary and raw not in str(items)
    fields = wait_for(lambda: pg.execute(
        "SELECT fields FROM restricted_pii_fields WHERE tenant_id = %s AND subject_id = "
        "'call-1'", (tenant,)).fetchall(), 60, "the caller's fields in the restricted table")
    assert "Jones" in (fields[0][0].get("caller_name") or "")

    dead = wait_for(lambda: (lambda d: d if {"silent-1", "junk-1"} <= set(d) else None)(
        _dead_letters(settings, tenant)), 300, "dead letters for silence and junk audio")
    assert dead["silent-1"].error_kind == "no_speech"
    assert dead["junk-1"].error_kind == "not_audio"
    [ev] = _events(settings, topics.CALLS_ANALYZED, CallAnalyzed, tenant)
    assert ev.call_id == "call-1" and ev.duration_s > 5
