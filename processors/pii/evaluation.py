"""Token-level evaluation of a PII redactor on a labelled set (`auterity eval pii DATASET`).

A labelled text is its full text plus gold spans (entity type, start, end). A redactor is
scored by the character spans it would replace, whatever its labels:
- a gold token (a run of word characters inside a gold span) is *removed* when every one of
  its characters lies inside some redacted span;
- a non-PII word (a run of word characters outside every gold span) is *kept* when none of
  its characters lies inside a redacted span.
Scoring by spans, not by the output text, gives ours and stock presidio the same yardstick
(presidio's anonymizer replaces exactly the union of the spans it resolved).

Formats read (`load_dataset`):
- presidio-evaluator JSON: a list of {"full_text", "spans": [{"entity_type",
  "start_position", "end_position", ...}]} (its `synth_dataset_v2.json`);
- JSONL: one {"text", "spans": [{"type" | "entity_type", "start", "end"}]} per line.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

#: Dataset types that are not PII to a dealership and must survive redaction: appointment
#: and service dates, vehicle and customer ages ("a 3-year-old Civic"). Their removal is
#: reported, but excluded from the PII totals and from the targets.
KEEP_TYPES = frozenset({"DATE_TIME", "AGE"})
#: Dataset types that name no person by themselves: a company ("Persint") and an honorific
#: or job title ("Mr.", "Packager"). Counted in `pii_removal`, not in `personal_removal`.
NOT_PERSONAL_TYPES = frozenset({"ORGANIZATION", "TITLE"})

#: Targets (issue 10), asserted by tests/unit/processors/pii/test_accuracy.py and
#: printed by the bench: on synth_dataset_v2, no type except KEEP_TYPES below stock presidio
#: and >= PII_TARGET of all labelled PII tokens (every type but KEEP_TYPES) removed; on the
#: held-out dealership corpus >= DEALER_REMOVAL_TARGET removed with >= DEALER_KEPT_TARGET of
#: the other words kept. PERSONAL_TARGET is the same share over personal-data types only.
PII_TARGET = 0.85
PERSONAL_TARGET = 0.85
DEALER_REMOVAL_TARGET = 0.98
DEALER_KEPT_TARGET = 0.98

SYNTH_DATASET = "synth_dataset_v2"
#: sha256 of presidio-evaluator 0.3.2's data/synth_dataset_v2.json (compose/local/setup.sh
#: fetches the sdist from PyPI and checks it)
SYNTH_SHA256 = "ec08a771ba8135314cafb60752b2295212222ba3a4cd75d73811839c699e0012"


def data_dir() -> Path:
    """AUTERITY_DATA_DIR, default ~/.cache/auterity/data (third-party evaluation sets)."""
    default = Path.home() / ".cache" / "auterity" / "data"
    return Path(os.environ.get("AUTERITY_DATA_DIR") or default)


def synth_dataset_path() -> Path:
    return data_dir() / "presidio-evaluator-0.3.2" / "synth_dataset_v2.json"

_WORD = re.compile(r"\w+")

Span = tuple[int, int]


@dataclass(frozen=True)
class GoldSpan:
    entity_type: str
    start: int
    end: int


@dataclass(frozen=True)
class Labelled:
    text: str
    spans: tuple[GoldSpan, ...]
    #: the template a generated record came from (presidio-evaluator's template_id), or None
    group: int | None = None


def split(items: Sequence[Labelled], part: str) -> list[Labelled]:
    """`all`, `dev` (even template ids: the records looked at while tuning the recognizers)
    or `held-out` (odd template ids: never looked at)."""
    if part == "all":
        return list(items)
    if part not in ("dev", "held-out"):
        raise DatasetError(f"unknown split {part!r}: use all, dev or held-out")
    want = 0 if part == "dev" else 1
    return [i for i in items if i.group is not None and i.group % 2 == want]


class DatasetError(ValueError):
    """A dataset that cannot be read, naming the file, line or record and what was wrong."""


def _gold(record: dict[str, object], where: str, keys: tuple[str, str, str]) -> GoldSpan:
    kind, start, end = (record.get(k) for k in keys)
    if not isinstance(kind, str) or not isinstance(start, int) or not isinstance(end, int):
        raise DatasetError(f"{where}: a span needs {keys[0]} (text), {keys[1]} and {keys[2]} "
                           f"(integers); got {record!r}")
    return GoldSpan(kind, start, end)


def _labelled(text: object, spans: object, where: str,
              keys: Sequence[tuple[str, str, str]], group: object = None) -> Labelled:
    if not isinstance(text, str):
        raise DatasetError(f"{where}: no text field")
    if not isinstance(spans, list):
        raise DatasetError(f"{where}: `spans` must be a list")
    gold = []
    for s in spans:
        if not isinstance(s, dict):
            raise DatasetError(f"{where}: a span must be an object, got {s!r}")
        k = next((k for k in keys if k[0] in s), keys[0])
        span = _gold(s, where, k)
        if not 0 <= span.start < span.end <= len(text):
            raise DatasetError(f"{where}: span {span.start}-{span.end} is outside the text "
                               f"({len(text)} characters)")
        gold.append(span)
    return Labelled(text, tuple(gold), group if isinstance(group, int) else None)


def load_dataset(path: Path) -> list[Labelled]:
    """Read a presidio-evaluator JSON list or a JSONL file (see the module docstring)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: {exc.strerror or exc}") from exc
    if raw.lstrip().startswith("["):
        try:
            records = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
        return [_labelled(r.get("full_text"), r.get("spans"), f"{path} record {i}",
                          [("entity_type", "start_position", "end_position")],
                          r.get("template_id"))
                if isinstance(r, dict) else _fail(f"{path} record {i}: not an object")
                for i, r in enumerate(records)]
    out = []
    for n, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path} line {n}: invalid JSON: {exc.msg}") from exc
        if not isinstance(r, dict):
            raise DatasetError(f"{path} line {n}: not a JSON object")
        out.append(_labelled(r.get("text"), r.get("spans", []), f"{path} line {n}",
                             [("type", "start", "end"), ("entity_type", "start", "end")]))
    if not out:
        raise DatasetError(f"{path}: no records")
    return out


