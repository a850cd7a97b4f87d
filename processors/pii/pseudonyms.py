"""Consistent per-conversation pseudonyms (`<PERSON_1>`, `<PHONE_NUMBER_2>`, ...).

The book's state is keyed by HMAC-SHA256(key, "TYPE|normalised value"), never by the raw
value, so it can be stored in a changelog topic without PII leaving the raw layer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter

from processors.pii.normalise import normal_form

DIGEST_HEX_CHARS = 32
_LABEL_RE = re.compile(r"^<(?P<type>[A-Z0-9_]+)_(?P<n>[0-9]+)>$")
_SPACES = re.compile(r"\s+")
#: Entity types compared on their digits only ("(512) 555-0143" == "512.555.0143").
DIGIT_TYPES = frozenset(
    {"PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "US_BANK_NUMBER", "IBAN_CODE"}
)  # fmt: skip
_NON_ALNUM = re.compile(r"[^0-9a-z]")
#: Types NER confuses with names: a value the book knows as a PERSON keeps that label.
NAME_LIKE_TYPES = frozenset({"PERSON", "LOCATION", "NRP"})
#: Pseudo entity type under which the given names of a full PERSON name are remembered.
_NAME_PART = "PERSON_NAME_PART"


def normalise(entity_type: str, value: str) -> str:
    """Normal form under which two mentions are "the same" value: Unicode-normalised first
    (processors/pii/normalise.py), so "Ma\u00adria" and "Maria" share one label."""
    value = normal_form(value)
    if entity_type == "PHONE_NUMBER":
        digits = re.sub(r"\D", "", value)
        # +1 512 555 0143 and (512) 555-0143 are one North American number.
        return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
    if entity_type in DIGIT_TYPES:
        return _NON_ALNUM.sub("", value.casefold())
    text = _SPACES.sub(" ", value.casefold()).strip()
    if entity_type == "PERSON":
        text = text.strip(" .,;:!?'\"")
    return text


class PseudonymBook:
    """Labels numbered per entity type in order of first appearance, stable per value."""

    def __init__(self, key: bytes, state: dict[str, str] | None = None) -> None:
        if not key:
            raise ValueError("PseudonymBook needs a non-empty HMAC key")
        self._key = key
        self._labels: dict[str, str] = {}
        self._counts: Counter[str] = Counter()
        for digest, label in (state or {}).items():
            m = _LABEL_RE.match(label)
            if m is None:
                raise ValueError(f"not a pseudonym label: {label!r}")
            self._labels[digest] = label
            n = int(m["n"])  # several digests (name parts) may share one label
            self._counts[m["type"]] = max(self._counts[m["type"]], n)

    def _digest(self, entity_type: str, value: str) -> str:
        msg = f"{entity_type}|{normalise(entity_type, value)}".encode()
        return hmac.new(self._key, msg, hashlib.sha256).hexdigest()[:DIGEST_HEX_CHARS]

    def label(self, entity_type: str, value: str) -> str:
        """The value's label, allocating the next number for its type on first sight.

        A one-word PERSON mention that is part of an earlier full name ("Maria" after
        "Maria Lopez") reuses that name's label.
        """
        found = self.lookup(entity_type, value)
        if found is not None:
            return found
        digest = self._digest(entity_type, value)
        self._counts[entity_type] += 1
        new = f"<{entity_type}_{self._counts[entity_type]}>"
        self._labels[digest] = new
        if entity_type == "PERSON":
            for part in normalise("PERSON", value).split(" ")[:-1] if " " in value else []:
                self._labels.setdefault(self._digest(_NAME_PART, part), new)
        return new

    def lookup(self, entity_type: str, value: str) -> str | None:
        """The label `value` already has under `entity_type` (a name-like type also finds
        the label it has under any other name-like type), or None; never allocates."""
        found = self._labels.get(self._digest(entity_type, value))
        if found is None and entity_type in NAME_LIKE_TYPES:
            found = self._name_like(value)
        return found

    def known_name(self, value: str) -> str | None:
        """The PERSON label of `value` if this book has seen it as a person's name or as the
        given name of one. NER may call "Shannon Hill" a LOCATION in a later message: it
        keeps the person's label (NAME_LIKE_TYPES are looked up here first)."""
        found = self._labels.get(self._digest("PERSON", value))
        if found is None and " " not in normalise("PERSON", value):
            found = self._labels.get(self._digest(_NAME_PART, value))
        return found

    def _name_like(self, value: str) -> str | None:
        """The label `value` has under any name-like type: one person keeps ONE tag even
        when NER calls the name a place in one message and a person in another."""
        found = self.known_name(value)
        for kind in sorted(NAME_LIKE_TYPES - {"PERSON"}):
            found = found or self._labels.get(self._digest(kind, value))
        return found

    def state(self) -> dict[str, str]:
        """JSON-able {hmac hex digest: label}; contains no raw values."""
        return dict(self._labels)

    def __len__(self) -> int:
        return len(self._labels)
