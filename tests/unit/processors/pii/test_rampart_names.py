"""The Rampart NER recognizer: windows over long texts, whole words, make-led spans."""

from pathlib import Path

import pytest

from processors.llm.model_files import ModelFileError
from processors.pii.rampart_names import RampartNameRecognizer, model_dir, plan_windows


def test_windows_cover_every_piece_and_start_on_a_word() -> None:
    word_ids = [i // 3 for i in range(1000)]  # words of three pieces each
    windows = plan_windows(word_ids, 256, 64)
    assert windows[0][0] == 0 and windows[-1][1] == 1000
    assert all(e - s <= 256 for s, e in windows)
    assert all(b[0] < a[1] for a, b in zip(windows, windows[1:], strict=False))  # overlap
    assert all(word_ids[s] != word_ids[s - 1] for s, _ in windows[1:])


@pytest.fixture(scope="module")
def rampart() -> RampartNameRecognizer:
    return RampartNameRecognizer(threads=1)


def people(recognizer: RampartNameRecognizer, text: str) -> list[str]:
    return [text[r.start:r.end] for r in recognizer.analyze(text, ["PERSON"])]


def test_lower_case_names_are_whole_words(rampart: RampartNameRecognizer) -> None:
    text = "follow up with patricia desrosiers in a couple of months"
    assert people(rampart, text) == ["patricia desrosiers"]


def test_a_long_text_is_read_to_its_end(rampart: RampartNameRecognizer) -> None:
    filler = "The brake pads and rotors were replaced and the car was washed. " * 40
    text = (f"Hi, this is Ingrid Halvorsen. {filler}Please call Tomasz Wójcik. {filler}"
            "Signed, Amara Okafor")
    found = people(rampart, text)
    assert any("Halvorsen" in p for p in found)
    assert any("Wójcik" in p for p in found)
    assert any("Okafor" in p for p in found)


def test_a_make_and_model_is_not_a_name(rampart: RampartNameRecognizer) -> None:
    assert people(rampart, "my hyundai ioniq needs new tires and an alignment") == []


def test_a_missing_model_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.setenv("AUTERITY_RAMPART_DIR", str(tmp_path))
    with pytest.raises(ModelFileError, match="set-up"):
        model_dir()
