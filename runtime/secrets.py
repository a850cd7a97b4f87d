"""Secrets the pipeline keeps on disk: one random key per file in `<home>/secrets/`.

The directory is mode 0700 and every file 0600. Nothing that answers queries can name it:
the chDB data directory is `<home>/chdb`, and the metrics query endpoint refuses every
function that reads a file (projections/metrics_query.py), so a key kept here is out of reach
of SQL even in the process that embeds chDB. A key created by an older version somewhere else
(`legacy`) is moved here, so its pseudonyms stay the same.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def ensure_secrets_dir(directory: Path) -> Path:
    """`directory`, created (with its parents) if absent, owner-only (0700) either way."""
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o777 != DIR_MODE:
        directory.chmod(DIR_MODE)
    return directory


def _migrate(legacy: Path, path: Path) -> None:
    """Move the key at `legacy` to `path` (atomically; a concurrent mover is harmless)."""
    try:
        os.link(legacy, path)
    except FileExistsError:  # another process moved it first, or a key is already there
        if path.read_bytes().strip() != legacy.read_bytes().strip():
            return  # two different keys: keep both, the one under secrets/ wins
    except FileNotFoundError:  # another process moved it between exists() and link()
        return
    legacy.unlink(missing_ok=True)


def read_or_create_key(path: Path, legacy: Path | None = None) -> bytes:
    """The key in `path` (hex text, stripped), created as 32 random bytes if absent.

    Creation is atomic (write a private temp file, hard-link it into place): concurrent first
    callers all read the one key that won. A key at `legacy` is moved to `path` first. The
    file is made 0600 and its directory 0700 if they were not."""
    ensure_secrets_dir(path.parent)
    if legacy is not None and legacy.exists():
        _migrate(legacy, path)
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(32).hex())
        try:
            os.link(tmp, path)  # the first writer wins, the others read its key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    if path.stat().st_mode & 0o777 != FILE_MODE:
        path.chmod(FILE_MODE)
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"the key file {path} is empty")
    return key.encode()
