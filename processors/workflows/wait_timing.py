"""Timing in free text ("5 days before", "2 hours instead of 1 day") and retiming the one wait
it means; ISO 8601 durations for timedeltas.

Invariant: a timing that is ambiguous (several new timings, several matching waits, no
matching wait, or a duration outside what a wait allows) raises `Unclear`, never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from processors.analysis.rules import extract_timing
from processors.workflows.graph_edits import Draft, named_steps
from processors.workflows.revision_models import Unclear
from processors.workflows.sends import SEND_TYPES
from processors.workflows.validator import MAX_WAIT, parse_duration


def iso_duration(delta: timedelta) -> str:
    """An ISO 8601 duration for a timedelta: P1DT2H, PT5M, -P3D (whole seconds)."""
    sign = "-" if delta < timedelta(0) else ""
    delta = abs(delta)
    hours, rest = divmod(delta.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    out = f"P{delta.days}D" if delta.days else "P"
    time = "".join(f"{v}{u}" for v, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if v)
    out += f"T{time}" if time else ""
    return sign + (out if out != "P" else "PT0S")


_ANCHORED = re.compile(r"(?:before|after|prior to|ahead of|following)$", re.I)
_BARE = re.compile(r"\b([a-z0-9-]+)\s+(minutes?|mins?|hours?|hrs?|days?|weeks?|months?|"
                   r"years?)\b", re.I)
_OLD_VALUE = re.compile(r"(?:instead of|rather than|from|not|replacing)\s*$", re.I)


@dataclass
class Timing:
    """A timing phrase found in a text, its ISO 8601 duration and where it is."""

    phrase: str
    iso: str
    anchored: bool  # relative to a date ("3 days before") rather than a plain delay
    start: int
    end: int
    old: bool = False  # the value being replaced ("instead of 1 day")


def timing_phrases(text: str) -> list[Timing]:
    """The timings in `text` in order: those `extract_timing` finds plus bare amounts ("2
    hours"), each marked `old` when it is the value being replaced ("instead of 1 day")."""
    found: list[Timing] = []
    cursor = 0
    for t in extract_timing(text):
        start = text.find(t.phrase, cursor)
        cursor = max(cursor, start + len(t.phrase))
        if t.iso_offset and start >= 0:
            found.append(Timing(t.phrase, t.iso_offset, bool(_ANCHORED.search(t.phrase)),
                                start, start + len(t.phrase)))
    for m in _BARE.finditer(text):
        if any(f.start < m.end() and m.start() < f.end for f in found):
            continue
        parsed = extract_timing(f"after {m.group(0)}")
        if parsed and parsed[0].iso_offset:
            found.append(Timing(m.group(0), parsed[0].iso_offset, False, m.start(), m.end()))
    for f in found:
        f.old = bool(_OLD_VALUE.search(text[:f.start]))
    return sorted(found, key=lambda f: f.start)


def _same(a: Any, b: str) -> bool:
    try:
        return parse_duration(a if a is not None else "PT0S") == parse_duration(b)
    except ValueError:
        return False


def retime(draft: Draft, text: str, only: list[str] | None = None) -> list[str] | None:
    """Apply the timing in `text` to the one wait it means; None when `text` has no timing.

    An anchored timing ("5 days before") sets the `offset` of a wait `until` a date; a plain
    one ("2 hours") sets a wait's `duration`. "instead of X" picks the wait currently at X.
    """
    timings = timing_phrases(text)
    new = [t for t in timings if not t.old]
    if not new:
        return None
    if len(new) > 1:
        raise Unclear("more than one new timing (" + ", ".join(t.phrase for t in new)
                      + "); change one wait at a time")
    t, old = new[0], next((o for o in timings if o.old), None)
    key = "offset" if t.anchored else "duration"
    waits = [s for s in draft.order() if s["type"] == "wait"
             and (only is None or s["id"] in only)
             and ("until" in s["params"] if t.anchored else "duration" in s["params"])]
    if old:
        waits = [s for s in waits if _same(s["params"].get(key), old.iso)]
    named = [s for s in waits if s["id"] in named_steps(draft, text)]
    waits = named or waits
    kind = "wait until a date" if t.anchored else "wait with a duration"
    if not waits:
        at = f" currently at {old.phrase}" if old else ""
        raise Unclear(f"no {kind}{at} to change to {t.phrase!r}")
    if len(waits) > 1:
        raise Unclear(f"{t.phrase!r} could mean any of these waits: "
                      + ", ".join(f"{s['id']} ({key} {s['params'].get(key)})" for s in waits)
                      + "; say which (e.g. 'instead of <current value>' or the step id)")
    wait = waits[0]
    before = wait["params"].get(key)
    if key == "duration":
        delta = parse_duration(t.iso)
        if not timedelta(seconds=1) <= delta <= MAX_WAIT:
            raise Unclear(f"{t.phrase!r} is outside the 1 second..366 days a wait allows")
    wait["params"][key] = t.iso
    return [f"{wait['id']}: {key} {before or 'none'} -> {t.iso} ({t.phrase})",
            *_stale_wording(draft, before)]


def _stale_wording(draft: Draft, before: Any) -> list[str]:
    """Notes for messages that still quote the replaced timing ("in 3 days"): not rewritten."""
    try:
        delta = abs(parse_duration(before))
    except ValueError:
        return []
    if delta.days and not delta.seconds:
        amount, unit = delta.days, "day"
    elif not delta.days and delta.seconds and not delta.seconds % 3600:
        amount, unit = delta.seconds // 3600, "hour"
    else:
        return []
    pattern = re.compile(rf"\b{amount}[ -]{unit}s?\b", re.I)
    return [f"note: {s['id']} still says '{m[0]}' in its {k}; change it with 'change the "
            "text to say ...'"
            for s in draft.order() if s["type"] in SEND_TYPES
            for k in ("message", "subject", "body")
            if (m := pattern.search(str(s["params"].get(k, ""))))]
