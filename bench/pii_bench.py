"""PII analysis benchmark: batched `PiiAnalyzer` vs presidio's per-text stock engine.

    python -m bench.pii_bench [n_texts]

Both run on the same texts from `generate_conversations`; rows report throughput (texts/s)
and recall per entity type against the generator's ground truth. `pii_rows` gives them as
rows of the `auterity bench` table.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from bench.table import log, row
from connectors.samples.conversations import SampleMessage, generate_conversations
from processors.pii.engine import Finding, PiiAnalyzer, per_text_baseline

#: Finding types that count as detecting a ground-truth type (a ZIP swallowed by an
#: address finding is still redacted).
ACCEPTED_TYPES: dict[str, frozenset[str]] = {
    "STATE_ZIP": frozenset({"STATE_ZIP", "STREET_ADDRESS"}),
    "STREET_ADDRESS": frozenset({"STREET_ADDRESS", "STATE_ZIP"}),
}


def truth_spans(message: SampleMessage) -> list[tuple[str, int, int]]:
    """Every occurrence in the text of every ground-truth (type, value)."""
    spans: set[tuple[str, int, int]] = set()
    for entity_type, value in set(message.pii):
        start = message.text.find(value)
        while start >= 0:
            spans.add((entity_type, start, start + len(value)))
            start = message.text.find(value, start + 1)
    return sorted(spans, key=lambda s: (s[1], s[2], s[0]))


def detected(entity_type: str, start: int, end: int, findings: Sequence[Finding]) -> bool:
    accepted = ACCEPTED_TYPES.get(entity_type, frozenset({entity_type}))
    return any(f.entity_type in accepted and f.start < end and start < f.end for f in findings)


def recall_by_type(
    messages: Sequence[SampleMessage], findings: Sequence[Sequence[Finding]]
) -> dict[str, tuple[int, int]]:
    """{entity type: (found, total)} over all ground-truth spans."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for message, found in zip(messages, findings, strict=True):
        for entity_type, start, end in truth_spans(message):
            counts[entity_type][1] += 1
            counts[entity_type][0] += detected(entity_type, start, end, found)
    return {t: (c[0], c[1]) for t, c in sorted(counts.items())}


def _timed(fn: Callable[[], list[list[Finding]]]) -> tuple[list[list[Finding]], float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run(n_texts: int = 500) -> list[dict]:
    messages = list(generate_conversations(n_texts, tenants=5, seed=3))
    texts = [m.text for m in messages]
    ours = PiiAnalyzer()
    baseline = per_text_baseline()
    # warm up both (lazy recognizer loading, spaCy caches)
    ours.analyze(texts[:16])
    for t in texts[:16]:
        baseline(t)

    base_out, base_s = _timed(lambda: [baseline(t) for t in texts])
    ours_out, ours_s = _timed(lambda: ours.analyze(texts))
    one_ner = PiiAnalyzer(second_ner=False)
    one_ner.analyze(texts[:16])
    _, one_s = _timed(lambda: one_ner.analyze(texts))
    base_tps, ours_tps, one_tps = len(texts) / base_s, len(texts) / ours_s, len(texts) / one_s
    rows: list[dict] = [
        {
            "name": f"analyze throughput ({len(texts)} texts)",
            "baseline": round(base_tps, 1),
            "ours": round(ours_tps, 1),
            "ratio": round(ours_tps / base_tps, 2),
            "unit": "texts/s",
        },
        {
            "name": "analyze throughput: with the Rampart NER (ours) vs without (baseline)",
            "baseline": round(one_tps, 1),
            "ours": round(ours_tps, 1),
            "ratio": round(ours_tps / one_tps, 2),
            "unit": "texts/s",
        },
    ]
    base_recall = recall_by_type(messages, base_out)
    ours_recall = recall_by_type(messages, ours_out)
    totals = [0, 0, 0]
    for entity_type, (found_o, total) in ours_recall.items():
        found_b = base_recall[entity_type][0]
        totals[0] += found_b
        totals[1] += found_o
        totals[2] += total
        rows.append(_recall_row(f"recall {entity_type} (n={total})", found_b, found_o, total))
    rows.append(_recall_row(f"recall all (n={totals[2]})", *totals))
    rows.append(
        {
            "name": "findings outside ground truth",
            "baseline": extra_findings(messages, base_out),
            "ours": extra_findings(messages, ours_out),
            "ratio": None,
            "unit": "count",
        }
    )
    return rows


def pii_rows(n: int) -> list[dict[str, Any]]:
    """`run(n)` as rows of the bench table."""
    log(f"pii: presidio per text vs batched PiiAnalyzer on {n} texts")
    what = "presidio AnalyzerEngine, one text at a time"
    return [row(f"PII {r['name']}", what, r["baseline"], r["ours"], r["unit"], r["ratio"])
            for r in run(n)]


def extra_findings(messages: Sequence[SampleMessage], findings: Sequence[Sequence[Finding]]) -> int:
    """Findings overlapping no ground-truth span (false positives such as vehicle names)."""
    extra = 0
    for message, found in zip(messages, findings, strict=True):
        spans = truth_spans(message)
        extra += sum(not any(f.start < e and s < f.end for _, s, e in spans) for f in found)
    return extra


def _recall_row(name: str, found_b: int, found_o: int, total: int) -> dict:
    rb, ro = found_b / total, found_o / total
    return {
        "name": name,
        "baseline": round(rb, 3),
        "ours": round(ro, 3),
        "ratio": round(ro / rb, 2) if rb else float("inf"),
        "unit": "recall",
    }


def _print_table(rows: list[dict]) -> None:
    print(f"{'measure':<40} {'baseline':>10} {'ours':>10} {'ratio':>7}  unit")
    for r in rows:
        ratio = "" if r["ratio"] is None else r["ratio"]
        print(f"{r['name']:<40} {r['baseline']:>10} {r['ours']:>10} {ratio:>7}  {r['unit']}")


if __name__ == "__main__":
    _print_table(run(int(sys.argv[1]) if len(sys.argv) > 1 else 500))
