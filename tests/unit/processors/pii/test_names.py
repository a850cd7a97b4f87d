"""Names regardless of case and position; a conversation remembers its names."""

import pytest

from processors.pii.engine import PiiAnalyzer
from processors.pii.names import truecase
from processors.pii.pseudonyms import PseudonymBook
from processors.pii.redaction import redact_messages


def person_words(analyzer: PiiAnalyzer, text: str) -> list[str]:
    return [text[f.start:f.end] for f in analyzer.analyze_one(text) if f.entity_type == "PERSON"]


def test_truecase_keeps_length_and_capitalises_rare_words() -> None:
    text = "follow up with patricia desrosiers in a couple of months"
    got = truecase(text)
    assert got is not None and len(got) == len(text)
    assert "Desrosiers" in got and "follow up with" in got
    assert truecase("Mixed Case line with no capitals words") is None


@pytest.mark.parametrize(("text", "name"), [
    ("follow up with patricia desrosiers in a couple of months", "desrosiers"),
    ("TOMOMI NISHIYAMA LIVES AT 12 OAK ST", "NISHIYAMA"),
    ("Tomomi Nishiyama lives at 12 Oak St", "Tomomi"),
    ("remove my kid Lukas from the will", "Lukas"),
    ("hi this is marco, my 2019 civic needs an oil change", "marco"),
    ("Follow up with Sigrid Nyström in a couple of months.", "Sigrid"),
    ("My name is Ludmiła and I want the CR-V", "Ludmiła"),
    ("Pls have Wei call Mr. Trần back about the Model Y", "Trần"),
])
def test_names_in_any_case_and_position(pii_analyzer: PiiAnalyzer, text: str,
                                        name: str) -> None:
    assert any(name in p for p in person_words(pii_analyzer, text)), person_words(
        pii_analyzer, text)


def test_honorific_is_not_part_of_the_name(pii_analyzer: PiiAnalyzer) -> None:
    assert "Mr. Trần" not in person_words(pii_analyzer, "Please call Mr. Trần back today")


def test_makes_and_models_are_not_names(pii_analyzer: PiiAnalyzer) -> None:
    text = "Your 2021 Toyota RAV4 XLE is ready at the Ford service desk"
    assert person_words(pii_analyzer, text) == []


def test_a_conversation_remembers_a_name_ner_misses_later(pii_analyzer: PiiAnalyzer) -> None:
    texts = ["Hi, this is Dana Scully about my Outback", "ok dana, see you at 9"]
    books: dict[str, PseudonymBook] = {}
    first, second = redact_messages(texts, ["c1", "c1"], books, b"k", 1000,
                                    analyzer=pii_analyzer)
    assert "Dana" not in first.text  # type: ignore[union-attr]
    assert "dana" not in second.text, second  # type: ignore[union-attr]
    assert "<PERSON_1>" in second.text  # type: ignore[union-attr]
    other: dict[str, PseudonymBook] = {}
    (alone,) = redact_messages(["ok dana, see you at 9"], ["c2"], other, b"k", 1000,
                               analyzer=pii_analyzer)
    assert alone.text.startswith("ok ")  # type: ignore[union-attr]


def test_remembered_name_found_through_a_disguise(pii_analyzer: PiiAnalyzer) -> None:
    books: dict[str, PseudonymBook] = {}
    texts = ["Hi, this is Dana Scully about my Outback", "ok da\u00adna, see you at 9"]
    _, second = redact_messages(texts, ["c1", "c1"], books, b"k", 1000, analyzer=pii_analyzer)
    assert "da\u00adna" not in second.text, second  # type: ignore[union-attr]


def test_a_title_case_subject_line_does_not_become_one_name(pii_analyzer: PiiAnalyzer) -> None:
    text = "Re: Dana Scully Appointment Reminder Tuesday Brakes Inspection"
    assert not any("Inspection" in p or "Tuesday" in p for p in person_words(pii_analyzer, text))


