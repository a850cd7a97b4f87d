"""PERSON spans cut to the name: what spaCy's NER adds around a name, or tags as one.

spaCy's md model runs a name into the words around it ("Sarah Happy to help", "Cust Jędrzej
Dąbrowski", "Zoë Weiß DL#", "Jennifer Black Je cherche un") and tags non-English words
and record numbers as people ("Bonjour je", "R.O. 67902"). `clean_people`:

- drops a PERSON span with no word of two letters or more ("R.O.") or only an honorific, a
  name word before a paint colour ("Hunter green"), and a span in lower case on a line with
  capitals, not made by a cue, of dictionary words only and no well-known Census name
  ("Quiero agendar brake");
- trims, from either edge of a multi-word span, role words ("Cust", "Agent", "Owner") and
  words common in English, French, Spanish, German, Portuguese or Italian (`common_word`)
  unless the US Census lists the word, accents aside, as a first name (at the start) or a
  first name or surname (at the end): "Mark Mitchell" and "José Pérez" keep their first
  names, "Sarah Happy" loses "Happy", "Jennifer Black Je cherche un" its French;
- trims a trailing 2-4 letter ALL-CAPS word from a span that is not ALL-CAPS ("DL");
- drops a single remaining word that is such a common word and no census first name
  ("Quiero", "Bonjour"), or keeps it as a LOCATION when GeoNames knows it as a place.

On a line whose case says nothing (all lower case or ALL CAPS, where spaCy ran on a re-cased
copy) a word is ordinary at a lower frequency (`CASELESS_ENGLISH_ZIPF`,
`CASELESS_FOREIGN_ZIPF`): "brake inspection", "LOANER", "cherche". Anywhere, a word that is
two adjacent letters of a common English word swapped ("nubmer", "Cusotmer") is a typo, not
a name (`typo_of_common`), and a field label ("VIN", "SSN", "DOB") is no name.

Census names and places: processors/pii/gazetteer.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from presidio_analyzer import RecognizerResult
from wordfreq import zipf_frequency

from processors.pii.gazetteer import (
    is_any_name,
    is_first_name,
    is_well_known_name,
    known_places,
)
from processors.pii.names import cued, is_common, line_case
from processors.pii.recognizers import FIELD_LABELS, VEHICLE_WORD

#: a word at or above this Zipf frequency in English, or FOREIGN_COMMON_ZIPF in one of
#: FOREIGN_LANGUAGES, is a common word. Names are frequent words in their own language
#: (wordfreq counts "josé" 5.2 in Portuguese, "jean" 5.5 in French); function words are
#: more so ("vu" 5.7, "soy" 5.8, "je" 6.9)
ENGLISH_COMMON_ZIPF = 5.0
FOREIGN_COMMON_ZIPF = 5.6
FOREIGN_LANGUAGES = ("fr", "es", "de", "pt", "it")
#: on a caseless line (module doc): English / foreign Zipf frequency of an ordinary word.
#: Measured on Faker's name lists of 24 locales (names the Census does not list): 0.6% of
#: those name words reach 4.0 in English (3.3 took "kumar", "gupta", "jensen"), 1-3% reach
#: 5.0 in their own language.
CASELESS_ENGLISH_ZIPF = 4.0
CASELESS_FOREIGN_ZIPF = 5.0
#: shorter words are often names at these frequencies ("xu" 3.3, "raj" 3.6, "obi" 3.4)
CASELESS_MIN_LETTERS = 4
#: typo_of_common: a word of TYPO_MIN_LETTERS+ letters rarer than TYPO_MAX_ZIPF that is a
#: word of TYPO_OF_ZIPF+ with two adjacent letters swapped. On Faker's name lists 0.2% of
#: name words are such a swap, fewer once Census names are exempt.
TYPO_MIN_LETTERS = 5
#: words remembered by each cached lookup (bounded: a worker runs for months)
CACHE_WORDS = 65536
TYPO_MAX_ZIPF = 2.5
TYPO_OF_ZIPF = 4.0
ROLE_WORDS = frozenset({"cust", "customer", "agent", "owner", "buyer", "co-buyer", "client",
                        "advisor", "tech", "technician", "rep", "salesperson", "cosigner"})
HONORIFICS = frozenset({"mr", "mrs", "ms", "mx", "miss", "dr", "prof", "sir", "madam"})
_WORD = re.compile(r"[^\W\d_]+(?:['’.-][^\W\d_]+)*\.?")
_ELIDED = re.compile(r"(?:[cdjlmnst]|qu)['’]\w")
_TWO_LETTERS = re.compile(r"[^\W\d_]{2}")


@lru_cache(maxsize=CACHE_WORDS)
def common_word(word: str) -> bool:
    """An English stop word, or common in one of LANGUAGES (module doc)."""
    low = word.casefold().rstrip(".")
    return is_common(low, ENGLISH_COMMON_ZIPF) or any(
        zipf_frequency(low, lang) >= FOREIGN_COMMON_ZIPF for lang in FOREIGN_LANGUAGES)


@lru_cache(maxsize=CACHE_WORDS)
def typo_of_common(word: str) -> bool:
    """A rare word that is a common English word with two adjacent letters swapped
    ("nubmer", "Cusotmer", "plesae"), the swapped word no Census name ("Luara" is "laura")."""
    low = word.casefold()
    if len(low) < TYPO_MIN_LETTERS or not low.isalpha() or (
            zipf_frequency(low, "en") >= TYPO_MAX_ZIPF or is_any_name(low)):
        return False
    for i in range(len(low) - 1):
        if low[i] != low[i + 1]:
            swapped = low[:i] + low[i + 1] + low[i] + low[i + 2:]
            if zipf_frequency(swapped, "en") >= TYPO_OF_ZIPF and not is_any_name(swapped):
                return True
    return False


@lru_cache(maxsize=CACHE_WORDS)
def caseless_common(word: str) -> bool:
    """Common at the caseless thresholds: a word of CASELESS_MIN_LETTERS+ letters, no
    hyphen or apostrophe ("o'brien", "thompson-miller" are names; wordfreq scores the
    parts)."""
    low = word.casefold().rstrip(".")
    if len(low) < CASELESS_MIN_LETTERS or not low.isalpha():
        return False
    return zipf_frequency(low, "en") >= CASELESS_ENGLISH_ZIPF or any(
        zipf_frequency(low, lang) >= CASELESS_FOREIGN_ZIPF for lang in FOREIGN_LANGUAGES)


#: chat and dealership shorthand that spaCy tags as names ("otd", "abt", "Dustin Id like")
SHORTHAND = frozenset({"pls", "plz", "thx", "thnx", "ty", "ur", "abt", "appt", "appts", "svc",
                       "otd", "tmrw", "tmr", "cust", "asap", "btw", "fyi", "lmk", "msg", "bdc",
                       "mgr", "dept", "approx", "qty", "id", "im", "ive", "pu",
                       # chat interjections
                       "yep", "yup", "gotcha", "welp", "hmm", "ugh", "oops", "kk", "yea", "ahh",
                       "okey", "lol", "omg", "tbh", "idk"})


def is_label(word: str) -> bool:
    """A field label ("SSN", "VIN") or chat shorthand ("otd", "appt")."""
    low = word.rstrip(".").casefold()
    return low.upper() in FIELD_LABELS or low in SHORTHAND


def ordinary_word(word: str, case_says_nothing: bool) -> bool:
    """Beyond `common_word`: a field label or shorthand, or, where the word's case says
    nothing, a typo of a common word or a word common at the caseless thresholds (module
    doc). No name unless the Census lists it (the callers check)."""
    return is_label(word) or case_says_nothing and (
        typo_of_common(word) or caseless_common(word))


class LineCases:
    """Whether the line at an offset is in one case (`names.line_case`), each line worked out
    once per text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.cache: dict[int, bool] = {}

    def caseless(self, at: int) -> bool:
        start = self.text.rfind("\n", 0, at) + 1
        if start not in self.cache:
            end = self.text.find("\n", start)
            self.cache[start] = line_case(self.text[start:end if end >= 0 else len(
                self.text)]) is not None
        return self.cache[start]


