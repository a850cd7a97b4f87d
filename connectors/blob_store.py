"""Content-addressed storage for uploads too large to travel inside a Kafka event.

A blob's reference is `sha256:<64 hex digits>` of its bytes, whatever the backend; an event
carries that reference with the size and content type. The local backend keeps a blob at
`<root>/sha256/<ab>/<cd>/<digest>`; an S3-compatible backend implements the same
`BlobStore` protocol (the contract suite in tests/unit/connectors/test_blob_store_contract.py
runs against every backend).

Invariants:
- a reference names exactly the bytes stored under it: `put` hashes while writing, and `get`
  verifies the digest again, so a blob damaged at rest raises `BlobCorrupt`, never returns
  wrong bytes;
- a blob is written under a temporary name and renamed into place, so a reader never sees a
  partly written blob and concurrent writers of the same bytes are harmless;
- `put_file` refuses a file larger than `max_bytes` from its size alone, before reading it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

REF_RE = re.compile(r"^sha256:(?P<digest>[0-9a-f]{64})$")
CHUNK = 1024 * 1024


class BlobError(ValueError):
    """A blob operation failed; `kind` names the dead-letter reason."""

    kind = "blob_error"


class BlobNotFound(BlobError):
    kind = "blob_missing"


class BlobCorrupt(BlobError):
    kind = "blob_corrupt"


class BlobTooLarge(BlobError):
    kind = "payload_too_large"


def blob_ref(digest: str) -> str:
    return f"sha256:{digest}"


def parse_ref(ref: str) -> str:
    """The hex digest of `ref`; ValueError naming the expected form otherwise."""
    m = REF_RE.match(ref or "")
    if m is None:
        raise ValueError(f"not a blob reference: {ref!r} (expected 'sha256:<64 hex digits>')")
    return m["digest"]


class BlobStore(Protocol):
    def put(self, data: bytes) -> str:
        """Store `data`; return its reference (idempotent)."""
        ...

    def put_file(self, path: Path, max_bytes: int) -> tuple[str, int]:
        """Store a file's bytes (streamed); return (reference, size)."""
        ...

    def get(self, ref: str, max_bytes: int | None = None) -> bytes:
        """The bytes under `ref`, verified against the digest."""
        ...

    def exists(self, ref: str) -> bool: ...

    def size(self, ref: str) -> int: ...

    def describe(self) -> str: ...


class LocalBlobStore:
    """The default backend: a directory on local disk (shared by producer and workers)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return f"local directory {self.root}"

    def _path(self, digest: str) -> Path:
        return self.root / "sha256" / digest[:2] / digest[2:4] / digest

    def _write(self, chunks: Iterator[bytes]) -> tuple[str, int]:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=tmp_dir)
        try:
            with os.fdopen(fd, "wb") as f:
                for chunk in chunks:
                    h.update(chunk)
                    size += len(chunk)
                    f.write(chunk)
            digest = h.hexdigest()
            final = self._path(digest)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return blob_ref(digest), size

    def put(self, data: bytes) -> str:
        return self._write(iter([data]))[0]

    def put_file(self, path: Path, max_bytes: int) -> tuple[str, int]:
        size = Path(path).stat().st_size
        if size > max_bytes:
            raise BlobTooLarge(f"{path} is {size:,} bytes; the limit is {max_bytes:,}")

        def chunks(f: BinaryIO) -> Iterator[bytes]:
            while chunk := f.read(CHUNK):
                yield chunk

        with open(path, "rb") as f:
            return self._write(chunks(f))

    def get(self, ref: str, max_bytes: int | None = None) -> bytes:
        digest = parse_ref(ref)
        path = self._path(digest)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(f"blob {ref} is not in {self.describe()}") from None
        if max_bytes is not None and size > max_bytes:
            raise BlobTooLarge(f"blob {ref} is {size:,} bytes; the limit is {max_bytes:,}")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise BlobCorrupt(f"blob {ref} in {self.describe()} does not match its digest")
        return data

    def exists(self, ref: str) -> bool:
        return self._path(parse_ref(ref)).is_file()

    def size(self, ref: str) -> int:
        try:
            return self._path(parse_ref(ref)).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(f"blob {ref} is not in {self.describe()}") from None


def open_blob_store(root: Path) -> BlobStore:
    """The configured backend (AUTERITY_BLOB_DIR; an S3-compatible backend plugs in here)."""
    return LocalBlobStore(root)
