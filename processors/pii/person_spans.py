"""PERSON spans cut to the name: what spaCy's NER adds around a name, or tags as one.

spaCy's md model runs a name into the words around it ("Sarah Happy to help", "Cust Jędrzej
Dąbrowski", "Zoë Weiß DL#", "Jennifer Black Je cherche un") and tags non-English words
and record numbers as people ("Bonjour je", "R.O. 67902"). `clean_people`:

- drops a PERSON span with no word of two letters or more ("R.O.") or only an honorific;
- trims, from either edge of a multi-word span, role words ("Cust", "Agent", "Owner") and
  words common in English, French, Spanish, German, Portuguese or Italian (`common_word`)
  unless the US Census lists the word, accents aside, as a first name (at the start) or a
  first name or surname (at the end): "Mark Mitchell" and "José Pérez" keep their first
  names, "Sarah Happy" loses "Happy", "Jennifer Black Je cherche un" its French;
- trims a trailing 2-4 letter ALL-CAPS word from a span that is not ALL-CAPS ("DL");
- drops a single remaining word that is such a common word and no census first name
  ("Quiero", "Bonjour").

Census names: the 1990 US Census first-name and surname lists shipped in the PyPI package
`names` (MIT), read once per process; a name held by fewer than `CENSUS_MIN_PERCENT` of
people is left out ("Un", "Bonjour" are on the lists).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path

from presidio_analyzer import RecognizerResult
from wordfreq import zipf_frequency

from processors.pii.names import is_common

#: a word at or above this Zipf frequency in English, or FOREIGN_COMMON_ZIPF in one of
#: FOREIGN_LANGUAGES, is a common word. Names are frequent words in their own language
#: (wordfreq counts "josé" 5.2 in Portuguese, "jean" 5.5 in French); function words are
#: more so ("vu" 5.7, "soy" 5.8, "je" 6.9)
ENGLISH_COMMON_ZIPF = 5.0
FOREIGN_COMMON_ZIPF = 5.6
FOREIGN_LANGUAGES = ("fr", "es", "de", "pt", "it")
CENSUS_MIN_PERCENT = 0.002
ROLE_WORDS = frozenset({"cust", "customer", "agent", "owner", "buyer", "co-buyer", "client",
                        "advisor", "tech", "technician", "rep", "salesperson", "cosigner"})
HONORIFICS = frozenset({"mr", "mrs", "ms", "mx", "miss", "dr", "prof", "sir", "madam"})
_WORD = re.compile(r"[^\W\d_]+(?:['’.-][^\W\d_]+)*\.?")
_ELIDED = re.compile(r"(?:[cdjlmnst]|qu)['’]\w")
_TWO_LETTERS = re.compile(r"[^\W\d_]{2}")


@cache
def census_names() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames) of the US Census lists in the `names` package, casefolded."""
    import names

    root = Path(names.__file__).parent

    def read(*files: str) -> frozenset[str]:
        out: set[str] = set()
        for f in files:
            with (root / f).open() as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) >= 2 and float(parts[1]) >= CENSUS_MIN_PERCENT:
                        out.add(parts[0].casefold())
        return frozenset(out)

    return read("dist.male.first", "dist.female.first"), read("dist.all.last")


@cache
def common_word(word: str) -> bool:
    """An English stop word, or common in one of LANGUAGES (module doc)."""
    low = word.casefold().rstrip(".")
    return is_common(low, ENGLISH_COMMON_ZIPF) or any(
        zipf_frequency(low, lang) >= FOREIGN_COMMON_ZIPF for lang in FOREIGN_LANGUAGES)


def _plain(word: str) -> str:
    """Casefolded, without accents or a trailing full stop ("María" -> "maria")."""
    decomposed = unicodedata.normalize("NFKD", word.casefold().rstrip("."))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _is_first_name(word: str) -> bool:
    return _plain(word) in census_names()[0]


def _is_any_name(word: str) -> bool:
    first, last = census_names()
    return _plain(word) in first or _plain(word) in last


def _trim_start(word: str) -> bool:
    low = word.casefold().rstrip(".")
    if len(low) == 1:
        return False  # an initial ("g balogun")
    if _ELIDED.match(word):
        return True  # French elision in lower case ("m'appelle"); a name is "D'Angelo"
    return low in ROLE_WORDS or low in HONORIFICS or (common_word(word)
                                                      and not _is_first_name(word))


def _trim_end(word: str, span_is_caps: bool) -> bool:
    if not span_is_caps and word.isupper() and 2 <= len(word) <= 4 and word.isalpha():
        return True
    return word.casefold().rstrip(".") in ROLE_WORDS or (common_word(word)
                                                         and not _is_any_name(word))


def _as_name(word: str, cased: bool) -> str:
    """A lower-case word in a span that has capitals is no name, census or not ("Jake
    price"): it is looked up with a mark no census name has."""
    return f"{word}\u0000" if cased and word[:1].islower() and len(word) > 1 else word


def clean_people(text: str, results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """PERSON spans cut to the name, and non-names dropped (module doc)."""
    out = []
    for r in results:
        if r.entity_type != "PERSON":
            out.append(r)
            continue
        words = list(_WORD.finditer(text, r.start, r.end))
        if not any(_TWO_LETTERS.search(w.group()) for w in words) or all(
                w.group().casefold().rstrip(".") in HONORIFICS for w in words):
            continue
        caps = text[r.start:r.end].isupper()
        cased = any(w.group()[:1].isupper() for w in words)
        while len(words) > 1 and _trim_start(_as_name(words[0].group(), cased)):
            words.pop(0)
        while len(words) > 1 and _trim_end(_as_name(words[-1].group(), cased), caps):
            words.pop()
        if len(words) == 1 and (_ELIDED.match(words[0].group()) or common_word(
                words[0].group()) and not _is_first_name(words[0].group())):
            continue
        if words and (words[0].start() > r.start or words[-1].end() < r.end):
            r.start, r.end = words[0].start(), words[-1].end()
        out.append(r)
    return out


_HONORIFIC_BEFORE = re.compile(r"\b(?:Dr|Prof|Rev|Capt|Sgt|Judge)\.?[ \t]+$",
                               re.IGNORECASE)


def honorifics(text: str, results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """A TITLE finding for a professional title right before a name ("Dr." in "Dr. Kyle
    Kuefer", "Sgt.", "Rev."): with the name it tells the person's profession. It is its own
    finding, outside the PERSON span, so "Dr. Trần" and "Trần" stay one person in the
    pseudonym book. "Mr."/"Ms." are kept: the dealership corpora do not count them as PII."""
    added = []
    for r in results:
        if r.entity_type == "PERSON" and (
                m := _HONORIFIC_BEFORE.search(text, max(0, r.start - 12), r.start)):
            added.append(RecognizerResult("TITLE", m.start(),
                                          m.start() + len(m.group().rstrip(" \t")), 0.6))
    return [*results, *added]
