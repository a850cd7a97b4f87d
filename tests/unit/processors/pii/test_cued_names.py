"""Names a place in the message marks, in any case, even when they are ordinary words."""

import pytest

from processors.pii.cued_names import cue_word
from processors.pii.engine import PiiAnalyzer


def person_words(analyzer: PiiAnalyzer, text: str) -> list[str]:
    return [text[f.start:f.end] for f in analyzer.analyze_one(text) if f.entity_type == "PERSON"]


def test_a_cue_word_is_a_census_name_or_a_rare_word() -> None:
    assert cue_word("Hope", True) and cue_word("Grant", True) and cue_word("Oyelowo", True)
    assert cue_word("Cash", False) and cue_word("Dodge", False)  # surnames, a make
    # common words the Census lists for a handful of people, a foreign greeting, a label
    for word in ("ok", "So", "Soon", "Hola", "Bonjour", "VIN", "appt", "the"):
        assert not cue_word(word, True), word
    assert not cue_word("Tacoma", True)  # a vehicle word that is no name


@pytest.mark.parametrize(("text", "name"), [
    ("Crown Honda: Will, your brake job is done. Pick up after 4.", "Will"),
    ("RE: your quote\n\nHOPE, YOUR TRADE-IN OFFER IS READY", "HOPE"),
    ("Sunrise Kia: Raúl, your appt is confirmed for Friday", "Raúl"),
    ("good afternoon, i am grant hollis, in town from ohio", "grant hollis"),
    ("Buenas tardes, soy Ikenna Obiora y quiero una cita", "Ikenna Obiora"),
    ("yo its faith again, any news on the part?", "faith"),
    ("Chat log\nAgent Summer: How can I help?", "Summer"),
    ("Service notes - Grant: customer waited 2 hrs", "Grant"),
    ("Mx. Lincoln wants the loaner until Monday", "Lincoln"),
    ("MRS. PORSCHE CALLED ABOUT THE LEASE", "PORSCHE"),
    ("Thanks to Kevin R. Okafor for approving the work", "Kevin R. Okafor"),
    ("trade appraisal for chase m. banks, 2014 civic", "chase m. banks"),
    ("pls text me when its ready thx hope", "hope"),
])
def test_cued_names_are_found_even_when_they_are_words(pii_analyzer: PiiAnalyzer, text: str,
                                                       name: str) -> None:
    assert name in person_words(pii_analyzer, text), person_words(pii_analyzer, text)


@pytest.mark.parametrize(("text", "word"), [
    ("Hola, necesito una cita para el lunes", "Hola"),   # a greeting, not a vocative name
    ("So, your car is ready for pickup", "So"),          # "So": a Census first name of few
    ("Hi there, I'm relocating next month and need a truck", "relocating"),  # lower case
    ("CAN WE GRANT A GOODWILL DISCOUNT ON THE REPAIR?", "GRANT"),  # "A" is no initial
    ("please mark a ford as sold and call me", "mark"),  # lower-case "a" is no initial
    ("Ok, call me back - will do", "will"),              # a sign-off of ordinary words
    ("Lincoln, NE 68508 is the billing city", "Lincoln"),  # a city and a state
    ("Model S Plaid in stock, $79,990", "Model"),        # a model with a letter is no name
    # found by review: interjections, lists, headings, verbs and streets after "honorifics"
    ("Yep, I'll bring it Monday", "Yep"),
    ("Gotcha, we can do Friday", "Gotcha"),
    ("June, July and August are booked", "June"),
    ("Sterling, silver or black are in stock", "Sterling"),
    ("Summer, fall and winter tire packages", "Summer"),
    ("Austin, Texas location opens at 8", "Austin"),
    ("Tech notes - Cooling: fan relay replaced", "Cooling"),
    ("Call notes - Summary: customer wants a quote", "Summary"),
    ("I miss having a spare key", "having"),
    ("Don't miss Saturday's tire sale!", "Saturday's"),
    ("Take Exit 12 to Industrial Dr. Service entrance is on the left", "Service"),
    ("Tupelo MS dealership hours are 8 to 6", "dealership"),
    ("lincoln, ne 68508 is the billing city", "lincoln"),
    ("This is Sunday's appointment, not Monday's", "Sunday's"),
    ("Option B Pricing is $39 a month", "Pricing"),
    ("Zone C Pickup is by the service lane", "Pickup"),
    ("cambio de llantas y frenos para el lunes", "frenos"),
])
def test_cues_take_no_ordinary_words(pii_analyzer: PiiAnalyzer, text: str, word: str) -> None:
    found = person_words(pii_analyzer, text)
    assert not any(word in p.split() for p in found), found


@pytest.mark.parametrize(("text", "word"), [
    ("Hunter green 2019 Tacoma, 41k miles", "Hunter"),      # a paint colour
    ("Quiero agendar brake service para mi Civic", "agendar"),  # lower case in a cased line
    ("Loaner agreement signed, loaner due back Friday", "Loaner"),  # a service word
    ("LOANER AVAILABLE THURSDAY AFTER 3", "LOANER"),
    ("Tech says the rotors are fine", "Tech"),               # a department, no organisation
])
def test_dealership_words_are_no_one(pii_analyzer: PiiAnalyzer, text: str, word: str) -> None:
    found = [text[f.start:f.end] for f in pii_analyzer.analyze_one(text)]
    assert not any(word in s.split() for s in found), found


@pytest.mark.parametrize(("text", "name"), [
    ("Thanks, please tell jim the Camry is ready.", "jim"),      # a Census first name
    ("Call back garcia after 3, Camry ready.", "garcia"),        # a well-known surname
    ("Please tell okonkwo the Camry is ready.", "okonkwo"),      # in no dictionary
])
def test_a_lower_case_name_in_a_cased_line_stays_a_name(pii_analyzer: PiiAnalyzer, text: str,
                                                        name: str) -> None:
    assert any(name in p for p in person_words(pii_analyzer, text)), person_words(
        pii_analyzer, text)
