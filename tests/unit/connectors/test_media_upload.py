"""Uploads: inline or by blob reference, limits checked before reading, payloads verified."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.blob_store import BlobCorrupt, BlobError, BlobTooLarge, LocalBlobStore
from connectors.media_upload import (
    call_recording,
    document_upload,
    payload_of,
    sniff_content_type,
)
from runtime.settings import Settings

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", inline_max_bytes=1024)


def test_small_upload_is_inline_and_large_goes_by_reference(settings, tmp_path: Path):
    small, large = tmp_path / "ro.png", tmp_path / "big.png"
    small.write_bytes(PNG)
    large.write_bytes(PNG + b"\x01" * 5000)
    a = document_upload(small, tenant_id="dealer-a", settings=settings)
    b = document_upload(large, tenant_id="dealer-a", settings=settings)
    assert a.inline_bytes == PNG and a.blob_ref is None and a.content_type == "image/png"
    assert b.inline_bytes is None and b.blob_ref == f"sha256:{b.sha256}"
    store = LocalBlobStore(settings.blobs_dir)
    assert payload_of(a, store, 10**6) == PNG
    assert payload_of(b, store, 10**6) == large.read_bytes()
    # the same bytes for the same tenant and document give the same event id
    again = document_upload(small, tenant_id="dealer-a", settings=settings)
    other = document_upload(small, tenant_id="dealer-b", settings=settings)
    assert again.event_id == a.event_id != other.event_id


def test_limits_are_checked_from_the_size_before_reading(settings, tmp_path: Path):
    huge = tmp_path / "scan.pdf"
    with open(huge, "wb") as f:
        f.truncate(200 * 1024 * 1024)
    with pytest.raises(BlobTooLarge, match=r"scan.pdf is 209,715,200 bytes; the limit is"):
        document_upload(huge, tenant_id="dealer-a", settings=settings)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="is empty"):
        call_recording(empty, tenant_id="dealer-a", settings=settings)
    with pytest.raises(FileNotFoundError, match="no such file"):
        call_recording(tmp_path / "nope.wav", tenant_id="dealer-a", settings=settings)


def test_payload_checks_declared_size_digest_and_presence(settings, tmp_path: Path):
    f = tmp_path / "call.wav"
    f.write_bytes(b"RIFF" + b"\x00" * 3000)
    ev = call_recording(f, tenant_id="dealer-a", settings=settings)
    store = LocalBlobStore(settings.blobs_dir)
    with pytest.raises(BlobTooLarge, match="limit is 100"):
        payload_of(ev, store, 100)  # decided from the declared size, nothing fetched
    lying = ev.model_copy(update={"sha256": "0" * 64})
    with pytest.raises(BlobCorrupt, match="different sha256"):
        payload_of(lying, store, 10**6)
    nothing = ev.model_copy(update={"blob_ref": None, "inline_bytes": None})
    with pytest.raises(BlobError, match="neither inline bytes nor a blob reference") as e:
        payload_of(nothing, store, 10**6)
    assert e.value.kind == "payload_missing"


@pytest.mark.parametrize(("head", "name", "expected"), [
    (b"%PDF-1.7", "x.bin", "application/pdf"),
    (b"\xff\xd8\xff\xe0", "scan", "image/jpeg"),
    (b"RIFF\x00\x00", "a.mp3", "audio/wav"),  # magic bytes win over the extension
    (b"\x00\x01", "call.flac", "audio/flac"),
    (b"\x00\x01", "blob", "application/octet-stream"),
])
def test_content_type_sniffing(head: bytes, name: str, expected: str):
    assert sniff_content_type(head, name) == expected
