"""`auterity eval pii` measures the analyzer the pipeline runs, on a labelled JSONL file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from processors.pii import engine


def _dataset(tmp_path: Path) -> Path:
    text = "Call Dana Scully at 602-555-0143 about the Camry."
    path = tmp_path / "tiny.jsonl"
    path.write_text(json.dumps({"text": text, "spans": [
        {"type": "PERSON", "start": 5, "end": 16},
        {"type": "PHONE_NUMBER", "start": 20, "end": 32}]}) + "\n")
    return path


@pytest.mark.parametrize(("switch", "expected"), [("off", False), ("on", True)])
def test_eval_uses_the_configured_second_ner(tmp_path: Path, monkeypatch, capsys,
                                             switch: str, expected: bool) -> None:
    built: list[bool] = []

    class Recording(engine.PiiAnalyzer):
        def __init__(self, *args, second_ner: bool = True, **kwargs) -> None:  # type: ignore[no-untyped-def]
            built.append(second_ner)
            super().__init__(*args, second_ner=False, **kwargs)  # fast either way

    monkeypatch.setattr(engine, "PiiAnalyzer", Recording)
    monkeypatch.setenv("AUTERITY_PII_SECOND_NER", switch)
    assert main(["eval", "pii", str(_dataset(tmp_path)), "--no-stock", "--json"]) == 0
    assert built == [expected]
    out = json.loads(capsys.readouterr().out)
    assert out["texts"] == 1 and out["ours"]["removal"]["PHONE_NUMBER"] == 1.0


def test_eval_names_a_missing_dataset(tmp_path: Path, capsys) -> None:
    assert main(["eval", "pii", str(tmp_path / "nope.jsonl"), "--no-stock"]) == 1
    assert "nope.jsonl" in capsys.readouterr().err
