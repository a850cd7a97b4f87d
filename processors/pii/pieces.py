"""Redaction of the pieces of one document or call (OCR blocks, transcript segments).

Invariant: every piece is redacted with ONE pseudonym book per subject (document or call),
so "Sarah Jones" on page 1 and in segment 7 is the same `<PERSON_1>`; the returned texts are
the only form in which the pieces may leave the step. It is `redact_messages` with one subject;
the media steps call it inside their process-pool workers, so raw text never crosses a
process boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from processors.errors import StepInputError
from processors.pii.engine import Finding
from processors.pii.pseudonyms import PseudonymBook
from processors.pii.redaction import redact_messages


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
    results = redact_messages(pieces, ["subject"] * len(pieces), {"subject": book}, key)
    texts: list[str] = []
    found: list[list[Finding]] = []
    values: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    for piece, r in zip(pieces, results, strict=True):
        if isinstance(r, StepInputError):  # an empty piece stays as it is
            texts.append(piece)
            found.append([])
            continue
        texts.append(r.text)
        found.append(r.findings)
        for f in sorted(r.findings, key=lambda f: f.start):
            raw = piece[f.start:f.end]
            values.setdefault(f.entity_type, [])
            if raw not in values[f.entity_type]:
                values[f.entity_type].append(raw)
            labels[raw] = book.label(f.entity_type, raw)
    return RedactedPieces(texts, found, values, labels, book)

