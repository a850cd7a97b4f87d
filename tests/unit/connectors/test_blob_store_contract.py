"""The BlobStore contract, run against every backend (today: the local directory; an
S3-compatible backend joins the `backend` fixture's params)."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from connectors.blob_store import (
    BlobCorrupt,
    BlobNotFound,
    BlobStore,
    BlobTooLarge,
    LocalBlobStore,
    parse_ref,
)


@pytest.fixture(params=["local"])
def backend(request, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    raise AssertionError(request.param)


def test_put_get_roundtrip_is_content_addressed(backend: BlobStore):
    data = b"repair order scan \x00\xff" * 1000
    ref = backend.put(data)
    assert ref == "sha256:" + hashlib.sha256(data).hexdigest()
    assert backend.get(ref) == data
    assert backend.exists(ref) and backend.size(ref) == len(data)
    assert backend.put(data) == ref  # idempotent


def test_put_file_streams_and_refuses_oversize_before_reading(backend: BlobStore,
                                                              tmp_path: Path):
    f = tmp_path / "call.wav"
    f.write_bytes(b"RIFF" + bytes(range(256)) * 5000)
    ref, size = backend.put_file(f, max_bytes=10**7)
    assert size == f.stat().st_size and backend.get(ref) == f.read_bytes()
    huge = tmp_path / "huge.pdf"
    with open(huge, "wb") as fh:
        fh.truncate(200 * 1024 * 1024)  # sparse: the size alone must refuse it
    with pytest.raises(BlobTooLarge, match="209,715,200 bytes; the limit is 52,428,800"):
        backend.put_file(huge, max_bytes=50 * 1024 * 1024)


def test_missing_bad_and_oversized_references(backend: BlobStore):
    missing = "sha256:" + "0" * 64
    with pytest.raises(BlobNotFound, match="not in"):
        backend.get(missing)
    assert not backend.exists(missing)
    with pytest.raises(ValueError, match="expected 'sha256:<64 hex digits>'"):
        backend.get("s3://bucket/key")
    ref = backend.put(b"x" * 100)
    with pytest.raises(BlobTooLarge):
        backend.get(ref, max_bytes=10)


def test_damage_at_rest_is_detected_not_returned(tmp_path: Path):
    store = LocalBlobStore(tmp_path / "blobs")
    ref = store.put(b"buyer's order")
    digest = parse_ref(ref)
    path = tmp_path / "blobs" / "sha256" / digest[:2] / digest[2:4] / digest
    path.write_bytes(b"tampered")
    with pytest.raises(BlobCorrupt, match="does not match its digest"):
        store.get(ref)


def test_concurrent_writers_of_the_same_bytes(backend: BlobStore):
    data = b"same scan" * 10000
    refs: list[str] = []
    threads = [threading.Thread(target=lambda: refs.append(backend.put(data)))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(refs)) == 1 and backend.get(refs[0]) == data