def _fail(message: str) -> Labelled:
    raise DatasetError(message)


def _covered(a: int, b: int, spans: Sequence[Span]) -> bool:
    """Every character of [a, b) lies in the union of `spans`."""
    pos = a
    for s, e in sorted(spans):
        if s > pos:
            break
        pos = max(pos, e)
        if pos >= b:
            return True
    return pos >= b


def _touched(a: int, b: int, spans: Sequence[Span]) -> bool:
    return any(s < b and a < e for s, e in spans)


@dataclass
class Score:
    """Per gold type: tokens and tokens removed; plus non-PII words and words kept."""

    tokens: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)
    words: int = 0
    kept: int = 0
    #: (text, leaked token, its type) for the first leaks, to show what was missed
    leaks: list[tuple[str, str, str]] = field(default_factory=list)
    #: (text, non-PII word redacted) for the first over-redactions, to show what was lost
    lost: list[tuple[str, str]] = field(default_factory=list)

    def removal(self, entity_type: str) -> float:
        n = self.tokens[entity_type]
        return self.removed[entity_type] / n if n else float("nan")

    def pii_removal(self, types: Iterable[str] | None = None) -> float:
        """Share of tokens removed over `types` (default: every type but KEEP_TYPES)."""
        chosen = [t for t in (types or self.tokens) if t not in KEEP_TYPES]
        n = sum(self.tokens[t] for t in chosen)
        return sum(self.removed[t] for t in chosen) / n if n else float("nan")

    def personal_removal(self) -> float:
        """Share of personal-data tokens removed (all but KEEP_ and NOT_PERSONAL_TYPES)."""
        return self.pii_removal([t for t in self.tokens if t not in NOT_PERSONAL_TYPES])

    def kept_share(self) -> float:
        return self.kept / self.words if self.words else float("nan")


def score(items: Sequence[Labelled], redacted_spans: Sequence[Sequence[Span]],
          max_leaks: int = 200) -> Score:
    """Score one redactor's spans (`redacted_spans[i]` for `items[i]`)."""
    result = Score()
    for item, spans in zip(items, redacted_spans, strict=True):
        for g in item.spans:
            for m in _WORD.finditer(item.text, g.start, g.end):
                result.tokens[g.entity_type] += 1
                if _covered(m.start(), m.end(), spans):
                    result.removed[g.entity_type] += 1
                elif g.entity_type not in KEEP_TYPES and len(result.leaks) < max_leaks:
                    result.leaks.append((item.text, m.group(), g.entity_type))
        gold = [(g.start, g.end) for g in item.spans]
        for m in _WORD.finditer(item.text):
            if _touched(m.start(), m.end(), gold):
                continue
            result.words += 1
            if not _touched(m.start(), m.end(), spans):
                result.kept += 1
            elif len(result.lost) < max_leaks:
                result.lost.append((item.text, m.group()))
    return result


Redactor = Callable[[list[str]], list[list[Span]]]


def evaluate(items: Sequence[Labelled], redactors: dict[str, Redactor]) -> dict[str, Score]:
    """Run every redactor over the same texts and score each."""
    texts = [i.text for i in items]
    return {name: score(items, run(texts)) for name, run in redactors.items()}


def shortfalls(ours: Score, stock: Score | None, *, personal_target: float | None = None,
               removal_target: float | None = None, kept_target: float | None = None
               ) -> list[str]:
    """What misses a target, one line each (empty when every target holds)."""
    out = []
    if stock is not None:
        for t in sorted(ours.tokens):
            if t not in KEEP_TYPES and ours.removal(t) < stock.removal(t):
                out.append(f"{t}: {ours.removal(t):.3f} removed, below stock presidio's "
                           f"{stock.removal(t):.3f}")
    if personal_target is not None and not ours.personal_removal() >= personal_target:
        out.append(f"personal-data tokens: {ours.personal_removal():.3f} removed, target "
                   f"{personal_target}")
    if removal_target is not None and not ours.pii_removal() >= removal_target:
        out.append(f"PII tokens: {ours.pii_removal():.3f} removed, target {removal_target}")
    if kept_target is not None and not ours.kept_share() >= kept_target:
        out.append(f"non-PII words: {ours.kept_share():.3f} kept, target {kept_target}")
    return out
