"""Names that a place in a message marks as names, in any case, even when they are words.

`CuedNameRecognizer` (processors/pii/names.py) takes only rare words after its cues; the cues
here are strong enough to take a word that is an English word too, if the US Census lists
it as a name ("thx Hope", "Will, your lease ...", "i am chase cash"):

- a vocative opening a message or line, after an optional sender, when the message then
  addresses the person ("Pinnacle Nissan: María, your appt ...", "ROYCE, YOUR LEASE ...";
  not a list, "June, July and August");
- a self-introduction in English, Spanish, French, German, Italian or Portuguese ("i am chase
  cash", "soy Phạm Hữu Long", "je m'appelle dakota moore", "its mark again");
- a speaker label after a role or a notes heading ("Agent Long:", "Call notes - Hope:");
- a word after an honorific written as one ("Mx. Chrysler asked", "mr. chase" on a
  lower-case line; not "I miss having", "Industrial Dr. Service");
- a name with a middle initial ("Kevin G. Rivers", "bill p. hunter");
- a sign-off ending the message, made only of such words ("- Sky", "thx hope", "-ROBERT").

Invariant (`cue_word`): a word taken is never a field label, chat shorthand or a possessive,
nor a stop word unless a capitalised Census first name of 3+ letters opens the name ("Will",
"MAY"); it is a Census first name (first word; `gazetteer.is_well_known_first_name` if it is
a common word: not "Ok") or Census name or make (later words), or a word rarer than
CUE_RARE_ZIPF (STRICT_RARE_ZIPF for speaker labels and middle initials), below
`person_spans.CASELESS_FOREIGN_ZIPF` in the foreign languages ("Hola"), that is no vehicle
word. In a line with both cases the name's first word has a capital. A span that is a
dealership ("Crown Kia") is not taken. Each line's case is worked out once per text.
"""

from __future__ import annotations

import regex
from presidio_analyzer import AnalysisExplanation, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS
from wordfreq import zipf_frequency

from processors.pii.gazetteer import is_any_name, is_first_name, is_well_known_first_name
from processors.pii.names import (
    SIGN_OFF,
    PersonRecognizer,
    dealership_shaped,
    is_common,
)
from processors.pii.person_spans import (
    CASELESS_FOREIGN_ZIPF,
    FOREIGN_LANGUAGES,
    LineCases,
    is_label,
)
from processors.pii.recognizers import MAKE_WORD, US_STATES, VEHICLE_ONLY

_W = r"\p{L}[\p{L}'’-]*"
_WORDS = rf"{_W}(?:[ \t]+{_W}){{0,3}}"

#: a non-Census word of a cued name is rarer than this (Zipf): "Björn" 2.3, "Deepika" 2.5;
#: "Pricing" 4.0 and "Tires" 4.0 are no names
CUE_RARE_ZIPF = 4.0
#: ... and rarer still as a speaker label after a role or notes heading or with a middle
#: initial, where headings and plan names stand too ("Tech notes - Cooling:", "Option B
#: Pricing"): "Olumide", "Xiaoming" are names, "Exhaust" (3.8) and "Callback" (2.8) are not
STRICT_RARE_ZIPF = 2.5
#: what a vocative's comma is followed by: the message addresses the person
_ADDRESSED = ("your|you|you're|youre|we|we're|we've|thanks|thank|just|please|i|i'm|im|this|"
              "hope|sorry|here|can|could|would|welcome|quick|following|regarding")

_VOCATIVE = regex.compile(
    rf"(?m)^[ \t>]*(?:[^\n:]{{1,40}}:[ \t]+)?({_W}),[ \t]+"
    rf"(?!(?i:{'|'.join(US_STATES)})\b)(?=(?i:{_ADDRESSED})\b)")
_INTRO = regex.compile(
    r"(?i)(?<![\w'])(?:i[ \t]+am|i['’]?m|my[ \t]+name[ \t]+is|this[ \t]+is|me[ \t]+llamo|"
    r"soy|mi[ \t]+nombre[ \t]+es|je[ \t]+m['’]?appelle|ich[ \t]+bin|ich[ \t]+hei(?:ß|ss)e|"
    rf"mi[ \t]+chiamo|meu[ \t]+nome[ \t]+é|eu[ \t]+sou)[ \t]+({_WORDS})")
_AGAIN = regex.compile(rf"(?i)\bit['’]?s[ \t]+({_W})[ \t]+(?:again|here)\b")
_ROLE_SPEAKER = regex.compile(
    r"(?im)^[ \t>]*(?:(?:\p{L}+[ \t]+)?notes?[ \t]*[-–—][ \t]*|(?:agent|rep|advisor|"
    rf"tech|salesperson)[ \t]+)({_W}):")
#: honorifics as written: Title Case with or without a full stop ("Mr", "Dr."; "Dr" only with
#: one), or in one case on a line of that case ("MRS", "mx.")
_HONORIFIC = regex.compile(rf"(?i)\b(mr|mrs|ms|mx|miss|prof|dr(?=\.))\.?[ \t]+({_W})")
_TITLE_HONORIFICS = frozenset({"Mr", "Mrs", "Ms", "Mx", "Miss", "Prof", "Dr"})
_WORD_BEFORE = regex.compile(r"(\p{L}+)[ \t]+$")
_MIDDLE_INITIAL = regex.compile(rf"(?<![\w'’-])({_W})[ \t]+(\p{{L}})(\.?)[ \t]+({_W})(?![\w-])")
#: one-letter conjunctions of the foreign languages, never an initial in one case
_NOT_INITIALS = frozenset("aiyeou")
_POSSESSIVE = regex.compile(r"['’]s$", regex.IGNORECASE)


