"""Dealership recognizers, alone and inside the configured analyzer (context enhancement)."""

from collections.abc import Iterator

import pytest

from processors.pii.engine import ENTITY_TYPES, PiiAnalyzer
from processors.pii.recognizers import dealership_recognizers


def spans(text: str, entity_type: str) -> list[str]:
    out = []
    for rec in dealership_recognizers():
        if entity_type in rec.supported_entities:
            for r in rec.analyze(text, [entity_type]):
                if r.score >= 0.4:
                    out.append(text[r.start : r.end])
    return out


@pytest.fixture(scope="module")
def analyzer() -> Iterator[PiiAnalyzer]:
    yield PiiAnalyzer()


def found(analyzer: PiiAnalyzer, text: str) -> set[tuple[str, str]]:
    return {(f.entity_type, text[f.start : f.end]) for f in analyzer.analyze_one(text)}


def test_vin_needs_a_valid_check_digit() -> None:
    assert spans("VIN 1HGCM82633A004352 please", "VIN") == ["1HGCM82633A004352"]
    assert spans("VIN 1HGCM82643A004352 please", "VIN") == []
    assert spans("order 12345678901234567", "VIN") == []  # digits only


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I live at 1234 Oak Ridge Dr, Austin", "1234 Oak Ridge Dr"),
        ("send it to 55 W. Main Street Apt 4B today", "55 W. Main Street Apt 4B"),
        ("our office, 800 N Lamar Blvd Suite 200, is open", "800 N Lamar Blvd Suite 200"),
        ("ship to 9 Elm Ct #7 please", "9 Elm Ct #7"),
    ],
)
def test_street_addresses(text: str, expected: str) -> None:
    assert spans(text, "STREET_ADDRESS") == [expected]


def test_street_address_no_false_positives_on_vehicle_text() -> None:
    for text in [
        "My 2019 Toyota Camry has 45,000 miles",
        "I have 2 more drive shafts to order",
        "the F-150 needs 4 new tires and a tire rotation",
    ]:
        assert spans(text, "STREET_ADDRESS") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zip is TX 78701 I think", "TX 78701"),
        ("Austin, TX 78701-1234", "Austin, TX 78701-1234"),
        ("Portland, Oregon 97201", "Portland, Oregon 97201"),
    ],
)
def test_state_zip(text: str, expected: str) -> None:
    assert expected in spans(text, "STATE_ZIP")


def test_state_zip_needs_a_state() -> None:
    assert spans("it has 78701 miles", "STATE_ZIP") == []
    assert spans("in 2019 we sold 14000 cars", "STATE_ZIP") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my driver's license D1234567 is attached", "D1234567"),
        ("DL# 12345678", "12345678"),
        ("Driver license number: 123456789", "123456789"),
        ("lic no. W123-456-78-901-0", "W123-456-78-901-0"),
        # WA's WDL format, NY and MI in space-separated groups
        ("driver's license WDLCMEPZS65Y, state WA", "WDLCMEPZS65Y"),
        ("driver's license 589 047 592, state ny", "589 047 592"),
        ("driver's license d 563 429 760 606, state mi", "d 563 429 760 606"),
    ],
)
def test_driver_license_with_cue(text: str, expected: str) -> None:
    assert spans(text, "US_DRIVER_LICENSE") == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DOB: 03/14/1985", "03/14/1985"),
        ("date of birth is March 14, 1985.", "March 14, 1985"),
        ("I was born on 1985-03-14", "1985-03-14"),
        ("birthday 3/14/85, thanks", "3/14/85"),
        # day first, European style
        ("Date of birth: 21.07.1942\nSSN: 186 94 6388", "21.07.1942"),
        ("cust ramón dob 22.06.1963 came in", "22.06.1963"),
    ],
)
def test_date_of_birth_with_cue(text: str, expected: str) -> None:
    assert spans(text, "DATE_OF_BIRTH") == [expected]


def test_plain_dates_are_not_pii(analyzer: PiiAnalyzer) -> None:
    text = "Your appointment is on 04/02/2025 at 3pm, or March 14, 2025 if that works."
    assert not [f for f in analyzer.analyze_one(text) if f.entity_type == "DATE_OF_BIRTH"]


def test_context_enhancement_works_without_the_rule_lemmatizer(analyzer: PiiAnalyzer) -> None:
    # weak patterns (score < threshold) only report when a context word precedes them
    with_context = "Here is my license, it's D12345678 I think"
    without = "Here is my order, it's D12345678 I think"
    assert ("US_DRIVER_LICENSE", "D12345678") in found(analyzer, with_context)
    assert ("US_DRIVER_LICENSE", "D12345678") not in found(analyzer, without)
    dob = "my dob, if you need it, 3/14/1985"
    assert ("DATE_OF_BIRTH", "3/14/1985") in found(analyzer, dob)


def test_analyzer_end_to_end(analyzer: PiiAnalyzer) -> None:
    text = (
        "Hi, this is John Smith, call me at (512) 555-0143 or john.smith@gmail.com. "
        "My 2019 Toyota Camry VIN 1HGCM82633A004352 needs an oil change Tuesday at 3pm. "
        "I live at 1234 Oak Ridge Dr, Austin, TX 78701. SSN 219-09-9999? no: 536-22-1234."
    )
    got = found(analyzer, text)
    for item in [
        ("PERSON", "John Smith"),
        ("PHONE_NUMBER", "(512) 555-0143"),
        ("EMAIL_ADDRESS", "john.smith@gmail.com"),
        ("VIN", "1HGCM82633A004352"),
        ("STREET_ADDRESS", "1234 Oak Ridge Dr, Austin, TX 78701"),
        ("US_SSN", "536-22-1234"),
    ]:
        assert item in got
    assert any(t == "STATE_ZIP" and "TX 78701" in v for t, v in got)
    assert {t for t, _ in got} <= set(ENTITY_TYPES)
    for word in ["Toyota", "Camry", "oil change", "Tuesday"]:
        assert not any(word in v for _, v in got)


def test_vehicle_words_are_not_people(analyzer: PiiAnalyzer) -> None:
    texts = [
        "Is the Ford Explorer still on the lot?",
        "Thanks! Tesla Model 3 or Nissan Altima, whichever is cheaper.",
        "Hi, my Jeep Grand Cherokee VIN is on the paperwork.",
    ]
    for text, findings in zip(texts, analyzer.analyze(texts), strict=True):
        assert not [f for f in findings if f.entity_type == "PERSON"], text


def test_batch_matches_single(analyzer: PiiAnalyzer) -> None:
    texts = ["Call Maria Lopez at 214-555-0188.", "", "DOB 1/2/1990, DL# 12345678"]
    assert analyzer.analyze(texts) == [analyzer.analyze_one(t) for t in texts]
    assert analyzer.analyze([]) == []
