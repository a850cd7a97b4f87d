"""Recognizers for PII by its shape, whether or not the value is valid or assigned.

A firewall must not let a value through because it fails a validity check: a phone number
with an unassigned or fictional area code ("+1 537 219 8842") still reaches a person, a VIN
with a wrong check digit is still a vehicle's (or a typo of one), a card number that fails
Luhn is still a card number typed with one wrong digit. So:
- `PhoneShapeRecognizer`: google's libphonenumber (`phonenumbers`) at leniency POSSIBLE
  (length only) over North American and international regions, extensions included;
  matches with fewer than 7 digits and date-shaped ones ("14.03.2025") are not phones;
- `InvalidVinRecognizer`: 17-character VIN shapes whose check digit is wrong, reported as
  `VIN_INVALID` (flagged as such; `VinRecognizer` keeps valid ones as `VIN`);
- `CardShapeRecognizer`: 12-19 digit runs next to a card cue ("card", "cc", "visa") that
  fail Luhn (Luhn-valid ones are presidio's `CREDIT_CARD` already);
- `LongNumberRecognizer`: any other run of 9+ digits (account, policy, member numbers).
"""

from __future__ import annotations

import re

import phonenumbers
from presidio_analyzer import AnalysisExplanation, LocalRecognizer, Pattern, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts

from processors.pii.recognizers import ClassPatterns, VinRecognizer
from schemas.vin import vin_check_digit_ok

#: Regions whose national formats are matched. "US" covers all of NANP (+1); numbers written
#: with a country code ("+44 ...", "0049 ...") match in any region.
PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN", "AU", "BR", "MX", "IT", "ES")
MIN_PHONE_DIGITS = 7
_DIGIT_RUN = re.compile(r"[0-9][0-9 ().+\-\u2010-\u2015]{5,}[0-9]")
_DATE_SHAPE = re.compile(
    r"^(?:[0-3]?[0-9][./-][01]?[0-9][./-](?:19|20)?[0-9]{2}"
    r"|(?:19|20)[0-9]{2}[./-][01]?[0-9][./-][0-3]?[0-9])$")
_NOT_DIGIT = re.compile(r"\D")
#: an amount ("31,604.27", "704.43"), not a phone number
_MONEY = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})*\.[0-9]{2}|[0-9]+\.[0-9]{2}")
#: 123-45-6789 is a social security number (presidio's UsSsnRecognizer), not a phone
_SSN_SHAPE = re.compile(r"^[0-9]{3}-[0-9]{2}-[0-9]{4}$")
#: "2003-08-28 12": a date with the hour after it is a timestamp, not an account number
_YEARS = re.compile(r"(?:(?:19|20)[0-9]{2}[ -]?)+")
_DATE_START = re.compile(
    r"(?:19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]|[0-3][0-9]-[01][0-9]-(?:19|20)[0-9]{2}")
#: A number written with a separator, parentheses or a country code looks like a phone on
#: its own; a bare digit run needs a context word ("call", "cell", "fax") nearby.
_GROUPED = re.compile(r"[ ().\-+]")


class PhoneShapeRecognizer(LocalRecognizer):
    """Phone-number shapes (see the module docstring); entity PHONE_NUMBER."""

    NAME = "PhoneShapeRecognizer"
    GROUPED_SCORE = 0.5
    BARE_SCORE = 0.3
    CONTEXT = ["phone", "telephone", "cell", "cellphone", "mobile", "call", "text", "fax",
               "reach", "tel", "number", "contact", "desk", "whatsapp", "sms", "messages"]

    def __init__(self, supported_language: str = "en",
                 regions: tuple[str, ...] = PHONE_REGIONS) -> None:
        self.regions = regions
        super().__init__(supported_entities=["PHONE_NUMBER"], supported_language=supported_language,
                         context=self.CONTEXT, name=self.NAME)

    def load(self) -> None:
        return None

    def analyze(self, text: str, entities: list[str],
                nlp_artifacts: NlpArtifacts | None = None) -> list[RecognizerResult]:
        if not _DIGIT_RUN.search(text):
            return []
        spans: dict[tuple[int, int], float] = {}
        for region in self.regions:
            matcher = phonenumbers.PhoneNumberMatcher(
                text, region, leniency=phonenumbers.Leniency.POSSIBLE)
            for m in matcher:
                raw = text[m.start:m.end]
                glued = (m.start > 0 and text[m.start - 1].isalnum()) or (
                    m.end < len(text) and text[m.end].isalnum())  # part numbers, "330i"
                money = _MONEY.fullmatch(raw) or (m.start > 0 and text[m.start - 1] in "$€£")
                if (len(_NOT_DIGIT.sub("", raw)) < MIN_PHONE_DIGITS or _DATE_SHAPE.match(raw)
                        or _SSN_SHAPE.match(raw) or glued or money):
                    continue
                score = self.GROUPED_SCORE if _GROUPED.search(raw) else self.BARE_SCORE
                spans[(m.start, m.end)] = max(score, spans.get((m.start, m.end), 0.0))
        return [RecognizerResult("PHONE_NUMBER", s, e, score, analysis_explanation=(
            AnalysisExplanation(self.NAME, score, textual_explanation="phone-number shape")),
            recognition_metadata={
            RecognizerResult.RECOGNIZER_NAME_KEY: self.NAME,
            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id})
            for (s, e), score in sorted(spans.items())]


class InvalidVinRecognizer(VinRecognizer):
    """VIN shapes with a wrong check digit, as `VIN_INVALID` (valid ones are `VIN`)."""

    ENTITY = "VIN_INVALID"
    NAME = "InvalidVinRecognizer"
    PATTERNS = [Pattern("VIN shape, check digit wrong", VinRecognizer.PATTERNS[0].regex, 0.5)]

    def validate_result(self, pattern_text: str) -> bool:
        return not vin_check_digit_ok(pattern_text)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


class CardShapeRecognizer(ClassPatterns):
    """12-19 digit card shapes after a card cue that fail Luhn (a mistyped card number)."""

    ENTITY = "CREDIT_CARD"
    NAME = "CardShapeRecognizer"
    PATTERNS = [Pattern("Card-shaped digits (needs context)",
                        r"\b[0-9]{4}(?:[ -]?[0-9]{2,6}){2,4}\b", 0.1)]
    CONTEXT = ["card", "cc", "credit", "debit", "visa", "mastercard", "amex", "discover",
               "maestro", "jcb", "diners"]

    def validate_result(self, pattern_text: str) -> bool | None:
        digits = _NOT_DIGIT.sub("", pattern_text)
        if not 12 <= len(digits) <= 19:
            return False
        if _luhn_ok(digits):
            return False  # a valid number: presidio's CreditCardRecognizer reports it
        return None  # keep the pattern's score (raised by a card cue nearby)


class LongNumberRecognizer(ClassPatterns):
    """Runs of 9 or more digits (optionally grouped) not claimed as anything more specific."""

    ENTITY = "ID_NUMBER"
    NAME = "LongNumberRecognizer"
    PATTERNS = [Pattern("9+ digits", r"\b[0-9](?:[ -]?[0-9]){8,}\b", 0.45)]
    CONTEXT = ["account", "member", "policy", "id", "number", "#"]

    def validate_result(self, pattern_text: str) -> bool | None:
        if _DATE_START.match(pattern_text) or _YEARS.fullmatch(pattern_text):
            return False  # a timestamp, or model years ("2018 2019 2020")
        return None

