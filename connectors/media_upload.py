"""Uploads of scans and call recordings: bytes -> blob store (or inline) -> raw-topic event.

Invariants:
- a file over its limit (AUTERITY_MAX_DOCUMENT_BYTES / AUTERITY_MAX_AUDIO_BYTES) is refused
  from its size alone, before a byte is read, with an error naming the file, its size and
  the limit;
- payloads up to AUTERITY_INLINE_MAX_BYTES travel inline in the event; larger ones are
  stored content-addressed and the event carries `blob_ref` = `sha256:<digest>`; either way
  the event carries the size and the sha256 of the bytes, which the step verifies;
- ids are deterministic: the same bytes uploaded for the same tenant and subject id give the
  same event id, so a retried upload is one event downstream.
"""

from __future__ import annotations

import hashlib
import mimetypes
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from connectors.blob_store import (
    BlobCorrupt,
    BlobError,
    BlobStore,
    BlobTooLarge,
    open_blob_store,
)
from runtime.settings import Settings
from schemas.events import CallRecorded, DocumentUploaded, utcnow
from schemas.ids import ID_NAMESPACE

# magic bytes -> content type, checked before the file name's extension
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"RIFF", "audio/wav"),
    (b"fLaC", "audio/flac"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
)


def sniff_content_type(head: bytes, filename: str = "") -> str:
    """The content type from the first bytes, else from the file name, else octet-stream."""
    for magic, ctype in MAGIC:
        if head.startswith(magic):
            return ctype
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


@dataclass(frozen=True)
class Payload:
    size: int
    sha256: str
    content_type: str
    blob_ref: str | None
    inline: bytes | None


def stage(path: Path, *, max_bytes: int, inline_max: int, store: BlobStore,
          what: str) -> Payload:
    """Check `path` against the limit, then keep it inline or put it in the blob store."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {path}: no such file")
    size = path.stat().st_size
    if size > max_bytes:
        raise BlobTooLarge(f"{what} {path} is {size:,} bytes; the limit is {max_bytes:,} "
                           "bytes (AUTERITY_MAX_DOCUMENT_BYTES / AUTERITY_MAX_AUDIO_BYTES)")
    if size == 0:
        raise ValueError(f"{what} {path} is empty (0 bytes)")
    with open(path, "rb") as f:
        head = f.read(16)
    ctype = sniff_content_type(head, path.name)
    if size <= inline_max:
        data = path.read_bytes()
        return Payload(size, hashlib.sha256(data).hexdigest(), ctype, None, data)
    ref, stored = store.put_file(path, max_bytes)
    return Payload(stored, ref.split(":", 1)[1], ctype, ref, None)


def _event_id(kind: str, tenant_id: str, subject_id: str, digest: str) -> str:
    return str(uuid.uuid5(ID_NAMESPACE, f"{kind}:{tenant_id}:{subject_id}:{digest}"))


def document_upload(path: Path, *, tenant_id: str, settings: Settings,
                    document_id: str | None = None, document_kind: str | None = None,
                    store: BlobStore | None = None) -> DocumentUploaded:
    """The DocumentUploaded event of a scan or PDF at `path` (staged first)."""
    store = store or open_blob_store(settings.blobs_dir)
    p = stage(path, max_bytes=settings.max_document_bytes,
              inline_max=settings.inline_max_bytes, store=store, what="document")
    document_id = document_id or f"doc-{p.sha256[:16]}"
    return DocumentUploaded(
        event_id=_event_id("document", tenant_id, document_id, p.sha256), tenant_id=tenant_id,
        occurred_at=utcnow(), document_id=document_id, filename=Path(path).name,
        content_type=p.content_type, size_bytes=p.size, sha256=p.sha256, blob_ref=p.blob_ref,
        inline_bytes=p.inline, document_kind=document_kind)


def call_recording(path: Path, *, tenant_id: str, settings: Settings,
                   call_id: str | None = None,
                   direction: Literal["inbound", "outbound"] = "inbound",
                   store: BlobStore | None = None) -> CallRecorded:
    """The CallRecorded event of an audio file at `path` (staged first)."""
    store = store or open_blob_store(settings.blobs_dir)
    p = stage(path, max_bytes=settings.max_audio_bytes, inline_max=settings.inline_max_bytes,
              store=store, what="recording")
    call_id = call_id or f"call-{p.sha256[:16]}"
    return CallRecorded(
        event_id=_event_id("call", tenant_id, call_id, p.sha256), tenant_id=tenant_id,
        occurred_at=utcnow(), call_id=call_id, content_type=p.content_type, size_bytes=p.size,
        sha256=p.sha256, blob_ref=p.blob_ref, inline_bytes=p.inline, direction=direction)


def payload_of(ev: DocumentUploaded | CallRecorded, store: BlobStore, max_bytes: int) -> bytes:
    """The bytes an upload event refers to, checked against its size and sha256.

    Raises a BlobError whose `kind` is the dead-letter reason: `payload_too_large` (decided
    from the event's declared size, before fetching), `blob_missing`, `blob_corrupt` (bytes
    that do not match the event's digest or size), `payload_missing` (neither inline bytes
    nor a reference).
    """
    if ev.size_bytes > max_bytes:
        raise BlobTooLarge(f"upload is {ev.size_bytes:,} bytes; the limit is {max_bytes:,}")
    if ev.inline_bytes is not None:
        data = ev.inline_bytes
    elif ev.blob_ref:
        data = store.get(ev.blob_ref, max_bytes=max_bytes)
    else:
        err = BlobError("the event has neither inline bytes nor a blob reference")
        err.kind = "payload_missing"
        raise err
    if len(data) != ev.size_bytes or hashlib.sha256(data).hexdigest() != ev.sha256:
        raise BlobCorrupt(f"payload is {len(data):,} bytes with a different sha256 than the "
                          f"event declares ({ev.size_bytes:,} bytes, sha256 {ev.sha256[:12]}…)")
    return data
