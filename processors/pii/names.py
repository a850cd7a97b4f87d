"""Names regardless of case and position: what spaCy's small NER model misses on its own.

- `truecase`: a same-length copy of a text whose all-lower-case or ALL-CAPS lines are
  re-cased for NER: words that are rare in English (wordfreq's Zipf frequency below
  `RARE_ZIPF`, not a stop word) get a capital, the others lower case. "follow up with
  patricia desrosiers" -> "follow up with Patricia Desrosiers"; "TOMOMI NISHIYAMA LIVES AT"
  -> "Tomomi Nishiyama lives at". The analyzer runs NER on that copy as well (only for texts
  that have such lines) and keeps its PERSON findings: offsets are the same by construction.
- `expand_names`: a PERSON span grows over directly adjacent capitalised words and initials
  on the same line ("Sigrid" before a found "Nyström", "D." in "Faina D. Yefremova").
- `OrgShapedNameRecognizer`: spaCy's small model often labels a lone name ORG ("Darren is
  a very sympathetic person" -> ORG) or labels a full name ORG; a 1-3 word ORG entity of
  uncommon capitalised words with no organisation word (Inc, Motors, Bank, ...) is a name.
- `email_names`: the words of an e-mail's local part ("maria.lopez@", "LaraFiorentino@")
  are names wherever else they appear in the text.
- `propagate_names`: every other mention in the text of a word of a found name is a name
  too ("Asya spent a year ... as the assistant to Asya Godina").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from itertools import pairwise

import regex
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS
from wordfreq import zipf_frequency

from processors.pii.gazetteer import is_any_name
from processors.pii.recognizers import MAKE_WORD, VEHICLE_ONLY

#: Words at or above this Zipf frequency (about once per 25,000 words) stay lower case when
#: re-casing; rarer words are capitalised so NER may consider them names.
RARE_ZIPF = 4.6
#: A word this common is never added to a name by expansion.
COMMON_ZIPF = 5.2
#: A word of a found name this common is not looked for elsewhere (propagation, the
#: conversation's memory). Only words of the name as found are propagated, never the words
#: expansion added ("Appointment" after "Dana Scully" in a subject line).
PROPAGATED_MAX_ZIPF = COMMON_ZIPF
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
#: a Titlecase word ("Nyström", "O'Neil") or an initial ("D."); never an ALL-CAPS word
_TITLE_WORD = r"(?:\p{Lu}\p{Ll}+(?:['’-]\p{L}+)*|\p{Lu}\.)"
_ADJACENT = regex.compile(rf"[ \t]+({_TITLE_WORD})(?![\w])")
#: a bare initial and a surname after a found first name ("Faith" + " S Collins")
_INITIAL_SURNAME = regex.compile(r"[ \t]+\p{Lu}\.?[ \t]+(\p{Lu}\p{Ll}+(?:['’-]\p{L}+)*)(?![\w])")
_BEFORE = regex.compile(rf"({_TITLE_WORD})[ \t]+$")
MIN_PROPAGATED = 3


def line_case(line: str) -> str | None:
    """"lower" or "upper" for a line whose letters are all one case, else None."""
    letters = [c for c in line if c.isalpha()]
    if len(letters) < 2:
        return None
    if all(c.islower() for c in letters if c.isupper() or c.islower()):
        return "lower"
    if all(c.isupper() for c in letters if c.isupper() or c.islower()):
        return "upper"
    return None


def is_common(word: str, threshold: float = RARE_ZIPF) -> bool:
    """An English stop word, or an English word at or above `threshold` (Zipf)."""
    low = word.lower()
    return low in STOP_WORDS or zipf_frequency(low, "en") >= threshold


#: the words before a make in a dealership's name are English words at least this common
#: (Zipf): "Crown" 4.6, "Gateway" 3.8, "Prestige" 3.75; given names below it stay people
#: ("Raj" 3.55, "Ming" 3.54, "Ravi" 3.3), as do "Pinnacle" 3.45 and "Parkway" 3.35
DEALERSHIP_WORD_ZIPF = 3.7


def dealership_shaped(words: Sequence[str]) -> bool:
    """English words and a make ("Crown Kia", "Gateway Lincoln", "Pinnacle Nissan"): a
    dealership. A Census name before the make keeps it a person ("Shawn Ford", "Chen Ford"),
    as does a rarer word ("Oluwaseun Ford", "Raj Dodge", "Soo-ah Lincoln")."""
    # a hyphenated word is a name ("Soo-ah", "Ha-eun"; wordfreq scores "soo-ah" 3.7)
    return len(words) >= 2 and bool(MAKE_WORD.fullmatch(words[-1])) and all(
        w.isalpha() and zipf_frequency(w.lower(), "en") >= DEALERSHIP_WORD_ZIPF
        and not is_any_name(w) for w in words[:-1])


def _recase(word: str) -> str:
    if len(word) == 1 and word.isupper():
        return word  # an initial ("PRIYA M KAUR")
    new = word.lower() if is_common(word) else word[:1].upper() + word[1:].lower()
    return new if len(new) == len(word) else word


_CAPS_WORD = re.compile(r"\b(?-i:[^\W\d_a-zß-ÿ]{4,})\b")


def truecase(text: str) -> str | None:
    """The re-cased copy (module doc), or None when nothing needed re-casing. In mixed-case
    lines, an ALL-CAPS word of 4+ letters that is rare in English ("NAANTALI") is re-cased."""
    out: list[str] = []
    touched = False
    for line in text.splitlines(keepends=True):
        if line_case(line) is None:
            new = _CAPS_WORD.sub(lambda m: _recase(m.group()), line)
            touched = touched or new != line
            out.append(new)
            continue
        touched = True
        out.append(_WORD.sub(lambda m: _recase(m.group()), line))
    if not touched:
        return None
    recased = "".join(out)
    return recased if len(recased) == len(text) else None




def _nameable(word: str) -> bool:
    """May be part of a name: an initial, or an uncommon word that is no vehicle word."""
    if word.endswith("."):
        return True
    return not is_common(word, COMMON_ZIPF) and not VEHICLE_ONLY.fullmatch(word)


def expand_names(text: str, results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """Grow PERSON spans over adjacent capitalised words and initials (module doc)."""
    for r in results:
        if r.entity_type != "PERSON":
            continue
        # one word each side at most: a Title Case line ("Dana Scully Appointment Reminder")
        # must not become one name
        if (m := _INITIAL_SURNAME.match(text, r.end)) and _nameable(m.group(1)):
            r.end = m.end()
        elif (m := _ADJACENT.match(text, r.end)) and _nameable(m.group(1)):
            r.end = m.end()
        # leftwards only over rare words: "Hi Mercedes" and "Text Jordan" keep their verbs
        if (m := _BEFORE.search(text, 0, r.start)) and _nameable(m.group(1)) and (
                not is_common(m.group(1)) and (
                m.start(1) == 0 or not text[m.start(1) - 1].isalnum())):
            r.start = m.start(1)
    return list(results)


#: the rest of a word a span ends inside; never a possessive "'s"
_WORD_TAIL = regex.compile(r"(?:\p{L}|-\p{L}|['’](?![sS]\b)\p{L})+")
#: the start of a word a span begins inside; an apostrophe only after a capital ("O'Neil",
#: not the French "m'appelle")
_WORD_HEAD = regex.compile(r"(?:\p{L}|\p{L}-|\p{Lu}['’])+$")


def whole_words(text: str, results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """A PERSON span that ends or starts inside a word grows to the whole word, across
    hyphens and apostrophes: spaCy's "Jae-" in "Lim Jae-won", "Ha" in "Ha-eun"."""
    for r in results:
        if r.entity_type != "PERSON" or r.end <= r.start:
            continue
        if m := _WORD_TAIL.match(text, r.end):
            r.end = m.end()
        if m := _WORD_HEAD.search(text, max(0, r.start - 40), r.start):
            r.start = m.start()
        while r.end > r.start and text[r.end - 1] in "-'’":
            r.end -= 1
    return list(results)


