"""The evaluation's scoring and loading (pure logic)."""

import json
from pathlib import Path

import pytest

from processors.pii.evaluation import (
    DatasetError,
    GoldSpan,
    Labelled,
    load_dataset,
    score,
    shortfalls,
    split,
)


def test_token_removed_only_when_fully_covered_and_words_kept_only_when_untouched() -> None:
    item = Labelled("call Maria Lopez at home now", (GoldSpan("PERSON", 5, 16),))
    s = score([item], [[(5, 10), (21, 23)]])  # "Maria" covered, "Lopez" not, "ho" of home
    assert (s.tokens["PERSON"], s.removed["PERSON"]) == (2, 1)
    assert (s.words, s.kept) == (4, 3)  # call, at, home (touched), now
    assert s.leaks == [("call Maria Lopez at home now", "Lopez", "PERSON")]
    assert shortfalls(s, None, removal_target=0.9) == [
        "PII tokens: 0.500 removed, target 0.9"]


def test_keep_types_are_not_pii_and_organisations_not_personal() -> None:
    item = Labelled("Ann at Acme on Monday", (GoldSpan("PERSON", 0, 3),
                                            GoldSpan("ORGANIZATION", 7, 11),
                                            GoldSpan("DATE_TIME", 15, 21)))
    s = score([item], [[(0, 3)]])
    assert s.pii_removal() == 0.5  # PERSON and ORGANIZATION; DATE_TIME kept on purpose
    assert s.personal_removal() == 1.0


def test_below_stock_on_a_type_is_a_shortfall() -> None:
    item = Labelled("Ann Bo", (GoldSpan("PERSON", 0, 3), GoldSpan("NRP", 4, 6)))
    ours, stock = score([item], [[(0, 3)]]), score([item], [[(0, 6)]])
    assert shortfalls(ours, stock) == ["NRP: 0.000 removed, below stock presidio's 1.000"]
    assert shortfalls(stock, ours) == []


def test_loads_both_formats_and_splits_by_template(tmp_path: Path) -> None:
    pe = tmp_path / "pe.json"
    pe.write_text(json.dumps([
        {"full_text": "Hi Ann", "spans": [{"entity_type": "PERSON", "start_position": 3,
                                           "end_position": 6}], "template_id": 4},
        {"full_text": "Hi Bo", "spans": [], "template_id": 7}]))
    items = load_dataset(pe)
    assert [i.spans for i in split(items, "dev")] == [(GoldSpan("PERSON", 3, 6),)]
    assert [i.text for i in split(items, "held-out")] == ["Hi Bo"]
    jl = tmp_path / "x.jsonl"
    jl.write_text('{"text": "Hi Ann", "spans": [{"type": "PERSON", "start": 3, "end": 6}]}\n')
    assert load_dataset(jl)[0].spans == (GoldSpan("PERSON", 3, 6),)


@pytest.mark.parametrize(("content", "message"), [
    ('{"text": "Hi", "spans": [{"type": "PERSON", "start": 0, "end": 9}]}', "outside the text"),
    ('{"spans": []}', "no text field"),
    ('{"text": "Hi", "spans": [{"type": "PERSON", "start": "0", "end": 2}]}', "integers"),
    ("not json", "line 1: invalid JSON"),
    ("", "no records"),
])
def test_bad_datasets_name_what_is_wrong(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        load_dataset(path)


def test_missing_file_is_a_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="nope.json"):
        load_dataset(tmp_path / "nope.json")
