"""One-off redaction of JSON lines or plain text lines, no Kafka (`auterity redact`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from processors.errors import StepInputError
from processors.pii.pseudonyms import PseudonymBook
from processors.pii.redaction import process_analyzer, redact_messages


def _parse(line: str) -> dict[str, Any]:
    stripped = line.rstrip("\n")
    if stripped.lstrip().startswith("{"):
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            return {"error": f"invalid JSON: {exc.msg} at column {exc.colno}"}
        if not isinstance(obj.get("text"), str):
            return {**obj, "error": "JSON line has no string field `text`"}
        return obj
    return {"text": stripped}


def redact_lines(lines: Iterable[str], max_chars: int, key: bytes,
                 batch_size: int = 32) -> Iterator[dict[str, Any]]:
    """Yield, per input line, its fields plus `redacted` and `entities` (or `error`).

    Lines sharing a `conversation_id` share one pseudonym book (`<PERSON_1>` is one person);
    a line without one gets a book of its own.
    """
    analyzer = process_analyzer(batch_size)
    books: dict[str, PseudonymBook] = {}
    it = iter(lines)
    n = 0
    while chunk := list(islice(it, batch_size * 4)):
        items = [_parse(line) for line in chunk if line.strip()]
        todo = [item for item in items if "error" not in item]
        subjects = []
        for item in todo:
            conv = str(item.get("conversation_id", ""))
            n += 1
            subjects.append(f"conversation:{conv}" if conv else f"line:{n}")
        results = redact_messages([i["text"] for i in todo], subjects, books, key, max_chars,
                                  analyzer=analyzer)
        for item, r in zip(todo, results, strict=True):
            if isinstance(r, StepInputError):
                item["error"] = f"{r.kind}: {r}"
                continue
            item["redacted"] = r.text
            item["entities"] = [{"type": f.entity_type, "start": f.start, "end": f.end,
                                 "score": round(f.score, 3)} for f in r.findings]
        yield from items
