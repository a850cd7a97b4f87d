"""Redaction of the pieces of one document or call (OCR blocks, transcript segments).

Invariant: every piece is redacted with ONE pseudonym book per subject (document or call),
so "Sarah Jones" on page 1 and in segment 7 is the same `<PERSON_1>`; the returned texts are
the only form in which the pieces may leave the step. The analyzer is loaded once per process
(the media steps call this inside their process-pool workers, so raw text never crosses a
process boundary).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from processors.pii.engine import Finding, PiiAnalyzer
from processors.pii.pseudonyms import PseudonymBook
from processors.pii.redact import redact

_ANALYZER: PiiAnalyzer | None = None


def analyzer() -> PiiAnalyzer:
    """This process's PiiAnalyzer (spaCy + presidio load once, ~2 s)."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = PiiAnalyzer()
    return _ANALYZER


@dataclass
class RedactedPieces:
    texts: list[str]
    findings: list[list[Finding]]
    #: entity type -> raw values found, in order of appearance (for the restricted store only)
    values: dict[str, list[str]]
    labels: dict[str, str]  # raw value -> pseudonym label
    book: PseudonymBook  # label further values consistently (e.g. extracted fields)


def redact_pieces(pieces: Sequence[str], key: bytes) -> RedactedPieces:
    """Redact `pieces` in order with one pseudonym book; empty pieces stay empty."""
    book = PseudonymBook(key)
    found = analyzer().analyze([p if p.strip() else " " for p in pieces])
    texts: list[str] = []
    values: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    for piece, fs in zip(pieces, found, strict=True):
        texts.append(redact(piece, fs, book) if piece.strip() else piece)
        for f in sorted(fs, key=lambda f: f.start):
            raw = piece[f.start:f.end]
            values.setdefault(f.entity_type, [])
            if raw not in values[f.entity_type]:
                values[f.entity_type].append(raw)
            labels[raw] = book.label(f.entity_type, raw)
    return RedactedPieces(texts, found, values, labels, book)
