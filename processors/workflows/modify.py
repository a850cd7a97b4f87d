"""`modify`: apply a manager's change request to an existing workflow with deterministic rules.

Invariant: a request that is not understood, or is ambiguous, is reported as such (valid
False with the reason, the workflow unchanged), never guessed at. An understood request is
applied through `finish` (validated, version + 1, diff from `canonical(workflow)`).
"""

from __future__ import annotations

import re
from typing import Any

from processors.workflows.graph_edits import Draft, named_steps, new_step
from processors.workflows.revision_models import Revision, Unclear, finish, load_canonical
from processors.workflows.sends import SEND_TYPES, message_params
from processors.workflows.wait_timing import retime, timing_phrases
from schemas.workflow_dsl import Workflow

_CH = {"sms": r"(?:sms(?:es)?|texts?|texting|text messages?)",
       "email": r"(?:e-?mails?|e-?mailing)"}
_NEGATED = {c: re.compile(rf"\b(?:don't|dont|do not|no|not|never|stop|without|remove|drop|"
                          rf"skip|no more|instead of)\s+(?:\w+\s+){{0,2}}?{p}\b", re.I)
            for c, p in _CH.items()}
_ONLY = {c: re.compile(rf"\bonly\s+(?:\w+\s+){{0,2}}?{p}\b|\b{p}\s+only\b", re.I)
         for c, p in _CH.items()}
_ALSO = {c: re.compile(rf"\b(?:also|add|plus|additionally)\s+(?:\w+\s+){{0,3}}?{p}\b|"
                       rf"\b{p}\b(?:\s+\w+){{0,3}}?\s+(?:too|as well|also)\b", re.I)
         for c, p in _CH.items()}
_MESSAGE = re.compile(r"\b(?:change|update|set|make|reword|rewrite|edit)\s+(?:the\s+)?"
                      r"(?P<what>text message|text|sms message|sms|message|email subject|"
                      r"subject line|subject|email body|email|body)\s+(?:message\s+)?"
                      r"(?:to\s+say|to\s+read|so\s+it\s+says|to|say|says|read)\s*:?\s*"
                      r"(?P<new>\S.*)$", re.I | re.S)
_NOTIFY = re.compile(r"\b(?:notify|alert|tell|ping|page|let)\s+(?:the\s+|our\s+|a\s+)?"
                     r"(?P<role>[a-z][a-z &/-]*?)(?:\s+know)?"
                     r"(?:\s+(?P<cond>(?:if|when|whenever|in case|once|as soon as)\b.*))?$",
                     re.I | re.S)
_STAFF = re.compile(r"\b(?:manager|advisor|adviser|bdc|staff|team|desk|department|rep|"
                    r"salesperson|technician|director|gm|owner|writer|coordinator|"
                    r"receptionist|dispatcher|porter)s?\b", re.I)
_NEGATIVE = re.compile(r"\b(?:not|no|never|without|don't|doesn't|didn't|won't|hasn't|haven't|"
                       r"isn't|aren't|can't|fails? to|unconfirmed|cancel\w*)\b", re.I)
_STOP = {"they", "them", "their", "the", "customer", "customers", "does", "doesn't", "don't",
         "didn't", "not", "when", "have", "has", "with", "after", "within", "that", "this"}


def _strip_quotes(text: str) -> str:
    text = text.strip().rstrip(".").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'`":
        return text[1:-1]
    return text


def _change_message(draft: Draft, text: str) -> tuple[str, list[str] | None]:
    m = _MESSAGE.search(text)
    if not m:
        return text, None
    what, new = m["what"].lower(), _strip_quotes(m["new"])
    has_sms = any(s["type"] == "send_sms" for s in draft.steps)
    if "subject" in what:
        step_type, key = "send_email", "subject"
    elif what in ("email", "email body", "body") or (what == "message" and not has_sms):
        step_type, key = "send_email", "body"
    else:
        step_type, key = "send_sms", "message"
    steps = [s for s in draft.order() if s["type"] == step_type]
    named = [s for s in steps if s["id"] in named_steps(draft, text[:m.start("new")])]
    steps = named or steps
    if not steps:
        raise Unclear(f"there is no {step_type} step whose {key} could be changed")
    if len(steps) > 1:
        raise Unclear(f"which {step_type} step's {key}? " + ", ".join(s["id"] for s in steps))
    steps[0]["params"][key] = new
    return text[:m.start()], [f"{steps[0]['id']}: {key} changed to {new!r}"]


def _polarity_negative(expression: str) -> bool:
    m = re.search(r"(==|!=)\s*['\"]?([A-Za-z0-9_]+)", expression)
    if not m:
        return bool(re.search(r"\bnot\b|!", expression))
    falsy = m[2].lower() in ("false", "no", "0", "none", "null")
    return (m[1] == "!=") != falsy


def _stems(text: str) -> set[str]:
    return {w[:6] for w in re.findall(r"[a-z']+", text.lower()) if len(w) >= 4 and w not in _STOP}


