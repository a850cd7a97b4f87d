"""PII by shape: unassigned phone numbers, bad VIN check digits, mistyped cards; and the
dealership words that must survive next to them."""

import pytest

from processors.pii.engine import PiiAnalyzer
from processors.pii.pseudonyms import PseudonymBook
from processors.pii.redact import redact


def found(analyzer: PiiAnalyzer, text: str) -> set[tuple[str, str]]:
    return {(f.entity_type, text[f.start:f.end]) for f in analyzer.analyze_one(text)}


@pytest.mark.parametrize("phone", [
    "+1 537 219 8842", "283.114.6620", "(999) 555-0143", "555-867-5309 x204",
    "+44 20 7946 0958", "+49 30 1234567", "+52 55 1234 5678", "+91 98765 43210",
    "06 12 34 56 78", "5372198842",
])
def test_phone_shapes_are_redacted_assigned_or_not(pii_analyzer: PiiAnalyzer,
                                                   phone: str) -> None:
    text = f"Phone: {phone} - call me about the trade-in"
    out = redact(text, pii_analyzer.analyze_one(text), PseudonymBook(b"k"))
    assert phone not in out, out
    assert "trade-in" in out


def test_extension_is_part_of_the_number(pii_analyzer: PiiAnalyzer) -> None:
    text = "desk 512-555-0143 ext. 12 for parts"
    assert ("PHONE_NUMBER", "512-555-0143 ext. 12") in found(pii_analyzer, text)


def test_vin_with_a_wrong_check_digit_is_flagged_and_redacted(pii_analyzer: PiiAnalyzer) -> None:
    assert ("VIN", "1HGCM82633A004352") in found(pii_analyzer, "VIN 1HGCM82633A004352 ok")
    got = found(pii_analyzer, "VIN 1HGCM82633A004353 is on the title")
    assert ("VIN_INVALID", "1HGCM82633A004353") in got


def test_card_number_failing_luhn_after_a_card_cue(pii_analyzer: PiiAnalyzer) -> None:
    assert ("CREDIT_CARD", "4111 1111 1111 1112") in found(
        pii_analyzer, "charge my visa card 4111 1111 1111 1112 please")


def test_ssn_shape_is_an_ssn_not_a_phone(pii_analyzer: PiiAnalyzer) -> None:
    labels = {t for t, v in found(pii_analyzer, "my ssn is 536-22-1234") if v == "536-22-1234"}
    assert "US_SSN" in labels and "PHONE_NUMBER" not in labels


@pytest.mark.parametrize("text", [
    "Your 2021 Toyota RAV4 XLE is due for an oil change and tire rotation on Tuesday 3/14 at "
    "9:30am, $89.95. RO-48213, 45,210 miles.",
    "Quote Q-5521: brake pads and rotors $489.95, stock #P2291, part 90915-YZZD1.",
    "The 2013 Lexus RX 350 F Sport and the 2008 Hyundai Ioniq 5 SE are on the lot for $32,500.",
    "Appointment 2025-03-14 10:30 confirmed, next service at 50,000 miles or 14.03.2026.",
    "Backordered P/N 5Q0-351-581 for the 330i, ETA Friday.",
    "Order total 31604.27, deposit $2500000.00 received.",
])
def test_dealership_words_survive(pii_analyzer: PiiAnalyzer, text: str) -> None:
    assert pii_analyzer.analyze_one(text) == []


def test_model_year_lists_are_not_id_numbers(pii_analyzer: PiiAnalyzer) -> None:
    assert pii_analyzer.analyze_one("We have the 2018 2019 2020 Tacoma in stock") == []
