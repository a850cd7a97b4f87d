"""Unicode disguises: normalised for analysis, redacted in the original text."""

import pytest

from processors.pii.engine import PiiAnalyzer
from processors.pii.normalise import normal_form, normalise
from processors.pii.pseudonyms import PseudonymBook
from processors.pii.redact import redact


def test_normalise_maps_every_character_back() -> None:
    text = "SSN 123\u200b-45-6789, Ma\u00adria Je\u0301ro\u0302me \uff15\uff11\uff12"
    n = normalise(text)
    assert n.text == "SSN 123-45-6789, Maria Jérôme 512"
    assert n.changed
    start = n.text.index("123-45-6789")
    assert n.to_original(start, start + 11) == (4, 16)  # covers the zero-width space
    j = n.text.index("Jérôme")
    s, e = n.to_original(j, j + len("Jérôme"))
    assert text[s:e] == "Je\u0301ro\u0302me"
    d = n.text.index("512")
    s, e = n.to_original(d, d + 3)
    assert text[s:e] == "\uff15\uff11\uff12"


def test_ascii_is_unchanged() -> None:
    n = normalise("plain text 123")
    assert n.text == "plain text 123" and not n.changed
    assert n.to_original(6, 10) == (6, 10)


def test_pseudonym_of_a_disguised_name_is_the_plain_names() -> None:
    assert normal_form("Ma\u00adria Lo\u00adpez") == "Maria Lopez"
    book = PseudonymBook(b"k")
    assert book.label("PERSON", "Maria Lopez") == book.label("PERSON", "Ma\u00adria Lo\u00adpez")


@pytest.mark.parametrize(("text", "secret"), [
    ("My SSN is 536\u200b-22-1234 thanks", "536\u200b-22-1234"),
    ("VIN 1HGCM82633A0\u200b04352 please", "1HGCM82633A0\u200b04352"),
    ("Ma\u00adria Lo\u00adpez called about her Civic", "Ma\u00adria Lo\u00adpez"),
    ("Je\u0301ro\u0302me Dupont wants a quote on the F-150", "Je\u0301ro\u0302me Dupont"),
    ("Call me at \uff15\uff11\uff12-\uff15\uff15\uff15-\uff10\uff11\uff14\uff13 after 5",
     "\uff15\uff11\uff12-\uff15\uff15\uff15-\uff10\uff11\uff14\uff13"),
])
def test_disguised_pii_is_removed_with_its_disguise(pii_analyzer: PiiAnalyzer, text: str,
                                                    secret: str) -> None:
    out = redact(text, pii_analyzer.analyze_one(text), PseudonymBook(b"k"))
    assert secret not in out
    assert normal_form(secret) not in normal_form(out)
    assert "<" in out


def test_other_default_ignorable_characters_are_dropped() -> None:
    assert normal_form("123\u034f-45\ufe0f-6789 Jo\u034fhn") == "123-45-6789 John"
