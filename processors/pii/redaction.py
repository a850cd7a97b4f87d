"""The PII step's one entry: check -> analyse (one batch) -> the subject's pseudonym book -> redact.

Every caller goes through `redact_messages`: the stream step (inside its pool workers, via
`redaction_job`), `auterity redact` (processors/pii/lines.py) and the document and call
steps (processors/pii/pieces.py).

Invariants:
- a text the redactor will not take (empty, oversized) yields a `StepInputError` in its place
  and is never analysed; the other texts are unaffected;
- texts of one subject (a conversation, a document, a call) are labelled with that subject's
  ONE book, in input order, so `<PERSON_1>` is the same person in every message of it;
- a book holds HMAC digests only (no raw value), so its state may be stored anywhere.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass

from processors.errors import StepInputError
from processors.pii.engine import Finding, PiiAnalyzer
from processors.pii.inputs import check_text
from processors.pii.pseudonyms import PseudonymBook
from processors.pii.redact import redact

_ANALYZER: PiiAnalyzer | None = None


def process_analyzer(batch_size: int = 32) -> PiiAnalyzer:
    """This process's PiiAnalyzer (spaCy + presidio load once per process, ~2 s)."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = PiiAnalyzer(batch_size=batch_size)
    return _ANALYZER


@dataclass
class Redacted:
    """One redacted text and the findings it was redacted by (offsets into the raw text)."""

    text: str
    findings: list[Finding]


def redact_messages(texts: Sequence[str], subjects: Sequence[str],
                    books: MutableMapping[str, PseudonymBook], key: bytes,
                    max_chars: int | None = None,
                    analyzer: PiiAnalyzer | None = None) -> list[Redacted | StepInputError]:
    """Redact `texts`; `subjects[i]` names the book text i is labelled with.

    `books` is read and updated in place (a subject without a book gets a new one);
    `max_chars=None` skips the length check (OCR pages, transcript segments).
    """
    if len(texts) != len(subjects):
        raise ValueError(f"{len(texts)} texts but {len(subjects)} subjects")
    out: list[Redacted | StepInputError | None] = [None] * len(texts)
    todo: list[int] = []
    for i, text in enumerate(texts):
        try:
            if max_chars is not None:
                check_text(text, max_chars)
            elif not text.strip():
                raise StepInputError("empty_text", "text is empty or whitespace only")
        except StepInputError as exc:
            out[i] = exc
            continue
        todo.append(i)
    found = (analyzer or process_analyzer()).analyze([texts[i] for i in todo])
    for i, fs in zip(todo, found, strict=True):
        book = books.get(subjects[i])
        if book is None:
            book = books[subjects[i]] = PseudonymBook(key)
        out[i] = Redacted(redact(texts[i], fs, book), list(fs))
    return [r for r in out if r is not None]


# --- process-pool entry (spawn-safe: module-level, picklable arguments and results) ---------

BookStates = dict[str, dict[str, str]]


def redaction_job(texts: list[str], subjects: list[str], states: BookStates, key: bytes,
                  max_chars: int) -> tuple[list[Redacted | StepInputError], BookStates]:
    """`redact_messages` in a pool worker: book states in, results and updated states out.

    Only the states of the subjects in `subjects` are returned (digests, no raw values).
    """
    books = {s: PseudonymBook(key, states.get(s)) for s in set(subjects)}
    results = redact_messages(texts, subjects, books, key, max_chars)
    return results, {s: b.state() for s, b in books.items()}


def warm_up(batch_size: int = 32) -> str:
    """Load the analyzer in a pool worker before the first batch arrives."""
    process_analyzer(batch_size).analyze(["warm-up"])
    return "pii analyzer ready"
