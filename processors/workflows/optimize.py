"""`optimize`: deterministic improvements of an existing workflow, each listed in the summary.

The improved workflow is made by `finish` (validated, version + 1, diff from
`canonical(workflow)`); when no improvement applies the workflow is returned unchanged with an
empty diff.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from processors.workflows.graph_edits import Draft, new_step
from processors.workflows.interfaces import trigger_references
from processors.workflows.revision_models import Revision, finish, load_canonical
from processors.workflows.sends import SEND_TYPES, add_guard, has_guard
from processors.workflows.validator import MAX_WAIT, parse_duration, validate_workflow
from processors.workflows.wait_timing import iso_duration
from schemas.workflow_dsl import Workflow

SPEED_TO_LEAD = timedelta(minutes=5)
_LEAD_EVENT = re.compile(r"^leads?[._]", re.I)


def _dedupe_sends(draft: Draft) -> list[str]:
    summary = []
    for s in list(draft.order()):
        if s["type"] not in SEND_TYPES or draft.referenced(s["id"]):
            continue
        twin = next((a for a in draft.ancestors(s["id"]) if draft.step(a)["type"] == s["type"]
                     and draft.step(a)["params"] == s["params"]), None)
        if twin:
            draft.remove(s["id"])
            summary.append(f"removed duplicate send {s['id']} (same message as {twin})")
    return summary


def _merge_waits(draft: Draft) -> list[str]:
    summary = []
    changed = True
    while changed:
        changed = False
        for a in draft.order():
            outs = draft.children(a["id"])
            if a["type"] != "wait" or len(outs) != 1:
                continue
            b = draft.step(outs[0]["target"])
            pa, pb = a["params"], b["params"]
            if (b["type"] != "wait" or len(draft.parents(b["id"])) != 1
                    or set(pb) != {"duration"} or draft.referenced(b["id"])):
                continue
            try:
                extra = parse_duration(pb["duration"])
                if set(pa) == {"duration"}:
                    key, total = "duration", parse_duration(pa["duration"]) + extra
                elif "until" in pa and "duration" not in pa:
                    key, total = "offset", parse_duration(pa.get("offset", "PT0S")) + extra
                else:
                    continue
            except ValueError:
                continue
            if abs(total) > MAX_WAIT:
                continue
            before = pa.get(key)
            pa[key] = iso_duration(total)
            draft.remove(b["id"])
            summary.append(f"merged consecutive waits {a['id']} + {b['id']}: {key} "
                           f"{before or 'none'} -> {pa[key]}")
            changed = True
            break
    return summary


def _speed_to_lead(draft: Draft) -> list[str]:
    trigger = draft.wf["trigger"]
    if trigger["type"] != "event" or not _LEAD_EVENT.match(trigger.get("event") or ""):
        return []
    summary = []
    firsts = [s for s in draft.order() if s["type"] in SEND_TYPES
              and not any(draft.step(a)["type"] in SEND_TYPES
                          for a in draft.ancestors(s["id"]))]
    done: set[str] = set()
    for send in firsts:
        for aid in draft.ancestors(send["id"]):
            w = draft.step(aid)
            if w["type"] != "wait" or aid in done or "duration" not in w["params"]:
                continue
            try:
                too_long = parse_duration(w["params"]["duration"]) > SPEED_TO_LEAD
            except ValueError:
                continue
            if too_long:
                done.add(aid)
                summary.append(f"speed to lead: {aid} before the first message {send['id']} "
                               f"shortened {w['params']['duration']} -> PT5M")
                w["params"]["duration"] = "PT5M"
    return summary


def _consent_checks(draft: Draft) -> list[str]:
    summary = []
    for s in list(draft.order()):
        if s["type"] in SEND_TYPES and not has_guard(draft, s["id"], SEND_TYPES[s["type"]]):
            guard = add_guard(draft, s)
            summary.append(f"added consent check {guard} before {s['id']} "
                           f"({SEND_TYPES[s['type']]} opt-out)")
    return summary


def _log_outcome(draft: Draft) -> list[str]:
    refs = trigger_references([s["params"] for s in draft.steps])
    preferred = ("lead_id", "customer_id") if draft.wf["domain"] == "sales" else (
        "customer_id", "lead_id")
    record = next((r for r in (*preferred, "contact_id", "deal_id") if r in refs),
                  next((r for r in refs if r.endswith("_id")), preferred[0]))
    summary = []
    for leaf in list(draft.order()):
        if (draft.children(leaf["id"]) or leaf["type"] in ("update_crm", "condition")
                or any(draft.step(a)["type"] == "update_crm"
                       for a in draft.ancestors(leaf["id"]))):
            continue
        sid = draft.fresh_id("log_outcome")
        draft.add_child(leaf["id"], new_step(sid, "update_crm", "Log the outcome in the CRM", {
            "record": f"{{{{trigger.{record}}}}}",
            "fields": {"workflow_id": draft.wf["id"], "outcome": f"completed after {leaf['id']}"},
        }), None)
        summary.append(f"added {sid} (update_crm) after {leaf['id']} to log the outcome")
    return summary


def optimize(workflow: Workflow | dict[str, Any]) -> Revision:
    """Deterministic improvements, each listed in `summary`, applied in this order:
    duplicate sends (same type and params, one upstream of the other) removed; consecutive
    plain waits merged; for `lead.*` event triggers, waits over 5 minutes before the first
    message shortened to PT5M (speed to lead); a consent check added before every send
    without one upstream; an update_crm logging the outcome added after every leaf with no
    update_crm on its path. None applying: the same workflow, summary ["no change: ..."],
    empty diff.
    """
    original, errors = load_canonical(workflow)
    if original is None:
        return Revision(workflow=workflow if isinstance(workflow, dict) else {}, valid=False,
                        errors=errors)
    draft = Draft(original)
    summary: list[str] = []
    for improve in (_dedupe_sends, _merge_waits, _speed_to_lead, _consent_checks, _log_outcome):
        summary += improve(draft)
    if not summary:
        report = validate_workflow(original)
        return Revision(workflow=original, valid=report.valid, errors=report.errors,
                        summary=["no change: no duplicate sends, mergeable waits, slow "
                                 "lead response, unchecked sends or unlogged outcomes found"])
    return finish(original, draft.wf, summary)
