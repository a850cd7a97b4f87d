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