_INITIAL_GAP = regex.compile(r"[ \t]+\p{Lu}\.?[ \t]+$")


def join_initials(text: str, results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """Two PERSON findings with one initial between them are one name: "Faith S Collins",
    "VIKRAM M KAUR" (the initial was nobody's)."""
    people = sorted((r for r in results if r.entity_type == "PERSON"), key=lambda r: r.start)
    joined: set[int] = set()
    for a, b in pairwise(people):
        gap = text[a.end:b.start]
        if 0 < len(gap) <= 5 and _INITIAL_GAP.fullmatch(gap):
            b.start = a.start  # b now covers a, the initial and itself
            joined.add(id(a))
    return [r for r in results if id(r) not in joined]


#: "Ubul: What a wife." — a rare capitalised word opening a line and followed by a colon
#: and speech is a speaker's name; field labels ("Phone:", "Website:") are common words.
_SPEAKER = re.compile(r"^[ \t>]*((?-i:[A-ZÀ-ÖØ-Þ][^\W\d_]+)):[ \t]+\S", re.MULTILINE)
SPEAKER_MAX_ZIPF = 3.5
#: "founders: Kónya, Becker and Vasquez" — coordinated capitalised words next to a name
_LIST_ITEM = r"(?-i:[A-ZÀ-ÖØ-Þ][^\W\d_]{1,30}(?:['’-][^\W\d_]{1,30}){0,2})"
_NAME_LIST = re.compile(
    rf"{_LIST_ITEM}(?:,[ \t]+{_LIST_ITEM}){{0,6}},?[ \t]+and[ \t]+{_LIST_ITEM}")


def speaker_names(text: str) -> list[RecognizerResult]:
    """PERSON findings for speaker labels of rare words (see `_SPEAKER`)."""
    return [RecognizerResult("PERSON", m.start(1), m.end(1), 0.5)
            for m in _SPEAKER.finditer(text)
            if zipf_frequency(m.group(1).lower(), "en") < SPEAKER_MAX_ZIPF]


def coordinated_names(text: str, results: Sequence[RecognizerResult]
                      ) -> list[RecognizerResult]:
    """In "A, B and C", if one item is a found PERSON, the other uncommon items are too."""
    found = [(r.start, r.end) for r in results if r.entity_type == "PERSON"]
    added = []
    for m in _NAME_LIST.finditer(text):
        items = list(re.finditer(_LIST_ITEM, m.group()))
        spans = [(m.start() + i.start(), m.start() + i.end()) for i in items]
        if not any(s < fe and fs < e for s, e in spans for fs, fe in found):
            continue
        added += [RecognizerResult("PERSON", s, e, 0.5) for s, e in spans
                  if _nameable(text[s:e]) and not any(fs <= s and e <= fe for fs, fe in found)]
    return [*results, *added]


def name_words(text: str, results: Iterable[RecognizerResult]) -> set[str]:
    """The casefolded uncommon words of the PERSON findings (what `propagate_names` seeks)."""
    words = set()
    for r in results:
        if r.entity_type == "PERSON":
            for m in _WORD.finditer(text, r.start, r.end):
                w = m.group()
                if len(w) >= MIN_PROPAGATED and not is_common(w, PROPAGATED_MAX_ZIPF):
                    words.add(w.casefold())
    return words


def propagate_names(text: str, results: Sequence[RecognizerResult],
                    words: set[str] | None = None) -> list[RecognizerResult]:
    """Add a PERSON finding for each other mention of a found name's words (module doc);
    `words` (default: those of `results`) are the names as found, before expansion."""
    words = (name_words(text, results) if words is None else words) | email_names(text)
    if not words:
        return list(results)
    spans = [(r.start, r.end) for r in results]
    added = []
    for m in _WORD.finditer(text):
        if m.group().casefold() in words and not any(
                s <= m.start() and m.end() <= e for s, e in spans) and not _in_vehicle(text, m):
            added.append(RecognizerResult("PERSON", m.start(), m.end(), 0.6))
    return [*results, *added]


_WORD_BEFORE = re.compile(r"([\w'’]+)[ \t-]+$")
_WORD_AFTER = re.compile(r"[ \t-]+([\w'’]+)")


def _in_vehicle(text: str, m: re.Match[str]) -> bool:
    """The mention is a car: a make or model year before it or a vehicle word after it
    ("Dodge Dakota", "Rolls-Royce", "lincoln aviator", "'21 Sierra")."""
    before = _WORD_BEFORE.search(text, max(0, m.start() - 30), m.start())
    after = _WORD_AFTER.match(text, m.end())
    return bool(before and (VEHICLE_ONLY.fullmatch(before.group(1)) or re.fullmatch(
        r"'?(?:19|20)?[0-9]{2}", before.group(1)))) or bool(
        after and VEHICLE_ONLY.fullmatch(after.group(1)))


#: words that make an ORG entity an organisation, not a person
ORG_WORDS = frozenset("""
inc inc. llc ltd ltd. corp corp. co co. company corporation group bank motors motor auto
autos automotive services service insurance dealership dealer holdings partners associates
foundation university college school hospital clinic church club agency systems solutions
technologies tech labs international global national federal state county city department
store shop center centre garage repair parts tires tire lube body collision finance credit
capital trust fund union restaurant cafe hotel media news network
""".split())  # fmt: skip
ORG_NAME_MAX_WORDS = 3
#: an organisation's name has a word rarer than this ("Hdscores", "Hawkins"), or an
#: organisation word; "Owner" or "Schedule" alone is no organisation
ORG_DISTINCTIVE_ZIPF = 4.0
_ORG_CONNECTORS = frozenset({"and", "of", "&", "the", "for", "de", "du", "la", "der", "und"})
_ORG_WORD = re.compile(r"[^\W\d_]+(?:['’.-][^\W\d_]+)*\.?|&")


def organisation_shaped(span: str) -> bool:
    """An ORG entity that names an organisation ("Hdscores Inc", "Weeks-Rivas", "Hawkins,
    Richardson and Santana"), not the noise spaCy tags ORG in dealership text: acronyms
    ("OTD", "F&I"), repair-order numbers, model codes ("Mazda3"), single common words
    ("Owner", "Schedule"), an organisation word alone ("Tech"). Title Case words and
    connectors only, no digits, and an organisation word or an uncommon word among them."""
    if "\n" in span or any(c.isdigit() for c in span):
        return False
    words = [w for w in re.split(r"[\s,]+", span) if w]
    if not words or len(words) > 8:
        return False
    if len(words) == 1 and words[0].rstrip(".").casefold() in ORG_WORDS:
        return False  # "Tech says ...", "Parts": a department, no organisation's name
    distinctive = False
    for w in words:
        if w.casefold() in _ORG_CONNECTORS:
            continue
        if not _ORG_WORD.fullmatch(w) or not w[:1].isupper() or (len(w) > 1 and w.isupper()):
            return False
        core = w.rstrip(".")
        distinctive = distinctive or core.casefold() in ORG_WORDS or not is_common(
            core, ORG_DISTINCTIVE_ZIPF)
    return distinctive


class PersonRecognizer(LocalRecognizer):
    """A recognizer of PERSON only, with nothing to load; subclasses set NAME and SCORE."""

    NAME: str
    SCORE: float

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(supported_entities=["PERSON"], supported_language=supported_language,
                         name=self.NAME)

    def load(self) -> None:
        return None


class OrgShapedNameRecognizer(PersonRecognizer):
    """PERSON for person-shaped ORG entities of the spaCy doc (module doc)."""

    NAME = "OrgShapedNameRecognizer"
    SCORE = 0.45

    def analyze(self, text: str, entities: list[str],
                nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        doc = getattr(nlp_artifacts, "tokens", None)
        if doc is None:
            return []
        out = []
        for ent in doc.ents:
            if ent.label_ != "ORG" or not self._person_shaped(ent.text):
                continue
            out.append(RecognizerResult("PERSON", ent.start_char, ent.end_char, self.SCORE,
                                        analysis_explanation=AnalysisExplanation(
                                            self.NAME, self.SCORE,
                                            textual_explanation="ORG entity shaped as a name")))
        return out

    @staticmethod
    def _person_shaped(span: str) -> bool:
        words = span.split()
        if not 1 <= len(words) <= ORG_NAME_MAX_WORDS or "\n" in span:
            return False
        for w in words:
            core = w.rstrip(".,")
            if core.casefold() in ORG_WORDS or not core[:1].isupper() or core.isupper() and len(
                    core) > 1 and not core.endswith("."):
                return False
            if not (len(core) == 1 or _WORD.fullmatch(core)) or is_common(core) or (
                    VEHICLE_ONLY.fullmatch(core)):
                return False
        return True


_EMAIL = re.compile(r"\b([\w.+-]{1,64})@[\w-]{1,63}(?:\.[\w-]{1,63}){1,5}")
_CAMEL = re.compile(r"[A-ZÀ-ÖØ-Þ]?[a-zß-ÿ]+")


def email_names(text: str) -> set[str]:
    """Casefolded uncommon words of e-mail local parts (module doc)."""
    words = set()
    for m in _EMAIL.finditer(text):
        for part in re.split(r"[._+-]", m.group(1)):
            for w in _CAMEL.findall(part):
                if len(w) >= MIN_PROPAGATED and not is_common(w, RARE_ZIPF):
                    words.add(w.casefold())
    return words


def remembered_names(text: str, findings_spans: Sequence[tuple[int, int]],
                     known: Callable[[str], str | None]) -> list[tuple[int, int]]:
    """Spans of words, not already inside a finding, that the conversation's pseudonym book
    knows as a person's name (`known` is `PseudonymBook.known_name`): "Dana" in the tenth
    message after "Hi, I'm Dana Scully" in the first, even where NER misses it."""
    out = []
    for m in _WORD.finditer(text):
        w = m.group()
        if len(w) < MIN_PROPAGATED or is_common(w, PROPAGATED_MAX_ZIPF) or any(
                s <= m.start() and m.end() <= e for s, e in findings_spans):
            continue
        if known(w) is not None:
            out.append((m.start(), m.end()))
    return out


_ANY_WORD = r"\p{L}[\p{L}'’-]*\.?"
#: a form field that holds a name: "name: will k hall", "First: Khoa | Last: Phạm"
_FIELD = regex.compile(
    rf"(?i)(?<![\w-])(?:full[ \t]+name|first[ \t]+name|last[ \t]+name|name|first|last)[ \t]*:"
    rf"[ \t]*((?!{_ANY_WORD}:){_ANY_WORD}(?:[ \t]+(?!{_ANY_WORD}:){_ANY_WORD}){{0,3}})"
    rf"(?=[ \t]*(?:$|[|,;<\n]|[ \t]+\p{{L}}+:))", regex.MULTILINE)
#: a field named "... name" that holds no person's name ("Model name: Camry")
NOT_A_NAME_FIELD = regex.compile(
    r"(?i)\b(?:model|vehicle|product|file|user|screen|business|company|dealer(?:ship)?|"
    r"trim|part|package|plan)[ \t]+name[ \t]*:[ \t]*$")
#: a sign-off ending the message: "- Sarah", "-kenji, motorworks vw", "thx megan", "tmrw. Róisín"
SIGN_OFF = regex.compile(
    rf"(?i)(?:(?:^|[ \t])[-–—~][ \t]?|\b(?:thx|thanks|ty|tmrw|regards|cheers)[.,!]?[ \t]+)"
    rf"({_ANY_WORD}(?:[ \t]+{_ANY_WORD})?)(?:,[ \t]*[^\n]{{1,40}})?[ \t.!]*\Z")
#: a self-introduction opening a line: "Royce here - yes, like the car!", "LINCOLN HERE"
_HERE = regex.compile(rf"(?i)^[ \t]*({_ANY_WORD}(?:[ \t]+{_ANY_WORD})?)[ \t]+here\b",
                      regex.MULTILINE)


#: recognizers whose PERSON findings a cue made (this module's and processors/pii/cued_names.py's):
#: kept when the name is a vehicle word or written in lower case
CUE_RECOGNIZERS = frozenset({"CuedNameRecognizer", "CueWordNameRecognizer"})


def cued(r: RecognizerResult) -> bool:
    """Whether a cue recognizer made finding `r`."""
    return (r.recognition_metadata or {}).get(RecognizerResult.RECOGNIZER_NAME_KEY) in (
        CUE_RECOGNIZERS)


class CuedNameRecognizer(PersonRecognizer):
    """PERSON for names that a place in the message, not their case or spelling, marks as
    names: a name field of a form, a sign-off at the end, "<name> here" opening a line.
    These are found even when the name is a car name ("Lincoln here") or written in
    lower case; a word of the English stop list or a common word is never such a name."""

    NAME = "CuedNameRecognizer"
    SCORE = 0.9  # above the NER recognizers (<= 0.85): a duplicate keeps the cue

    def analyze(self, text: str, entities: list[str],
                nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        out = []
        for pattern in (_FIELD, SIGN_OFF, _HERE):
            for m in pattern.finditer(text):
                words = m.group(1).split()
                if pattern is not _FIELD and any(is_common(w.rstrip("."), RARE_ZIPF)
                                                 for w in words if len(w.rstrip(".")) > 1):
                    continue
                if all(w.casefold() in STOP_WORDS for w in words):
                    continue
                if len(words) > 1 and (dealership_shaped(words) or all(
                        VEHICLE_ONLY.fullmatch(w) for w in words)):
                    continue  # a dealership signs off ("Best regards, Crown Honda")
                if pattern is _FIELD and NOT_A_NAME_FIELD.search(text, 0, m.start(1)):
                    continue
                out.append(RecognizerResult(
                    "PERSON", m.start(1), m.end(1), self.SCORE,
                    analysis_explanation=AnalysisExplanation(self.NAME, self.SCORE),
                    recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.NAME}))
        return out
