"""`auterity redact`: one-off redaction of JSON lines or plain text lines, no Kafka."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from processors.errors import StepInputError
from processors.pii.engine import PiiAnalyzer
from processors.pii.inputs import check_text
from processors.pii.pseudonyms import PseudonymBook
from processors.pii.redact import redact


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

    Lines sharing a `conversation_id` share one pseudonym book (`<PERSON_1>` is one person).
    """
    analyzer = PiiAnalyzer(batch_size=batch_size)
    books: dict[str, PseudonymBook] = {}
    it = iter(lines)
    while chunk := list(islice(it, batch_size * 4)):
        items = [_parse(line) for line in chunk if line.strip()]
        todo = []
        for item in items:
            if "error" in item:
                continue
            try:
                check_text(item["text"], max_chars)
                todo.append(item)
            except StepInputError as exc:
                item["error"] = f"{exc.kind}: {exc}"
        for item, found in zip(todo, analyzer.analyze([i["text"] for i in todo]), strict=True):
            conv = str(item.get("conversation_id", ""))
            book = books.setdefault(conv, PseudonymBook(key)) if conv else PseudonymBook(key)
            item["redacted"] = redact(item["text"], found, book)
            item["entities"] = [{"type": f.entity_type, "start": f.start, "end": f.end,
                                 "score": round(f.score, 3)} for f in found]
        yield from items