def caseless_line(text: str, at: int) -> bool:
    return LineCases(text).caseless(at)


_AFTER_HONORIFIC = re.compile(r"\b(?:mr|mrs|ms|mx|miss|dr|prof)\.?[ \t]+$", re.IGNORECASE)
#: the first mark that ends a clause: a question verb asks only if it is "?"
_CLAUSE_END = re.compile(r"[.,;!?]")
_POSSESSIVE = re.compile(r"['’]s$", re.IGNORECASE)
_SENTENCE_START = re.compile(r"(?:[.!?]\s+|\n[ \t]*)$")
#: a question's first word that is a verb, not a name ("Will Robert be around Thu?")
_QUESTION_VERBS = frozenset({"will", "can", "could", "would", "should", "did", "does", "shall"})
#: a sentence's first word followed by an article and a year, a number or a vehicle is a verb
#: ("Mark the 2013 Jetta as sold"); "Frank the customer", "Rose my wife" stay names
_IMPERATIVE_OBJECT = re.compile(
    rf"[ \t]+(?:the|a|an)[ \t]+(?:'?[0-9]|(?:{VEHICLE_WORD.pattern})\b)", re.IGNORECASE)


#: a full stop that ends an abbreviation, not a sentence ("Mrs. Porsche", "J. Ford")
_ABBREVIATION_DOT = re.compile(r"(?:\b(?:mr|mrs|ms|mx|dr|prof|st|sr|jr|rev|capt|sgt)|\b\w)\.\s+$",
                               re.IGNORECASE)