@pytest.mark.parametrize(("text", "name"), [
    # an initial between two halves of a name, with or without a full stop
    ("Customer Hollis S Brandt paying balance on RO-8497 today", "Hollis S Brandt"),
    ("Roadside call: Tomasz E Wójcik broke down in the 2014 Escape.", "Tomasz E Wójcik"),
    # spaCy stops inside a hyphenated name; the span grows to the whole word
    ("hey Dung its Ha-eun again lol. need timing belt", "Ha-eun"),
    # a name whose first word is a car name keeps it
    ("Call notes: spoke w/ Sierra Whitfield re 2017 Jeep Grand Cherokee", "Sierra Whitfield"),
])
def test_whole_names(pii_analyzer: PiiAnalyzer, text: str, name: str) -> None:
    assert name in person_words(pii_analyzer, text)


def test_possessive_and_french_elision_stay_outside_the_name(pii_analyzer: PiiAnalyzer) -> None:
    text = "Parts will chase the PN 68457323AC for Joaquín's Ford Escape"
    assert "Joaquín" in person_words(pii_analyzer, text)
    assert not any("'s" in p for p in person_words(pii_analyzer, text))
    assert not any(p.startswith("m'") for p in person_words(
        pii_analyzer, "Bonjour, je m'appelle Ananya Patel."))


def organisations(analyzer: PiiAnalyzer, text: str) -> list[str]:
    return [text[f.start:f.end] for f in analyzer.analyze_one(text)
            if f.entity_type == "ORGANIZATION"]


def test_an_employer_is_redacted_a_dealership_or_acronym_is_not(pii_analyzer: PiiAnalyzer
                                                                ) -> None:
    assert organisations(pii_analyzer, "I work for Brightwater Analytics Inc in sales") == [
        "Brightwater Analytics Inc"]
    kept = ("Reply STOP to opt out. -Michael, Crown Kia",
            "the $41,995 OTD quoted?? F&I said it was final",
            "Mazda3 owner here, the Schedule says Tuesday")
    for text in kept:
        assert organisations(pii_analyzer, text) == [], text


@pytest.mark.parametrize(("text", "name"), [
    ("new internet lead\nname: will j hart\nemail: wjh@example.com", "will j hart"),
    ("LEAD SOURCE: Autotrader | First: Minh | Last: Trương | Phone: 555-0100", "Trương"),
    ("please put the brake job on my card ending 4421 - Imogen", "Imogen"),
    ("new cell 555-0188 pls update my file thx Tadeusz", "Tadeusz"),
    ("Lincoln here - yes, like the car! Looking at a Navigator.", "Lincoln"),
])
def test_names_a_place_in_the_message_marks(pii_analyzer: PiiAnalyzer, text: str,
                                            name: str) -> None:
    assert name in person_words(pii_analyzer, text), person_words(pii_analyzer, text)


def test_a_sign_off_is_not_an_ordinary_word(pii_analyzer: PiiAnalyzer) -> None:
    for text in ("Your car is ready - thanks!", "call me at 5pm - ok",
                 "We are here to help - Service Team"):
        assert person_words(pii_analyzer, text) == [], text


def test_a_name_word_is_not_propagated_into_a_car(pii_analyzer: PiiAnalyzer) -> None:
    text = "Spoke to Dakota Reyes; doesn't want another Dodge Dakota, leaning to a Ram."
    last = text.rindex("Dakota")
    spans = [(f.start, f.end) for f in pii_analyzer.analyze_one(text)]
    assert not any(s <= last < e for s, e in spans), spans
    assert any(text[s:e].startswith("Dakota") for s, e in spans)