def cue_word(word: str, first: bool, rare_below: float = CUE_RARE_ZIPF) -> bool:
    """May `word` be part of a cued name (module invariant); `first`: the name's first word;
    a non-Census word must be rarer than `rare_below` (Zipf)."""
    core = word.strip("'’-")
    low = core.casefold()
    if len(core) < 2 or is_label(core) or _POSSESSIVE.search(core) or low in STOP_WORDS and not (
            first and len(core) >= 3 and core[0].isupper() and is_first_name(core)):
        return False
    common = is_common(core)
    if first and (is_well_known_first_name(core) if common else is_first_name(core)):
        return True
    if not first and (is_any_name(core) or MAKE_WORD.fullmatch(core)):
        return True
    return zipf_frequency(low, "en") < rare_below and not VEHICLE_ONLY.fullmatch(core) and not any(
        zipf_frequency(low, lang) >= CASELESS_FOREIGN_ZIPF for lang in FOREIGN_LANGUAGES)


def _leading_names(words: list[regex.Match[str]], rare_below: float
                   ) -> list[regex.Match[str]]:
    """The words up to the first that cannot be part of a cued name."""
    taken: list[regex.Match[str]] = []
    for w in words:
        if not cue_word(w.group(), not taken, rare_below):
            break
        taken.append(w)
    return taken


_WORD = regex.compile(_W)


class CueWordNameRecognizer(PersonRecognizer):
    """PERSON for names the cues of the module doc mark, in any case."""

    NAME = "CueWordNameRecognizer"
    SCORE = 0.9

    def analyze(self, text: str, entities: list[str],
                nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        cases = LineCases(text)
        spans: list[tuple[int, int]] = []
        for pattern in (_VOCATIVE, _INTRO, _AGAIN, _ROLE_SPEAKER, SIGN_OFF):
            rare_below = STRICT_RARE_ZIPF if pattern is _ROLE_SPEAKER else CUE_RARE_ZIPF
            for m in pattern.finditer(text):
                words = list(_WORD.finditer(text, m.start(1), m.end(1)))
                if words and not (words[0].group()[0].isupper() or cases.caseless(m.start(1))):
                    continue  # where case says something, a name has a capital
                taken = _leading_names(words, rare_below)
                if pattern is SIGN_OFF and len(taken) < len(words):
                    continue  # a sign-off is a name as a whole ("- will do" is not)
                if taken:
                    spans.append((taken[0].start(), taken[-1].end()))
        spans += self._after_honorifics(text, cases)
        spans += self._middle_initials(text, cases)
        out = []
        for start, end in spans:
            words = text[start:end].split()
            if len(words) > 1 and dealership_shaped(words):
                continue
            out.append(RecognizerResult(
                "PERSON", start, end, self.SCORE,
                analysis_explanation=AnalysisExplanation(self.NAME, self.SCORE),
                recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: self.NAME}))
        return out

    @staticmethod
    def _after_honorifics(text: str, cases: LineCases) -> list[tuple[int, int]]:
        """"Mx. Chrysler", "MRS. PORSCHE": a name (`cue_word`, or a make) after an honorific
        written as one (not "I miss having", "Tupelo MS dealership"); "Dr." after a
        capitalised word is a street's Drive ("Industrial Dr. Service")."""
        out = []
        for m in _HONORIFIC.finditer(text):
            title, word = m.group(1), m.group(2)
            caseless = cases.caseless(m.start())
            if not (title in _TITLE_HONORIFICS or caseless and (title.isupper() or (
                    title.islower() and title != "miss"))):
                continue
            if not caseless and not word[0].isupper():
                continue
            before = _WORD_BEFORE.search(text, max(0, m.start() - 40), m.start())
            if title.lower() == "dr" and before and before.group(1)[0].isupper():
                continue
            if cue_word(word, False) or MAKE_WORD.fullmatch(word):
                out.append((m.start(2), m.end(2)))
        return out

    @staticmethod
    def _middle_initials(text: str, cases: LineCases) -> list[tuple[int, int]]:
        """"Kevin G. Rivers", "bill p. hunter": a first name, an initial, a surname, each a
        Census name or rarer than STRICT_RARE_ZIPF ("Option B Pricing" is no one). In a line
        with both cases the three are capitalised; in one case the names are Census names
        and the initial no foreign conjunction ("llantas y frenos", "mark a ford")."""
        out = []
        for m in _MIDDLE_INITIAL.finditer(text, overlapped=True):
            first, initial, last = m.group(1), m.group(2), m.group(4)
            if cases.caseless(m.start()):
                if initial.lower() in _NOT_INITIALS or not (
                        is_first_name(first) and is_any_name(last)):
                    continue
            elif not (first[0].isupper() and initial.isupper() and last[0].isupper()):
                continue
            if cue_word(first, True, STRICT_RARE_ZIPF) and cue_word(
                    last, False, STRICT_RARE_ZIPF):
                out.append((m.start(1), m.end(4)))
        return out