def _sentence_start(text: str, at: int) -> bool:
    before = text[max(0, at - 8):at]
    return not text[:at].strip() or (
        _SENTENCE_START.search(before) is not None and _ABBREVIATION_DOT.search(before) is None)


def _no_name(text: str, m: re.Match[str], where: str, *, caseless: bool, cased: bool,
             caps: bool) -> bool:
    """Whether word `m` of a PERSON span is no part of the name, `where` it stands in the
    span ("start", "end" or "single", the last word left). `caseless`: its line is one case;
    `cased`: the span has capitals; `caps`: the span is ALL CAPS."""
    word = _POSSESSIVE.sub("", m.group())  # "driver's" is looked up as "driver"
    low = word.casefold().rstrip(".")
    if where != "end" and len(low) == 1:
        return False  # an initial ("g balogun")
    if where != "end" and _AFTER_HONORIFIC.search(text, max(0, m.start() - 6), m.start()):
        return False  # "Mrs. Porsche", "MR PRICE": the honorific says it is a name
    if where != "end" and _ELIDED.match(word):
        return True  # French elision in lower case ("m'appelle"); a name is "D'Angelo"
    if low in ROLE_WORDS or (where == "start" and low in HONORIFICS):
        return True
    if where == "end" and not caps and word.isupper() and 2 <= len(word) <= 4 and word.isalpha():
        return True  # a label after a name ("DL")
    # a lower-case word in a span that has capitals is no name, Census or not ("Jake price")
    lower_in_cased = cased and word[:1].islower() and len(word) > 1
    census_first = not lower_in_cased and is_first_name(word)
    census_any = not lower_in_cased and is_any_name(word)
    first = where != "end" and _sentence_start(text, m.start())
    clause_end = _CLAUSE_END.search(text, m.end())
    if first and (low in _QUESTION_VERBS and clause_end is not None and clause_end.group() == "?"
                  or where == "single" and zipf_frequency(low, "en") >= 4.0
                  and _IMPERATIVE_OBJECT.match(text, m.end())):
        return True
    if common_word(word) and not (census_any if where == "end" else census_first):
        return True
    case_says_nothing = caseless or lower_in_cased or word[:1].islower() or first
    return ordinary_word(word, case_says_nothing) and not census_any


#: a paint colour after a name word ("Hunter green", "Sterling Silver") is a colour
_COLOUR_AFTER = re.compile(
    r"[ \t]+(?:green|blue|red|silver|gray|grey|black|white|gold|bronze|brown|beige|orange|"
    r"yellow|purple|maroon|metallic|pearl)\b", re.IGNORECASE)


#: a word this frequent (Zipf) in English or a foreign language is a dictionary word
DICTIONARY_ZIPF = 2.0


def _dictionary_word(word: str) -> bool:
    low = word.casefold()
    return any(zipf_frequency(low, lang) >= DICTIONARY_ZIPF
               for lang in ("en", *FOREIGN_LANGUAGES))


def _no_person(text: str, r: RecognizerResult) -> bool:
    """A PERSON finding that is no one: a name word before a paint colour, or, not made by a
    cue, a span in lower case on a line with capitals made only of dictionary words (English
    or foreign, `DICTIONARY_ZIPF`) none of which is a well-known Census name ("Quiero agendar
    brake ...": where case says something, a name has a capital; "tell jim", "call back
    garcia" and the rare "okonkwo" stay names)."""
    span = text[r.start:r.end]
    if " " not in span and _COLOUR_AFTER.match(text, r.end):
        return True
    if not span.islower() or cued(r) or caseless_line(text, r.start):
        return False
    words = [w.group() for w in _WORD.finditer(span)]
    return all(_dictionary_word(w) and not is_well_known_name(w) for w in words)


def clean_people(text: str, results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """PERSON spans cut to the name, and non-names dropped (module doc)."""
    out = []
    for r in results:
        if r.entity_type != "PERSON":
            out.append(r)
            continue
        if _no_person(text, r):
            continue
        words = list(_WORD.finditer(text, r.start, r.end))
        if not any(_TWO_LETTERS.search(w.group()) for w in words) or all(
                w.group().casefold().rstrip(".") in HONORIFICS for w in words):
            continue
        how = {"caps": text[r.start:r.end].isupper(),
               "cased": any(w.group()[:1].isupper() for w in words),
               "caseless": caseless_line(text, r.start)}
        while len(words) > 1 and _no_name(text, words[0], "start", **how):
            words.pop(0)
        while len(words) > 1 and _no_name(text, words[-1], "end", **how):
            words.pop()
        if len(words) == 1 and _no_name(text, words[0], "single", **how):
            if words[0].group().casefold() not in known_places():
                continue
            r.entity_type = "LOCATION"  # a place tagged as a person ("québec")
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
