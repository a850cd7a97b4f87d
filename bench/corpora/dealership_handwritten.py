"""Hand-written, held-out PII evaluation corpus for dealership messages.

The records in ``dealership_handwritten.txt`` were written by hand, one at a time, the way
a human annotator would (no template generator), and are HELD OUT: never use them to tune
rules, thresholds, word lists or prompts, or the scores they give stop meaning anything.
They cover SMS, web chat, e-mail with signatures, call transcripts, voicemail
speech-to-text, CRM/DMS notes, web lead forms, credit applications and service
write-ups, in English with some Spanish, French, Vietnamese and Russian; 19 records hide
PII behind zero-width spaces, soft hyphens, decomposed accents or full-width digits.

Markup: ``[[TYPE|value]]`` inline; records separated by a line that is exactly ``---``;
``#`` lines at the top are the header. ``parse`` strips the markup and returns offsets
into the clean text (end exclusive), checking that every value sits at its offsets.

Label policy (full text in the file header): PERSON covers customers, family and staff,
first names, nicknames and initials, with honorifics (Mr., Dr., Frau...) outside the span;
PHONE_NUMBER includes extensions; URL is personal profiles/sites only; STREET_ADDRESS is
one span for the whole postal address (multi-line included); LOCATION is a place tied to
a person outside an address; ORGANIZATION is a person's employer/school/club, never the
dealership, manufacturers, lenders, insurers or vendors; DATE_OF_BIRTH only birth dates;
foreign driving licences, passports, national IDs, policy and member numbers are
ID_NUMBER; VINs are labelled even with a bad check digit. Makes/models/trims, prices,
mileage, appointment dates, RO/stock/quote/part/invoice numbers, dealership names and
partial references ("card ending 4423") are not PII.

Counts: 308 records (55 with no PII), 569 spans:

    PERSON              299
    PHONE_NUMBER         68
    ORGANIZATION         35
    LOCATION             31
    STREET_ADDRESS       28
    EMAIL_ADDRESS        25
    DATE_OF_BIRTH        12
    VIN                  12
    ID_NUMBER            11
    US_DRIVER_LICENSE     9
    US_SSN                9
    LICENSE_PLATE         7
    CREDIT_CARD           5
    IP_ADDRESS            5
    URL                   5
    IBAN_CODE             4
    US_BANK_NUMBER        4

Usage: ``python -m bench.corpora.dealership_handwritten OUT.jsonl``
"""

from __future__ import annotations

import json
import pathlib
import sys
from collections.abc import Sequence
from typing import TypedDict

__all__ = [
    "CORPUS_PATH",
    "TYPES",
    "Record",
    "Span",
    "load",
    "main",
    "parse",
    "write_jsonl",
]

CORPUS_PATH = pathlib.Path(__file__).with_name("dealership_handwritten.txt")

TYPES: frozenset[str] = frozenset(
    {
        "PERSON",
        "PHONE_NUMBER",
        "EMAIL_ADDRESS",
        "URL",
        "STREET_ADDRESS",
        "LOCATION",
        "ORGANIZATION",
        "DATE_OF_BIRTH",
        "US_SSN",
        "CREDIT_CARD",
        "US_DRIVER_LICENSE",
        "VIN",
        "IBAN_CODE",
        "US_BANK_NUMBER",
        "IP_ADDRESS",
        "LICENSE_PLATE",
        "ID_NUMBER",
    }
)

_OPEN = "[["
_CLOSE = "]]"
_SEP = "|"
_RECORD_SEP = "---"


class Span(TypedDict):
    type: str
    start: int
    end: int


class Record(TypedDict):
    text: str
    spans: list[Span]
    id: int


def _split_records(text: str) -> list[str]:
    """Drop the leading ``#`` header, then split on lines that are exactly ``---``."""
    lines = text.splitlines()
    i = 0
    while i < len(lines) and (lines[i].startswith("#") or not lines[i].strip()):
        i += 1
    chunks: list[list[str]] = [[]]
    for line in lines[i:]:
        if line.rstrip() == _RECORD_SEP:
            chunks.append([])
        else:
            chunks[-1].append(line)
    out: list[str] = []
    for chunk in chunks:
        body = "\n".join(chunk).strip("\n")
        if body.strip():
            out.append(body)
    return out


def _parse_record(raw: str, number: int) -> Record:
    def fail(msg: str) -> ValueError:
        return ValueError(f"record {number}: {msg}: {raw[:60]!r}")

    parts: list[str] = []
    spans: list[Span] = []
    values: list[str] = []
    pos = 0
    length = 0
    while True:
        open_at = raw.find(_OPEN, pos)
        close_at = raw.find(_CLOSE, pos)
        if close_at != -1 and (open_at == -1 or close_at < open_at):
            raise fail(f"stray ']]' at offset {close_at}")
        if open_at == -1:
            parts.append(raw[pos:])
            break
        parts.append(raw[pos:open_at])
        length += open_at - pos
        end_at = raw.find(_CLOSE, open_at + len(_OPEN))
        if end_at == -1:
            raise fail(f"unclosed '[[' at offset {open_at}")
        inner = raw[open_at + len(_OPEN) : end_at]
        if _OPEN in inner:
            raise fail(f"nested '[[' inside annotation at offset {open_at}")
        if _SEP not in inner:
            raise fail(f"annotation without '|' at offset {open_at}")
        label, value = inner.split(_SEP, 1)
        if label not in TYPES:
            raise fail(f"unknown TYPE {label!r}")
        if not value.strip():
            raise fail(f"empty value for {label}")
        if value != value.strip(" \t\n"):
            raise fail(f"value for {label} has surrounding whitespace: {value!r}")
        parts.append(value)
        spans.append({"type": label, "start": length, "end": length + len(value)})
        values.append(value)
        length += len(value)
        pos = end_at + len(_CLOSE)
    text = "".join(parts)
    for span, value in zip(spans, values, strict=True):
        if text[span["start"] : span["end"]] != value:  # self-check of the offsets
            raise fail(f"offset self-check failed for {span['type']} {value!r}")
    return {"text": text, "spans": spans, "id": number}


def parse(text: str) -> list[Record]:
    """Turn ``[[TYPE|value]]`` markup into records with offsets into the clean text.

    Raises ValueError naming the (1-based) record number for malformed markup.
    """
    return [_parse_record(raw, n) for n, raw in enumerate(_split_records(text), start=1)]


def load(path: pathlib.Path = CORPUS_PATH) -> list[Record]:
    """Parse the corpus file that sits next to this module."""
    return parse(path.read_text(encoding="utf-8"))


def write_jsonl(path: pathlib.Path) -> int:
    """Write one JSON record per line to ``path``; returns the number of records."""
    records = load()
    with path.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m bench.corpora.dealership_handwritten OUT.jsonl", file=sys.stderr)
        return 2
    n = write_jsonl(pathlib.Path(args[0]))
    print(f"wrote {n} records to {args[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
