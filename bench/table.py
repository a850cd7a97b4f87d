"""The bench table: one row per measurement, progress logging, and the printed table.

Every area module builds its rows with `row()`; `bench.run` prints them with `print_table`.
"""

from __future__ import annotations

import sys
import time
from typing import Any

_RATIO = object()


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def row(name: str, baseline_what: str, baseline: float | None, ours: float | None, unit: str,
        ratio: Any = _RATIO) -> dict[str, Any]:
    """One table row; the ratio is ours/baseline unless given (None: no meaningful ratio)."""
    if ratio is _RATIO:
        ratio = ours / baseline if baseline and ours is not None else None
    return {"benchmark": name, "baseline_what": baseline_what, "baseline": baseline,
            "ours": ours, "unit": unit, "ratio": ratio}


def fmt(v: float | None, unit: str = "") -> str:
    if v is None:
        return ""
    if unit == "recall":
        return f"{v:.3f}"
    if isinstance(v, float) and v == float("inf"):
        return "inf"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if float(v).is_integer():
        return f"{int(v)}"
    return f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"


def print_table(rows: list[dict[str, Any]]) -> None:
    head = ("benchmark", "baseline (what)", "baseline", "ours", "unit", "ratio (ours/base)")
    cells = [head] + [(r["benchmark"], r["baseline_what"], fmt(r["baseline"], r["unit"]),
                       fmt(r["ours"], r["unit"]),
                       r["unit"], "" if r["ratio"] is None else f"{r['ratio']:.2f}")
                      for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    right = {2, 3, 5}
    for j, c in enumerate(cells):
        print(" | ".join(c[i].rjust(widths[i]) if i in right else c[i].ljust(widths[i])
                         for i in range(len(head))).rstrip())
        if j == 0:
            print("-+-".join("-" * w for w in widths))
