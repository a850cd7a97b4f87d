"""Names that a place in a message marks as names, in any case, even when they are words.

`CuedNameRecognizer` (processors/pii/names.py) takes only rare words after its cues; the cues
here are strong enough to take a word that is an English word too, if the US Census lists
it as a name ("thx Hope", "Will, your lease ...", "i am chase cash"):

- a vocative opening a message or line, after an optional sender ("Pinnacle Nissan: María,
  your appt ...", "ROYCE, YOUR LEASE ...");
- a self-introduction in English, Spanish, French, German, Italian or Portuguese ("i am chase
  cash", "soy Phạm Hữu Long", "je m'appelle dakota moore", "its mark again");
- a speaker label after a role or a notes heading ("Agent Long:", "Call notes - Hope:");
- a word after an honorific ("Mx. Chrysler asked", "mr. chase");
- a name with a middle initial ("Sky D. Dodge", "bill p. hunter", "Royce T Ford");
- a sign-off ending the message ("- Sky", "thx hope", "-ROBERT").

Invariant (`cue_word`): a word taken is never a field label or chat shorthand, nor a stop word
unless a capitalised Census first name of 3+ letters opens the name ("Will", "MAY"); it is a
Census first name (first word; `gazetteer.is_well_known_first_name` if it is a common word:
not "Ok") or Census name (later words), or a word rarer than `names.RARE_ZIPF`, below
`person_spans.CASELESS_FOREIGN_ZIPF` in the foreign languages ("Hola"), that is no vehicle
word. In a line with both cases the name's first word has a capital. A span that is a
dealership ("Crown Kia") is not taken.
"""

from __future__ import annotations

import regex
from presidio_analyzer import AnalysisExplanation, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from spacy.lang.en.stop_words import STOP_WORDS
from wordfreq import zipf_frequency

from processors.pii.gazetteer import is_any_name, is_first_name, is_well_known_first_name
from processors.pii.names import (
    COMMON_ZIPF,
    SIGN_OFF,
    PersonRecognizer,
    dealership_shaped,
    is_common,
    line_case,
)
from processors.pii.person_spans import CASELESS_FOREIGN_ZIPF, FOREIGN_LANGUAGES, is_label
from processors.pii.recognizers import MAKE_WORD, US_STATES, vehicle_allow_list

_VEHICLE = regex.compile(vehicle_allow_list()[0], regex.IGNORECASE)
_W = r"\p{L}[\p{L}'’-]*"
_WORDS = rf"{_W}(?:[ \t]+{_W}){{0,3}}"

_VOCATIVE = regex.compile(
    rf"(?m)^[ \t>]*(?:[^\n:]{{1,40}}:[ \t]+)?({_W}),[ \t]+"
    rf"(?!(?-i:{'|'.join(US_STATES)})\b)(?=\p{{L}})")
_INTRO = regex.compile(
    r"(?i)(?<![\w'])(?:i[ \t]+am|i['’]?m|my[ \t]+name[ \t]+is|this[ \t]+is|me[ \t]+llamo|"
    r"soy|mi[ \t]+nombre[ \t]+es|je[ \t]+m['’]?appelle|ich[ \t]+bin|ich[ \t]+hei(?:ß|ss)e|"
    rf"mi[ \t]+chiamo|meu[ \t]+nome[ \t]+é|eu[ \t]+sou)[ \t]+({_WORDS})")
_AGAIN = regex.compile(rf"(?i)\bit['’]?s[ \t]+({_W})[ \t]+(?:again|here)\b")
_ROLE_SPEAKER = regex.compile(
    r"(?im)^[ \t>]*(?:(?:\p{L}+[ \t]+)?notes?[ \t]*[-–—][ \t]*|(?:agent|rep|advisor|"
    rf"tech|salesperson)[ \t]+)({_W}):")
_HONORIFIC = regex.compile(rf"(?i)\b(?:mr|mrs|ms|mx|miss|prof|dr(?=\.))\.?[ \t]+({_W})")
_MIDDLE_INITIAL = regex.compile(rf"(?<![\w'’-])({_W})[ \t]+(\p{{L}})(\.?)[ \t]+({_W})(?![\w-])")


def cue_word(word: str, first: bool) -> bool:
    """May `word` be part of a cued name (module invariant); `first`: the name's first word."""
    core = word.strip("'’-")
    low = core.casefold()
    if len(core) < 2 or is_label(core) or low in STOP_WORDS and not (
            first and len(core) >= 3 and core[0].isupper() and is_first_name(core)):
        return False
    common = is_common(core)
    if first and (is_well_known_first_name(core) if common else is_first_name(core)):
        return True
    if not first and (is_any_name(core) or MAKE_WORD.fullmatch(core)):
        return True
    return not common and not _VEHICLE.fullmatch(core) and not any(
        zipf_frequency(low, lang) >= CASELESS_FOREIGN_ZIPF for lang in FOREIGN_LANGUAGES)


def _leading_names(words: list[regex.Match[str]]) -> list[regex.Match[str]]:
    """The words up to the first that cannot be part of a cued name."""
    taken: list[regex.Match[str]] = []
    for w in words:
        if not cue_word(w.group(), not taken):
            break
        taken.append(w)
    return taken


_WORD = regex.compile(_W)


def _caseless(text: str, at: int) -> bool:
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    return line_case(text[start:end if end >= 0 else len(text)]) is not None


class CueWordNameRecognizer(PersonRecognizer):
    """PERSON for names the cues of the module doc mark, in any case."""

    NAME = "CueWordNameRecognizer"
    SCORE = 0.9

    def analyze(self, text: str, entities: list[str],
                nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        spans: list[tuple[int, int]] = []
        for pattern in (_VOCATIVE, _INTRO, _AGAIN, _ROLE_SPEAKER, SIGN_OFF):
            for m in pattern.finditer(text):
                words = list(_WORD.finditer(text, m.start(1), m.end(1)))
                if words and not (words[0].group()[0].isupper() or _caseless(text, m.start(1))):
                    continue  # where case says something, a name has a capital
                taken = _leading_names(words)
                if pattern is SIGN_OFF and len(taken) < len(words):
                    continue  # a sign-off is a name as a whole ("- will do" is not)
                if taken:
                    spans.append((taken[0].start(), taken[-1].end()))
        for m in _HONORIFIC.finditer(text):
            w = m.group(1)
            if w.casefold() not in STOP_WORDS and not is_label(w):
                spans.append((m.start(1), m.end(1)))
        spans += self._middle_initials(text)
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
    def _middle_initials(text: str) -> list[tuple[int, int]]:
        """"Sky D. Dodge", "bill p. hunter": a first name, an initial, a surname. In a line
        with both cases the three are capitalised and the first word is no very common word
        (`names.COMMON_ZIPF`) or vehicle word unless a well-known first name; in one case
        the first word is a `cue_word` and "a" and "i" are no initials ("mark a ford")."""
        out = []
        for m in _MIDDLE_INITIAL.finditer(text, overlapped=True):
            first, initial, last = m.group(1), m.group(2), m.group(4)
            if _caseless(text, m.start()):
                if initial.lower() in "ai" or not cue_word(first, True):
                    continue
            elif not (first[0].isupper() and initial.isupper() and last[0].isupper()) or (
                    first.casefold() in STOP_WORDS or is_label(first) or (
                        is_common(first, COMMON_ZIPF) or _VEHICLE.fullmatch(first))
                    and not is_well_known_first_name(first)):
                continue
            if cue_word(last, False):
                out.append((m.start(1), m.end(4)))
        return out
