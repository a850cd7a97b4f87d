"""The PII step's one entry: check -> analyse (one batch) -> the subject's pseudonym book -> redact.

Every caller goes through `redact_messages`: the stream step (inside its pool workers, via
`redaction_job`), `auterity redact` (processors/pii/lines.py) and the document and call
steps (processors/pii/pieces.py).

Invariants:
- a text the redactor will not take (empty, oversized) yields a `StepInputError` in its place
  and is never analysed; the other texts are unaffected;
- texts of one subject (a conversation, a document, a call) are labelled with that subject's
  ONE book, in input order, so `<PERSON_1>` is the same person in every message of it; a
  word the book knows as a person's name is redacted in every later text of the subject,
  found by NER there or not;
- a book holds HMAC digests only (no raw value), so its state may be stored anywhere.
"""

from __future__ import annotations

import os
import time
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from processors.errors import StepInputError
from processors.pii.engine import Finding, PiiAnalyzer
from processors.pii.inputs import check_text
from processors.pii.names import remembered_names
from processors.pii.normalise import normalise
from processors.pii.pseudonyms import PseudonymBook
from processors.pii.redact import redact
from schemas.events import ConversationMessageRaw, ConversationMessageRedacted, EntityFinding
from schemas.ids import derived_id
from schemas.topics import PII_STEP

_ANALYZER: PiiAnalyzer | None = None
#: score of a name found because the conversation's book already knows it
REMEMBERED_SCORE = 0.7


#: AUTERITY_PII_SECOND_NER=off leaves the Rampart model out of the analyzer: about 2.7x the
#: redaction throughput for fewer names found (README, "The PII firewall")
SECOND_NER_ENV = "AUTERITY_PII_SECOND_NER"
_SWITCH = {"on": True, "1": True, "true": True, "yes": True,
           "off": False, "0": False, "false": False, "no": False}


def second_ner_enabled() -> bool:
    """AUTERITY_PII_SECOND_NER (default on); any other value than on/off is an error."""
    raw = os.environ.get(SECOND_NER_ENV, "on").strip().lower()
    if raw not in _SWITCH:
        raise ValueError(f"{SECOND_NER_ENV}={raw!r}: expected on or off")
    return _SWITCH[raw]


def process_analyzer(batch_size: int = 32) -> PiiAnalyzer:
    """This process's PiiAnalyzer (spaCy + presidio load once per process, ~2 s)."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = PiiAnalyzer(batch_size=batch_size, second_ner=second_ner_enabled())
    return _ANALYZER


def _remembered(text: str, found: list[Finding], book: PseudonymBook) -> list[tuple[int, int]]:
    """Spans (original offsets) of words the book knows as names, found in the normalised
    text ("Ma\u00adria" is "Maria") and not inside a finding already."""
    n = normalise(text)
    spans = [n.to_original(s, e) for s, e in remembered_names(n.text, [], book.known_name)]
    return [(s, e) for s, e in spans
            if not any(f.start <= s and e <= f.end for f in found)]


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
        fs = sorted([*fs, *(Finding("PERSON", s, e, REMEMBERED_SCORE)
                            for s, e in _remembered(texts[i], fs, book))],
                    key=lambda f: (f.start, f.end, f.entity_type))
        out[i] = Redacted(redact(texts[i], fs, book), list(fs))
    return [r for r in out if r is not None]


def redacted_event(raw: ConversationMessageRaw, r: Redacted, *, ingested_at: datetime,
                   redacted_at: datetime, redaction_ms: float) -> ConversationMessageRedacted:
    """The conversations.redacted event of one raw message (its id derives from the raw's)."""
    return ConversationMessageRedacted(
        event_id=derived_id(raw.event_id, PII_STEP), tenant_id=raw.tenant_id,
        occurred_at=raw.occurred_at, source_event_id=raw.event_id,
        conversation_id=raw.conversation_id, channel=raw.channel,
        sender_role=raw.sender_role, user_id=raw.user_id,
        source_system=raw.source_system, redacted_text=r.text,
        entities=[EntityFinding(entity_type=f.entity_type, start=f.start, end=f.end,
                                score=round(f.score, 3)) for f in r.findings],
        ingested_at=ingested_at, redacted_at=redacted_at, redaction_ms=round(redaction_ms, 3))


# --- process-pool entry (spawn-safe: module-level, picklable arguments and results) ---------

BookStates = dict[str, dict[str, str]]


def redaction_job(raws: list[ConversationMessageRaw], received_at: list[datetime],
                  states: BookStates, key: bytes, max_chars: int
                  ) -> tuple[list[ConversationMessageRedacted | StepInputError], BookStates]:
    """The PII step's entry, in a pool worker: raw messages (with when Kafka received each,
    for those without `ingested_at`) and their conversations' book states in; redacted events
    (or the refusal of each) and the updated states out (digests, no raw values). Its
    `redacted_at` / `redaction_ms` are this job's own; the stream step re-stamps them per
    batch (when the batch was done, its wall time per record)."""
    started = time.perf_counter()
    subjects = [raw.conversation_id for raw in raws]
    books = {s: PseudonymBook(key, states.get(s)) for s in set(subjects)}
    results = redact_messages([raw.text for raw in raws], subjects, books, key, max_chars)
    now = datetime.now(UTC)
    per_event_ms = (time.perf_counter() - started) * 1000.0 / max(1, len(raws))
    out: list[ConversationMessageRedacted | StepInputError] = [
        r if isinstance(r, StepInputError) else
        redacted_event(raw, r, ingested_at=raw.ingested_at or received, redacted_at=now,
                       redaction_ms=per_event_ms)
        for raw, received, r in zip(raws, received_at, results, strict=True)]
    return out, {s: b.state() for s, b in books.items()}


def warm_up(batch_size: int = 32) -> str:
    """Load the analyzer in a pool worker before the first batch arrives."""
    process_analyzer(batch_size).analyze(["warm-up"])
    return "pii analyzer ready"
