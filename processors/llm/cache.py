"""Exact-match response cache for model calls.

Key = sha256 of (model, normalised messages, parameters that change the answer). Messages
are normalised by Unicode NFC and whitespace collapsing only — case and punctuation change
meaning and are kept.
Invariant: only answers that parsed and validated against the requested schema are stored,
so a hit is always a usable answer; entries expire after `ttl_s`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from cachetools import TTLCache

_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def cache_key(model: str, messages: Sequence[Mapping[str, Any]],
              params: Mapping[str, Any]) -> str:
    body = {
        "model": model,
        "messages": [{"role": m["role"], "content": normalise(str(m["content"]))}
                     for m in messages],
        "params": dict(sorted(params.items())),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class ResponseCache:
    """A thread-safe TTL + LRU cache of parsed JSON answers."""

    def __init__(self, ttl_s: float, max_entries: int) -> None:
        self._entries: TTLCache[str, tuple[dict[str, Any], str]] | None = (
            TTLCache(maxsize=max_entries, ttl=ttl_s) if max_entries else None)
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[dict[str, Any], str] | None:
        """(answer, model name that produced it) or None."""
        if self._entries is None:
            return None
        with self._lock:
            hit = self._entries.get(key)
        return (json.loads(hit[0]), hit[1]) if hit else None  # type: ignore[arg-type]

    def put(self, key: str, answer: dict[str, Any], model: str) -> None:
        if self._entries is None:
            return
        with self._lock:
            self._entries[key] = (json.dumps(answer), model)  # type: ignore[assignment]

    def __len__(self) -> int:
        return len(self._entries or ())
