"""Replace PII spans with consistent pseudonyms using presidio-anonymizer.

presidio resolves overlapping findings (merge similar / drop contained). Labels are handed
out in order of appearance in the text: a first anonymizer pass with the `keep` operator
yields the resolved spans, which are labelled left to right; the second pass substitutes
them with `custom` operators calling `PseudonymBook.label`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from processors.pii.engine import Finding
from processors.pii.pseudonyms import PseudonymBook

_ENGINE: AnonymizerEngine | None = None


def anonymizer() -> AnonymizerEngine:
    """This process's presidio AnonymizerEngine (the redactor's and the output firewall's)."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = AnonymizerEngine()
    return _ENGINE


@dataclass
class RedactionResult:
    redacted: str
    findings: list[Finding] = field(default_factory=list)


def _operators(entity_types: set[str], book: PseudonymBook) -> dict[str, OperatorConfig]:
    def labeller(entity_type: str) -> OperatorConfig:
        return OperatorConfig("custom", {"lambda": lambda value: book.label(entity_type, value)})

    return {t: labeller(t) for t in entity_types}


def redact(text: str, findings: Sequence[Finding], book: PseudonymBook) -> str:
    """`text` with every finding replaced by its pseudonym label from `book`."""
    if not findings:
        return text
    results = [RecognizerResult(f.entity_type, f.start, f.end, f.score) for f in findings]
    engine = anonymizer()
    types = {f.entity_type for f in findings}
    # Pass 1: presidio's conflict resolution, text unchanged -> resolved spans in text order.
    kept = engine.anonymize(text, results, {t: OperatorConfig("keep") for t in types})
    for item in sorted(kept.items, key=lambda i: i.start):
        book.label(item.entity_type, text[item.start : item.end])
    # Pass 2: substitute (labels already assigned, so numbering follows the text order).
    return engine.anonymize(text, results, _operators(types, book)).text


def redact_texts(
    texts: Sequence[str], findings: Sequence[Sequence[Finding]], book: PseudonymBook
) -> list[RedactionResult]:
    """Redact the messages of one conversation in order, sharing one pseudonym book."""
    if len(texts) != len(findings):
        raise ValueError("texts and findings differ in length")
    return [
        RedactionResult(redact(t, fs, book), list(fs))
        for t, fs in zip(texts, findings, strict=True)
    ]
