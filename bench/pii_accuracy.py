"""PII removal on text the project did not write: ours beside stock presidio, same run.

synth_dataset_v2 is presidio-evaluator's labelled set (third-party, fetched by set-up); the
dealership corpus is bench/corpora/dealership_pii.py (a generator written independently of
the sample generator and the recognizers; the recognizers were tuned on its leaks); the
hand-written corpus is bench/corpora/dealership_handwritten.txt (written by hand by a
separate session, held out: its leaks are never read). See processors/pii/evaluation.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.corpora.dealership_handwritten import write_jsonl as write_handwritten
from bench.corpora.dealership_pii import REPORTED_SEED, write_jsonl
from bench.table import log, row
from processors.pii.engine import PiiAnalyzer, analyzer_spans, stock_presidio
from processors.pii.evaluation import (
    DEALER_KEPT_TARGET,
    DEALER_REMOVAL_TARGET,
    KEEP_TYPES,
    PII_TARGET,
    Labelled,
    Score,
    evaluate,
    load_dataset,
    split,
    synth_dataset_path,
)

STOCK = "stock presidio (default recognizers, same spaCy model)"


def _rows(label: str, items: list[Labelled], ours: Score, stock: Score,
          per_type: bool, removal_target: float | None = None,
          kept_target: float | None = None) -> list[dict[str, Any]]:
    def target(value: float | None) -> str:
        return "" if value is None else f" (target >= {value:.2f})"

    out = []
    if per_type:
        for t in sorted(ours.tokens, key=lambda t: -ours.tokens[t]):
            kept = " (kept on purpose)" if t in KEEP_TYPES else ""
            out.append(row(f"PII {label} {t} removed (n={ours.tokens[t]}){kept}", STOCK,
                           stock.removal(t), ours.removal(t), "recall"))
    out += [row(f"PII {label} personal-data tokens removed ({len(items)} texts)", STOCK,
                stock.personal_removal(), ours.personal_removal(), "recall"),
            row(f"PII {label} all PII tokens removed{target(removal_target)}", STOCK,
                stock.pii_removal(), ours.pii_removal(), "recall"),
            row(f"PII {label} non-PII words kept{target(kept_target)}", STOCK,
                stock.kept_share(), ours.kept_share(), "recall")]
    return out


def pii_accuracy_rows() -> list[dict[str, Any]]:
    log("pii accuracy: synth_dataset_v2 and the held-out dealership corpus, ours vs stock")
    redactors = {"ours": analyzer_spans(PiiAnalyzer()), "stock": stock_presidio()}
    synth = load_dataset(synth_dataset_path())
    rows = []
    for label, items, per_type in (("synth_dataset_v2", synth, True),
                                   ("synth_dataset_v2 held-out", split(synth, "held-out"),
                                    False)):
        scores = evaluate(items, redactors)
        rows += _rows(label, items, scores["ours"], scores["stock"], per_type, PII_TARGET)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dealership.jsonl"
        write_jsonl(path, n=600, seed=REPORTED_SEED)
        items = load_dataset(path)
    scores = evaluate(items, redactors)
    rows += _rows("dealership corpus", items, scores["ours"], scores["stock"], False,
                  DEALER_REMOVAL_TARGET, DEALER_KEPT_TARGET)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "handwritten.jsonl"
        write_handwritten(path)
        items = load_dataset(path)
    scores = evaluate(items, redactors)
    rows += _rows("hand-written dealership corpus (held out)", items, scores["ours"],
                  scores["stock"], False)
    return rows
