"""LOCATION spans that are no place (processors/pii/place_spans.py): pure logic, no model."""

import pytest
from presidio_analyzer import RecognizerResult

from processors.pii.place_spans import clean_places


def cleaned(text: str, span: str, entity_type: str = "LOCATION") -> list[str]:
    start = text.index(span)
    out = clean_places(text, [RecognizerResult(entity_type, start, start + len(span), 0.85)])
    return [text[r.start:r.end] for r in out]


@pytest.mark.parametrize(("text", "span"), [
    ("Please refund the overpayment on RO64600 to my account", "RO64600"),
    ("calling about my Aviator, R.O. 22970. Please call", "R.O."),
    ("credit app: ssn 602 93 5557", "ssn"),
    ("LOOKING FOR A PILOT UNDER $9,000 DOWN.", "DOWN"),
    ("HALLO, I AM HA-EUN PARK, VISITING FROM GERMANY.", "VISITING"),
])
def test_non_places_are_dropped(text: str, span: str) -> None:
    assert cleaned(text, span) == []


@pytest.mark.parametrize(("text", "span"), [
    ("HALLO, I AM HA-EUN PARK, VISITING FROM GERMANY.", "GERMANY"),
    ("shipping to flat 6, 151 baker lane, cardiff m2 9qq.", "cardiff m2"),
    ("Hallo I am Latoya Johnson visiting from Germany", "Germany"),
    ("we ship to new york next week", "new york"),
    # a label that is also a city; two-word towns of ordinary words on caseless lines
    ("We live in Mobile now", "Mobile"),
    ("CUST MOVED TO MILL VALLEY", "MILL VALLEY"),
])
def test_places_stay(text: str, span: str) -> None:
    assert cleaned(text, span) == [span]


def test_a_leading_the_is_trimmed() -> None:
    assert cleaned("DID U GET MY PICS OF THE DENT ON THE SANTA FE?", "THE SANTA FE") == [
        "SANTA FE"]


def test_other_types_pass_unchanged() -> None:
    assert cleaned("call RO64600 now", "RO64600", "ID_NUMBER") == ["RO64600"]