@pytest.mark.parametrize("text", [
    "Model name: Camry\nTrim: XLE",
    "Thanks for coming in.\nBest regards, Crown Honda",
    "Crown Kia here, your Telluride is ready for pickup",
    "Tell Jake price is $450 for the brakes",
])
def test_cues_do_not_make_cars_dealerships_or_words_people(pii_analyzer: PiiAnalyzer,
                                                           text: str) -> None:
    found = person_words(pii_analyzer, text)
    assert not any(w in p for p in found for w in ("Camry", "Crown", "Honda", "Kia", "price")), (
        found)


def test_a_name_that_is_a_make_is_still_a_name(pii_analyzer: PiiAnalyzer) -> None:
    assert "Morgan Freeman" in person_words(pii_analyzer, "Spoke with Morgan Freeman today")


@pytest.mark.parametrize(("text", "dealership", "person"), [
    ("Your Santa Fe is ready. Reply STOP to opt out. -Michael, Crown Kia", "Crown Kia",
     "Michael"),
    ("Total $70.97. Reply STOP to opt out. -Dong-hyun, Gateway Lincoln", "Gateway Lincoln",
     "Dong-hyun"),
])
def test_a_dealership_signature_is_not_a_person(pii_analyzer: PiiAnalyzer, text: str,
                                                dealership: str, person: str) -> None:
    found = person_words(pii_analyzer, text)
    assert not any(dealership in p or p in dealership for p in found), found
    assert any(person in p for p in found), found


@pytest.mark.parametrize(("text", "name"), [
    ("Shawn Ford dropped off his F-150 for brakes.", "Shawn Ford"),
    ("Please call Oluwaseun Ford about the brakes.", "Oluwaseun Ford"),
    ("Customer Ravi Ford called about the recall.", "Ravi Ford"),
    ("Please call Raj Dodge back about his Accord.", "Raj Dodge"),
])
def test_a_person_whose_surname_is_a_make_is_a_person(pii_analyzer: PiiAnalyzer, text: str,
                                                      name: str) -> None:
    assert name in person_words(pii_analyzer, text)


@pytest.mark.parametrize("text", [
    "HI CIARÁN, YOUR 2018 NISSAN ALTIMA SR IS READY FOR PICKUP.",
    "VEHICLE: WRANGLER RUBICON (STK U21944)",
    "loaner maverick xlt hybrid, 31,382 miles out.",
])
def test_trims_are_not_names(pii_analyzer: PiiAnalyzer, text: str) -> None:
    found = person_words(pii_analyzer, text)
    assert not any(t in p.upper() for p in found for t in ("ALTIMA", "RUBICON", "XLT")), found


@pytest.mark.parametrize(("text", "name"), [
    # an honorific's full stop does not start a sentence
    ("Mrs. Porsche asked if we can match $321/mo on the Porsche Macan.", "Porsche"),
    # a make that is a first name, then surnames: spaCy calls it a company
    ("Recall letter returned undeliverable: Mercedes Díaz Ibáñez, 228 N 5th Ct, Auburn",
     "Mercedes Díaz Ibáñez"),
    ("Roadside call: Kia Turner broke down in the '11 Model Y.", "Kia Turner"),
    # a hyphenated given name and a make for a surname, introducing themselves
    ("Soo-ah Lincoln here (no relation to the car company, lol). My Lincoln Corsair needs",
     "Soo-ah Lincoln"),
])
def test_names_made_of_car_words(pii_analyzer: PiiAnalyzer, text: str, name: str) -> None:
    assert name in person_words(pii_analyzer, text)


def test_a_make_and_a_vehicle_word_stay_a_vehicle(pii_analyzer: PiiAnalyzer) -> None:
    assert person_words(pii_analyzer, "We love the Mercedes Benz and the Lincoln Navigator.") == []


def test_a_trim_that_is_a_place_stays_a_place(pii_analyzer: PiiAnalyzer) -> None:
    text = "Customer lives in Laramie and wants a trade-in quote."
    assert [text[f.start:f.end] for f in pii_analyzer.analyze_one(text)] == ["Laramie"]
