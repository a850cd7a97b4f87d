"""PII removal on text the project did not write, ours beside stock presidio in the same run.

- presidio-evaluator's labelled synth_dataset_v2 (third-party; fetched by set-up from the
  presidio-evaluator 0.3.2 sdist on PyPI and cached, never committed): no entity type except
  DATE_TIME and AGE below stock presidio; >= PII_TARGET of all labelled PII tokens (and of
  the personal-data ones) removed.
- the dealership corpus of bench/corpora/dealership_pii.py (written independently of
  connectors/samples/ and of the recognizers; REPORTED_SEED's run is never read while
  tuning): ours at least stock presidio's removal and kept share, and the issue's targets,
  DEALER_REMOVAL_TARGET and DEALER_KEPT_TARGET (0.98 / 0.98).
- the hand-written corpus bench/corpora/dealership_handwritten.txt (written by hand by a
  separate session that never read the recognizers; held out: its leaks are not read while
  tuning): ours at least stock presidio's removal and kept share, and HANDWRITTEN_*_FLOOR.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.corpora.dealership_handwritten import write_jsonl as write_handwritten
from bench.corpora.dealership_pii import REPORTED_SEED, write_jsonl
from processors.pii.engine import PiiAnalyzer, analyzer_spans, stock_presidio
from processors.pii.evaluation import (
    DEALER_KEPT_TARGET,
    DEALER_REMOVAL_TARGET,
    PERSONAL_TARGET,
    PII_TARGET,
    Score,
    evaluate,
    load_dataset,
    shortfalls,
    synth_dataset_path,
)

HANDWRITTEN_REMOVAL_FLOOR = 0.88
HANDWRITTEN_KEPT_FLOOR = 0.96


@pytest.fixture(scope="module")
def stock() -> Iterator[object]:
    yield stock_presidio()


def run(path: Path, analyzer: PiiAnalyzer, stock: object) -> dict[str, Score]:
    return evaluate(load_dataset(path), {"ours": analyzer_spans(analyzer),
                                         "stock": stock})  # type: ignore[dict-item]


def test_synth_dataset_v2(pii_analyzer: PiiAnalyzer, stock: object) -> None:
    path = synth_dataset_path()
    assert path.exists(), f"{path} missing: `make setup` fetches it (presidio-evaluator sdist)"
    scores = run(path, pii_analyzer, stock)
    ours = scores["ours"]
    assert sum(ours.tokens.values()) > 6000  # the whole set was read
    assert shortfalls(ours, scores["stock"], personal_target=PERSONAL_TARGET,
                      removal_target=PII_TARGET) == []
    assert ours.kept_share() >= scores["stock"].kept_share()


def test_dealership_corpus(tmp_path: Path, pii_analyzer: PiiAnalyzer, stock: object) -> None:
    path = tmp_path / "dealer.jsonl"
    assert write_jsonl(path, n=600, seed=REPORTED_SEED) == 600
    scores = run(path, pii_analyzer, stock)
    ours, theirs = scores["ours"], scores["stock"]
    assert ours.pii_removal() >= theirs.pii_removal()
    assert ours.kept_share() >= theirs.kept_share()
    assert shortfalls(ours, None, removal_target=DEALER_REMOVAL_TARGET,
                      kept_target=DEALER_KEPT_TARGET) == []


def test_handwritten_corpus(tmp_path: Path, pii_analyzer: PiiAnalyzer, stock: object) -> None:
    path = tmp_path / "handwritten.jsonl"
    assert write_handwritten(path) >= 300
    scores = run(path, pii_analyzer, stock)
    ours, theirs = scores["ours"], scores["stock"]
    assert ours.pii_removal() >= theirs.pii_removal()
    assert ours.kept_share() >= theirs.kept_share()
    assert shortfalls(ours, None, removal_target=HANDWRITTEN_REMOVAL_FLOOR,
                      kept_target=HANDWRITTEN_KEPT_FLOOR) == []