def _notify_staff(draft: Draft, text: str) -> tuple[str, list[str] | None]:
    m = _NOTIFY.search(text)
    if not m or not _STAFF.search(m["role"]):
        return text, None
    role = re.sub(r"[^a-z0-9]+", "_", m["role"].lower()).strip("_")
    clause = (m["cond"] or "").strip().rstrip(".")
    sid = draft.fresh_id(f"notify_{role}")
    message = f"{draft.wf['name']}: {clause}" if clause else f"{draft.wf['name']}: run started"
    step = new_step(sid, "notify_staff", f"Notify {m['role'].strip()}",
                    {"role": role, "message": message})
    if not clause:
        entry = draft.order()[0]["id"]
        draft.insert_before(entry, step, None)
        return text[:m.start()], [f"added {sid}: notify {role} when a run starts"]
    condition_text = re.sub(r"^(?:if|when|whenever|in case|once|as soon as)\s+", "", clause,
                            flags=re.I)
    wanted = _stems(condition_text)
    scored = []
    for s in draft.order():
        if s["type"] == "condition":
            own = _stems(" ".join([s["id"].replace("_", " "), s["name"],
                                   re.sub(r"[{}._]", " ", str(s["params"].get("expression")))]))
            scored.append((len(wanted & own), s))
    best = max((n for n, _ in scored), default=0)
    matches = [s for n, s in scored if n == best and n > 0]
    if not matches:
        raise Unclear(f"could not tie {clause!r} to a condition in the workflow (conditions: "
                      + (", ".join(s["id"] for _, s in scored) or "none") + ")")
    if len(matches) > 1:
        raise Unclear(f"{clause!r} could mean any of the conditions "
                      + ", ".join(s["id"] for s in matches))
    cond = matches[0]
    same = bool(_NEGATIVE.search(condition_text)) == _polarity_negative(
        str(cond["params"].get("expression", "")))
    branch = "true" if same else "false"
    draft.add_child(cond["id"], step, branch)
    return text[:m.start()], [f"added {sid}: notify {role} on the {branch} branch of "
                              f"{cond['id']} ({clause})"]


def _channels(text: str) -> tuple[list[str], list[str]]:
    """(channels to remove, channels to add) named in `text`."""
    only = [c for c in _CH if _ONLY[c].search(text)]
    negated = [c for c in _CH if _NEGATED[c].search(text)]
    remove = [c for c in _CH if c not in only and (c in negated or (only and c not in only))]
    add = [c for c in _CH if c not in remove and _ALSO[c].search(text)]
    return remove, add


def _remove_channel(draft: Draft, channel: str, keep: list[str]) -> list[str]:
    step_type = next(t for t, c in SEND_TYPES.items() if c == channel)
    sends = [s for s in draft.order() if s["type"] == step_type]
    if not sends:
        return [f"no {step_type} steps to remove"]
    replacement = next((c for c in keep if not any(SEND_TYPES.get(s["type"]) == c
                                                   for s in draft.steps)), None)
    summary = []
    for s in sends:
        if replacement:
            new_type = next(t for t, c in SEND_TYPES.items() if c == replacement)
            s["params"] = message_params(draft, replacement, s)
            s["type"] = new_type
            summary.append(f"{s['id']}: now sends {replacement} instead of {channel}")
        else:
            draft.remove(s["id"])
            summary.append(f"removed {s['id']} ({step_type}); its parents now lead to its "
                           "children")
    return summary


def _add_channel(draft: Draft, channel: str) -> list[str]:
    order = draft.order()
    sends = [s for s in order if s["type"] in SEND_TYPES]
    others = [s for s in sends if SEND_TYPES[s["type"]] != channel]
    candidates = others or sends or [s for s in order if s["type"] != "condition"]
    if not candidates:
        raise Unclear(f"no step to add the {channel} after")
    anchor = candidates[-1]
    step_type = next(t for t, c in SEND_TYPES.items() if c == channel)
    sid = draft.fresh_id(f"{anchor['id']}_{channel}")
    step = new_step(sid, step_type, f"{channel.upper() if channel == 'sms' else 'Email'} "
                    f"copy of {anchor['name'] or anchor['id']}",
                    message_params(draft, channel, anchor))
    draft.insert_after(anchor["id"], step)
    return [f"added {sid} ({step_type}) after {anchor['id']}"]


def modify(workflow: Workflow | dict[str, Any], change_request: str) -> Revision:
    """Apply a manager's change request with deterministic rules.

    Understood: a message change ("change the text to say ..."), a staff notification
    ("notify the service manager if they don't confirm" -> notify_staff on the matching
    condition branch), removing a channel ("don't text, only email" -> send_sms removed and
    rewired, or converted to email when the workflow has no email), adding a channel ("also
    email them" -> a send_email after the last send of another channel), and a timing change
    ("make it 5 days before instead", "wait 2 hours instead of 1 day"). Anything else, or an
    ambiguous part, gives valid=False with the reason and the workflow unchanged.
    """
    original, errors = load_canonical(workflow)
    if original is None:
        return Revision(workflow=workflow if isinstance(workflow, dict) else {}, valid=False,
                        errors=errors)
    draft = Draft(original)
    text = change_request.replace("\u2019", "'").strip()
    summary: list[str] = []
    try:
        text, done = _change_message(draft, text)
        summary += done or []
        text, done = _notify_staff(draft, text)
        summary += done or []
        remove, add = _channels(text)
        only = [c for c in _CH if _ONLY[c].search(text)]
        for channel in remove:
            summary += _remove_channel(draft, channel, only)
        if add and timing_phrases(text):
            raise Unclear("a separate timing for the new message is not supported: add the "
                          "channel first, then change its timing")
        for channel in add:
            summary += _add_channel(draft, channel)
        summary += retime(draft, text) or []
    except Unclear as exc:
        return Revision(workflow=original, valid=False,
                        errors=[f"could not apply {change_request!r}: {exc}"])
    if not summary:
        return Revision(workflow=original, valid=False, errors=[
            f"could not understand the change request {change_request!r}: it names no "
            "timing, channel, message or staff-notification change (e.g. 'make it 5 days "
            "before instead', 'also email them', 'only email, no texts', 'change the text to "
            "say ...', 'notify the service manager if they don't confirm')"])
    revision = finish(original, draft.wf, summary)
    if revision.valid and not revision.diff:
        revision.summary = [f"no change: {line}" for line in summary]
    return revision
