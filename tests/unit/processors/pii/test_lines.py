"""`auterity redact` line handling: fields kept, pseudonyms per conversation, clear errors."""

from __future__ import annotations

import json

from processors.pii.lines import redact_lines

KEY = b"k" * 32


def test_redact_lines_keeps_fields_and_shares_pseudonyms_within_a_conversation():
    lines = [
        json.dumps({"conversation_id": "c1", "id": 7,
                    "text": "This is Maria Lopez, call me at (512) 555-0142 about my 2019 "
                            "Toyota Camry."}),
        json.dumps({"conversation_id": "c1", "text": "Thanks Maria Lopez, see you Tuesday."}),
        "plain line from bob.smith@example.com",
        "",
        json.dumps({"text": 5}),
        "{not json",
        json.dumps({"text": "   "}),
    ]
    out = list(redact_lines(lines, max_chars=1000, key=KEY, batch_size=4))
    assert len(out) == 6  # the blank line is skipped
    first, second, plain, no_text, bad_json, empty = out
    assert first["id"] == 7 and first["conversation_id"] == "c1"
    assert "Maria" not in first["redacted"] and "555-0142" not in first["redacted"]
    assert "2019 Toyota Camry" in first["redacted"]
    assert "<PERSON_1>" in first["redacted"] and "<PERSON_1>" in second["redacted"]
    types = {e["type"] for e in first["entities"]}
    assert {"PERSON", "PHONE_NUMBER"} <= types
    for e in first["entities"]:
        assert 0 <= e["start"] < e["end"] <= len(first["text"])
    assert plain["redacted"].endswith("<EMAIL_ADDRESS_1>")
    assert "no string field `text`" in no_text["error"]
    assert "invalid JSON" in bad_json["error"]
    assert empty["error"].startswith("empty_text")


def test_names_that_are_vehicle_words_are_redacted_when_introduced_as_names():
    text = ("Hi Mercedes, this is Lincoln Ford. Ask for Sierra at 512-555-0142 about the 2019 "
            "Ford Explorer or a Kia Sorento.")
    (out,) = redact_lines([text], max_chars=1000, key=KEY)
    assert out["redacted"] == ("Hi <PERSON_1>, this is <PERSON_2>. Ask for <PERSON_3> at "
                               "<PHONE_NUMBER_1> about the 2019 Ford Explorer or a Kia Sorento.")
