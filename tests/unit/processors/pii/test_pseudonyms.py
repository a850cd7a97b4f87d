import json
import re

import pytest

from processors.pii.engine import Finding
from processors.pii.pseudonyms import PseudonymBook
from processors.pii.redact import redact, redact_texts

KEY = b"test-key"


def test_numbering_per_type_in_order_of_first_appearance() -> None:
    book = PseudonymBook(KEY)
    assert book.label("PERSON", "Maria Lopez") == "<PERSON_1>"
    assert book.label("PHONE_NUMBER", "512-555-0143") == "<PHONE_NUMBER_1>"
    assert book.label("PERSON", "John Smith") == "<PERSON_2>"
    assert book.label("PERSON", "maria   LOPEZ") == "<PERSON_1>"
    assert book.label("PHONE_NUMBER", "(512) 555-0143") == "<PHONE_NUMBER_1>"
    assert book.label("PHONE_NUMBER", "+1 512.555.0143") == "<PHONE_NUMBER_1>"
    assert book.label("PHONE_NUMBER", "512-555-0199") == "<PHONE_NUMBER_2>"


def test_given_name_reuses_full_name_label() -> None:
    book = PseudonymBook(KEY)
    assert book.label("PERSON", "Maria Lopez") == "<PERSON_1>"
    assert book.label("PERSON", "Maria") == "<PERSON_1>"
    # a relative sharing the surname is a different person
    assert book.label("PERSON", "Elena Lopez") == "<PERSON_2>"


def test_state_has_no_raw_values_and_is_json() -> None:
    book = PseudonymBook(KEY)
    values = ["Maria Lopez", "maria.lopez@gmail.com", "1HGCM82633A004352"]
    for t, v in zip(["PERSON", "EMAIL_ADDRESS", "VIN"], values, strict=True):
        book.label(t, v)
    state = book.state()
    dumped = json.dumps(state)
    for v in values + ["maria", "lopez"]:
        assert v.casefold() not in dumped.casefold()
    assert all(re.fullmatch(r"[0-9a-f]{32}", k) for k in state)
    assert set(state.values()) == {"<PERSON_1>", "<EMAIL_ADDRESS_1>", "<VIN_1>"}


def test_state_depends_on_key() -> None:
    a, b = PseudonymBook(b"key-a"), PseudonymBook(b"key-b")
    a.label("PERSON", "Maria Lopez")
    b.label("PERSON", "Maria Lopez")
    assert set(a.state()).isdisjoint(b.state())


def test_rebuilt_book_continues_numbering() -> None:
    book = PseudonymBook(KEY)
    book.label("PERSON", "Maria Lopez")
    book.label("PERSON", "John Smith")
    rebuilt = PseudonymBook(KEY, json.loads(json.dumps(book.state())))
    assert rebuilt.label("PERSON", "John Smith") == "<PERSON_2>"
    assert rebuilt.label("PERSON", "Maria") == "<PERSON_1>"
    assert rebuilt.label("PERSON", "Ann Lee") == "<PERSON_3>"
    assert rebuilt.label("VIN", "1HGCM82633A004352") == "<VIN_1>"


def test_rejects_bad_state_and_key() -> None:
    with pytest.raises(ValueError):
        PseudonymBook(KEY, {"abc": "Maria"})
    with pytest.raises(ValueError):
        PseudonymBook(b"")


def _find(text: str, entity_type: str, value: str, start: int = 0) -> Finding:
    i = text.index(value, start)
    return Finding(entity_type, i, i + len(value), 0.9)


def test_redact_labels_in_text_order_and_resolves_overlaps() -> None:
    text = "Call Maria Lopez at 512-555-0143; John Smith and Maria Lopez agree."
    findings = [
        _find(text, "PERSON", "John Smith"),  # out of order on purpose
        _find(text, "PERSON", "Maria Lopez"),
        _find(text, "PHONE_NUMBER", "512-555-0143"),
        _find(text, "US_DRIVER_LICENSE", "555-0143"),  # contained in the phone: dropped
        _find(text, "PERSON", "Maria Lopez", 40),
    ]
    book = PseudonymBook(KEY)
    out = redact(text, findings, book)
    assert out == ("Call <PERSON_1> at <PHONE_NUMBER_1>; <PERSON_2> and <PERSON_1> agree.")
    assert "US_DRIVER_LICENSE" not in json.dumps(book.state())  # only labels, no raw values
    assert not any(v.startswith("<US_DRIVER_LICENSE") for v in book.state().values())


def test_redact_texts_shares_the_book() -> None:
    texts = ["Hi, I'm Maria Lopez.", "Thanks Maria, see you Tuesday."]
    findings = [[_find(texts[0], "PERSON", "Maria Lopez")], [_find(texts[1], "PERSON", "Maria")]]
    results = redact_texts(texts, findings, PseudonymBook(KEY))
    assert [r.redacted for r in results] == [
        "Hi, I'm <PERSON_1>.",
        "Thanks <PERSON_1>, see you Tuesday.",
    ]
    assert redact("no pii here", [], PseudonymBook(KEY)) == "no pii here"


def test_a_name_ner_called_a_place_keeps_its_one_tag() -> None:
    book = PseudonymBook(b"k")
    first = book.label("LOCATION", "Oluwaseun Adeyemi")
    assert book.label("PERSON", "Oluwaseun Adeyemi") == first
    assert book.label("PERSON", "Dana Scully") == "<PERSON_1>"
    assert book.label("LOCATION", "Dana Scully") == "<PERSON_1>"
    assert book.label("LOCATION", "Austin") == "<LOCATION_2>"


def test_the_second_ner_switch_names_a_bad_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from processors.pii.redaction import SECOND_NER_ENV, second_ner_enabled

    monkeypatch.setenv(SECOND_NER_ENV, "off")
    assert second_ner_enabled() is False
    monkeypatch.delenv(SECOND_NER_ENV)
    assert second_ner_enabled() is True
    monkeypatch.setenv(SECOND_NER_ENV, "maybe")
    with pytest.raises(ValueError, match="AUTERITY_PII_SECOND_NER='maybe'"):
        second_ner_enabled()
