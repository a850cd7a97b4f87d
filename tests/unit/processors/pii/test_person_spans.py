"""PERSON spans cut to the name (processors/pii/person_spans.py): pure logic, no model."""

import pytest
from presidio_analyzer import RecognizerResult

from processors.pii.person_spans import clean_people, honorifics


def cleaned(text: str, span: str) -> list[str]:
    start = text.index(span)
    out = clean_people(text, [RecognizerResult("PERSON", start, start + len(span), 0.85)])
    return [text[r.start:r.end] for r in out]


@pytest.mark.parametrize(("text", "span", "name"), [
    ("chat: Agent Priya Happy to help!", "Priya Happy", "Priya"),
    ("Cust Wojciech Kowalczyk DOB 04/02/1981", "Cust Wojciech Kowalczyk", "Wojciech Kowalczyk"),
    ("Loaner agreement Zoë Brandt DL# X15016342", "Zoë Brandt DL", "Zoë Brandt"),
    ("Bonjour, ici Claire Martin et je voudrais un Tiguan", "Claire Martin et je",
     "Claire Martin"),
    # names that are common words keep them: census first names and surnames
    ("hi mark mitchell here", "mark mitchell", "mark mitchell"),
    ("Hope Banks called", "Hope Banks", "Hope Banks"),
    ("Questions? Call José Pérez at the desk", "José Pérez", "José Pérez"),
    ("payment from abroad: babajide g balogun", "g balogun", "g balogun"),
])
def test_span_is_cut_to_the_name(text: str, span: str, name: str) -> None:
    assert cleaned(text, span) == [name]


@pytest.mark.parametrize(("text", "span"), [
    ("Warranty claim R.O. 67902 VIN on file", "R.O."),
    ("Quiero agendar una cita", "Quiero"),
    ("bonjour, je m'appelle Ananya", "m'appelle"),
    ("DEAR MX. JACKSON", "MX."),
])
def test_non_names_are_dropped(text: str, span: str) -> None:
    assert cleaned(text, span) == []


def test_a_professional_title_is_its_own_finding_a_courtesy_title_is_kept() -> None:
    text = "Hello, this is Dr. Kyle Kuefer and Mr. Dustin Wirth."
    people = [RecognizerResult("PERSON", text.index(n), text.index(n) + len(n), 0.85)
              for n in ("Kyle Kuefer", "Dustin Wirth")]
    titles = [text[r.start:r.end] for r in honorifics(text, people) if r.entity_type == "TITLE"]
    assert titles == ["Dr."]


@pytest.mark.parametrize(("text", "span"), [
    # typos of common words where the case says nothing (lower case, a sentence's start)
    ("Cusotmer called, very upset about repair order 35247.", "Cusotmer"),
    ("pls have them call me back, nubmer (999)728-8939.", "nubmer"),
    ("Good morning, plesae update my mailing address", "plesae"),
    # ordinary words on caseless lines
    ("SUMMER IS BUSY, SO BOOK YOUR INSPECTION EARLY", "INSPECTION"),
    ("HALLO, I AM HA-EUN PARK, VISITING FROM GERMANY", "VISITING"),
    ("bonjour je cherche un tiguan", "cherche"),
    # shorthand and labels
    ("whats the otd on stock# 15830?", "otd"),
    ("my ssn is 832-99-6487", "ssn"),
    # a sentence's first word that is a verb
    ("Mark the 2013 VW Jetta SE as sold.", "Mark"),
])
def test_ordinary_words_are_dropped(text: str, span: str) -> None:
    assert cleaned(text, span) == []


@pytest.mark.parametrize(("text", "span", "name"), [
    ("Will Robert be around Thu 3/21 4:45 PM?", "Will Robert", "Robert"),
    ("Cusotmer Paweł Dąbrowski says Shawn from sales promised", "Cusotmer Paweł Dąbrowski",
     "Paweł Dąbrowski"),
])
def test_verbs_and_typos_leave_the_name(text: str, span: str, name: str) -> None:
    assert cleaned(text, span) == [name]


@pytest.mark.parametrize(("text", "span"), [
    # a capitalised name mid-sentence is a name even when it looks like a typo ("tuned")
    ("Shipping the Tesla to Tunde Obi, Av. Revolución 1225", "Tunde Obi"),
    # short names as frequent as words, and hyphenated or Census names, on caseless lines
    ("loaner agreement: xu xiu ying, dl# 459618532", "xu xiu ying"),
    ("f&i notes: co-buyer raj k. singh", "raj k. singh"),
    ("credit app: lincoln anderson-lincoln, ssn 602 93 5557", "lincoln anderson-lincoln"),
    ("LET MR MILLER-PRICE KNOW", "MILLER-PRICE"),
    ("hi there, my name is eoin o'brien", "eoin o'brien"),
    ("hi, my name is smith", "smith"),
    # a name that starts a sentence is no verb unless the clause asks or a vehicle follows
    ("Will Smith called about the Tahoe.", "Will Smith"),
    ("Will Smith called, can he get a loaner?", "Will Smith"),
    ("Frank the customer wants a callback.", "Frank"),
    ("Rose my wife will pick up the car.", "Rose"),
    # names as frequent as words, not on the 1990 Census lists, on caseless lines
    ("spoke to ravi kumar about the lease", "ravi kumar"),
    ("SPOKE TO RAHUL GUPTA ABOUT THE LEASE, WANTS CALLBACK", "RAHUL GUPTA"),
    ("cust lars jensen dropped off keys", "lars jensen"),
    ("Dr. Price will pick up the car", "Price"),
    # after an honorific, a word is a name whatever else it is
    ("MRS. PORSCHE ASKED IF WE CAN MATCH $2,027.96", "PORSCHE"),
    ("PLS HAVE ROBERT CALL MR PRICE BACK ABOUT THE ODYSSEY", "PRICE"),
])
def test_names_that_look_like_words_stay(text: str, span: str) -> None:
    assert cleaned(text, span) == [span]


def test_a_place_tagged_as_a_person_stays_redacted_as_a_place() -> None:
    text = "owner address: 161, rue des érables, trois-rivières (québec) j4b 7a4"
    start = text.index("québec")
    out = clean_people(text, [RecognizerResult("PERSON", start, start + 6, 0.85)])
    assert [(r.entity_type, text[r.start:r.end]) for r in out] == [("LOCATION", "québec")]
