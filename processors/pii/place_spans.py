"""LOCATION spans that are no place: what spaCy's NER tags as GPE/LOC in dealership text.

spaCy's md model tags record numbers ("RO64600", "stk N28884", "R.O."), field labels
("ssn") and, on ALL-CAPS or all-lower-case lines, ordinary words ("DOWN", "LOANER",
"VISITING", "THE WIPER BLADES") as places. `clean_places`:

- drops a LOCATION span whose first word has a digit ("RO64600"; "cardiff m2" stays) or
  with no word of two letters or more;
- drops a one-word span that is a field label or chat shorthand (person_spans.is_label);
- trims a leading "the" ("THE SANTA FE" is then a vehicle, dropped with the vehicle words);
- on a caseless line, drops a one-word span (or one that began with "the") whose every word
  is ordinary (common in English, or at the caseless thresholds of person_spans) and no
  country, US state or city of 15,000+ people (processors/pii/gazetteer.py): "DOWN" goes,
  "GERMANY", "cardiff" and two-word towns ("PARK CITY", "mill valley") stay places.

Invariant: it only drops or narrows LOCATION spans; every other finding passes unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from presidio_analyzer import RecognizerResult

from processors.pii.gazetteer import known_places
from processors.pii.person_spans import (
    caseless_common,
    caseless_line,
    common_word,
    is_label,
)

_WORD = re.compile(r"[^\W\d_]+(?:['’.-][^\W\d_]+)*")
_TWO_LETTERS = re.compile(r"[^\W\d_]{2}")
_LEADING_THE = re.compile(r"the\s+", re.IGNORECASE)


def _label(word: str) -> bool:
    """A field label or shorthand that is no place GeoNames knows ("ssn"; "Mobile" stays)."""
    return is_label(word) and word.rstrip(".").casefold() not in known_places()


def clean_places(text: str, results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """LOCATION spans that are no place dropped or narrowed (module doc)."""
    out = []
    for r in results:
        if r.entity_type != "LOCATION":
            out.append(r)
            continue
        span = text[r.start:r.end]
        first = span.split(maxsplit=1)[0] if span.strip() else ""
        if any(c.isdigit() for c in first) or not _TWO_LETTERS.search(span):
            continue
        trimmed = False
        if (m := _LEADING_THE.match(span)) and m.end() < len(span):
            trimmed = True
            r.start += m.end()
            span = text[r.start:r.end]
        words = [w.group() for w in _WORD.finditer(span)]
        if len(words) == 1 and _label(words[0]):
            continue
        if caseless_line(text, r.start) and (len(words) == 1 or trimmed) and all(
                w.casefold() not in known_places() and (common_word(w) or caseless_common(w))
                for w in words):
            continue
        out.append(r)
    return out
