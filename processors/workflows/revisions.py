"""Revisions of an existing workflow: debug (`diagnose`), `modify` and `optimize`.

Every operation is deterministic (rules, no model) and works on the canonical form of the
workflow, `canonical(wf)` = `Workflow.model_validate(wf).model_dump(mode="json")`; every
returned diff is an RFC 6902 patch (made by `jsonpatch.make_patch`) from that canonical form
to the returned workflow, so `jsonpatch.apply_patch(canonical(old), diff) == new`.

Invariants:
- a result is validated with `validate_workflow` before it is returned; an invalid result is
  never a success: `Revision.valid` is False with the validator's errors, `Revision.workflow`
  stays the (canonical) input, `diff` is empty and the rejected attempt is in `attempted`;
  `Diagnosis.fixed_workflow` is None when the automatic fix does not validate;
- a changed workflow has `version` = input version + 1; an unchanged one keeps its version
  and gets an empty diff;
- graph edits keep the DAG wired: a removed step's parents are connected to its children
  (the parent's `when` label is kept), an inserted step takes over the edges of the step it
  is inserted before/after, a condition inserted before a step reaches it on `when: true`;
- a request that is not understood, or is ambiguous, is reported as such (valid False with
  the reason), never guessed at.

Step params these rules add, by convention of the runner: `retry` ({max_attempts, backoff}),
`timeout` (ISO duration) and `throttle` ({max_per_minute}) on sending/integration steps;
`guard` ("sms_consent" / "email_consent") on the consent checks they insert.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import jsonpatch
from pydantic import BaseModel, Field, ValidationError

from processors.analysis.rules import extract_timing
from processors.workflows.interfaces import stable_order, trigger_references
from processors.workflows.validator import MAX_WAIT, parse_duration, validate_workflow
from schemas.workflow_dsl import Step, Workflow

Severity = Literal["error", "warning", "info"]
SEND_TYPES = {"send_sms": "sms", "send_email": "email"}
SPEED_TO_LEAD = timedelta(minutes=5)
_LEAD_EVENT = re.compile(r"^leads?[._]", re.I)


class Issue(BaseModel):
    step_id: str | None = None
    severity: Severity
    problem: str
    suggestion: str
    field: str | None = Field(default=None, description="the trigger field at fault, if any")


class Diagnosis(BaseModel):
    issues: list[Issue] = Field(default_factory=list)
    root_cause: str
    fixed_workflow: dict[str, Any] | None = None
    diff: list[dict[str, Any]] = Field(default_factory=list)
    fixes: list[str] = Field(default_factory=list, description="automatic fixes applied")


class Revision(BaseModel):
    workflow: dict[str, Any]
    diff: list[dict[str, Any]] = Field(default_factory=list)
    summary: list[str] = Field(default_factory=list)
    valid: bool
    errors: list[str] = Field(default_factory=list)
    attempted: dict[str, Any] | None = Field(
        default=None, description="the rejected result when valid is False after an edit")


class _Unclear(Exception):
    """A request part that was recognised but cannot be applied unambiguously."""


def canonical(workflow: Workflow | dict[str, Any]) -> dict[str, Any]:
    """The canonical dict of a workflow (all fields, JSON types): the base of every diff."""
    wf = workflow if isinstance(workflow, Workflow) else Workflow.model_validate(workflow)
    return wf.model_dump(mode="json")


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


# ---------------------------------------------------------------------------- graph editing


class _Draft:
    """A mutable copy of a canonical workflow dict with DAG-preserving edit operations."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.wf = copy.deepcopy(data)

    @property
    def steps(self) -> list[dict[str, Any]]:
        return self.wf["steps"]

    @property
    def conns(self) -> list[dict[str, Any]]:
        return self.wf["connections"]

    def step(self, sid: str) -> dict[str, Any]:
        return next(s for s in self.steps if s["id"] == sid)

    def index(self, sid: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s["id"] == sid)

    def parents(self, sid: str) -> list[dict[str, Any]]:
        return [c for c in self.conns if c["target"] == sid]

    def children(self, sid: str) -> list[dict[str, Any]]:
        return [c for c in self.conns if c["source"] == sid]

    def order(self) -> list[dict[str, Any]]:
        ids = stable_order([s["id"] for s in self.steps],
                           ((c["source"], c["target"]) for c in self.conns))
        return [self.step(i) for i in ids]

    def ancestors(self, sid: str) -> list[str]:
        seen: list[str] = []
        todo = [c["source"] for c in self.parents(sid)]
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.append(node)
                todo.extend(c["source"] for c in self.parents(node))
        return seen

    def referenced(self, sid: str) -> bool:
        """Whether any other step's params reference `{{steps.<sid>.…}}`."""
        pattern = re.compile(r"\{\{\s*steps\." + re.escape(sid) + r"\b")
        return any(pattern.search(str(s["params"])) for s in self.steps if s["id"] != sid)

    def fresh_id(self, base: str) -> str:
        base = re.sub(r"[^a-z0-9_]+", "_", base.lower()).strip("_")[:40] or "step"
        base = base if base[0].isalpha() else f"s_{base}"
        taken = {s["id"] for s in self.steps}
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        return candidate

    def insert_before(self, target: str, step: dict[str, Any], when: str | None) -> None:
        """`step` takes over the incoming edges of `target` (labels kept) and leads to it."""
        for c in self.parents(target):
            c["target"] = step["id"]
        self.steps.insert(self.index(target), step)
        self.conns.append({"source": step["id"], "target": target, "when": when})

    def insert_after(self, anchor: str, step: dict[str, Any]) -> None:
        """`step` takes over the outgoing edges of `anchor` (not a condition) and follows it."""
        for c in self.children(anchor):
            c["source"] = step["id"]
        self.steps.insert(self.index(anchor) + 1, step)
        self.conns.append({"source": anchor, "target": step["id"], "when": None})

    def add_child(self, parent: str, step: dict[str, Any], when: str | None) -> None:
        self.steps.insert(self.index(parent) + 1, step)
        self.conns.append({"source": parent, "target": step["id"], "when": when})

    def remove(self, sid: str) -> None:
        """Remove a step; each parent is connected to each child with the parent's label."""
        outs = [c["target"] for c in self.children(sid)]
        existing = {(c["source"], c["target"]) for c in self.conns}
        rewired: list[dict[str, Any]] = []
        for c in self.conns:
            if c["source"] == sid:
                continue
            if c["target"] != sid:
                rewired.append(c)
                continue
            for child in outs:
                if (c["source"], child) not in existing:
                    existing.add((c["source"], child))
                    rewired.append({"source": c["source"], "target": child, "when": c["when"]})
        self.wf["connections"] = rewired
        del self.steps[self.index(sid)]


def _new_step(sid: str, step_type: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    return Step.model_validate({"id": sid, "type": step_type, "name": name,
                                "params": params}).model_dump(mode="json")


def _finish(original: dict[str, Any], draft: _Draft, summary: list[str]) -> Revision:
    """Validate an edited draft; the Revision of it (version + 1, diff) or of its rejection."""
    new = copy.deepcopy(draft.wf)
    if new == original:
        report = validate_workflow(original)
        return Revision(workflow=original, summary=summary, valid=report.valid,
                        errors=report.errors)
    new["version"] = original["version"] + 1
    report = validate_workflow(new)
    if not report.valid or report.workflow is None:
        return Revision(workflow=original, summary=summary, valid=False,
                        errors=[f"the revised workflow is invalid: {e}" for e in report.errors],
                        attempted=new)
    result = report.workflow.model_dump(mode="json")
    return Revision(workflow=result, diff=jsonpatch.make_patch(original, result).patch,
                    summary=summary, valid=True)


def _load(workflow: Workflow | dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        return canonical(workflow), []
    except ValidationError as exc:
        return None, [f"the input is not a workflow: {e['loc']}: {e['msg']}" for e in exc.errors()]


def _named_steps(draft: _Draft, text: str) -> list[str]:
    """Steps named in `text` by id (as a whole word) or by name (case-insensitive)."""
    low = text.lower()
    named = []
    for s in draft.order():
        by_id = re.search(rf"(?<![a-z0-9_]){re.escape(s['id'])}(?![a-z0-9_])", low)
        if by_id or (s["name"] and s["name"].lower() in low):
            named.append(s["id"])
    return named


# ------------------------------------------------------------------- consent and messaging

_CONSENT = re.compile(r"consent|opt[_ -]?(?:in|out|ed)|unsubscri|\bsubscribed|do_?not_?"
                      r"(?:text|contact|email|call)|\bdnc\b|\bstop\b|suppress", re.I)
_CHANNEL_WORDS = {"sms": re.compile(r"sms|text|phone|mobile|tcpa", re.I),
                  "email": re.compile(r"e-?mail", re.I)}


def _has_guard(draft: _Draft, sid: str, channel: str) -> str | None:
    """The id of a consent check upstream of `sid` that covers `channel`, if any."""
    other = "email" if channel == "sms" else "sms"
    for aid in draft.ancestors(sid):
        s = draft.step(aid)
        if s["type"] != "condition":
            continue
        if s["params"].get("guard") == f"{channel}_consent":
            return aid
        expr = str(s["params"].get("expression", ""))
        if _CONSENT.search(expr) and (_CHANNEL_WORDS[channel].search(expr)
                                      or not _CHANNEL_WORDS[other].search(expr)):
            return aid
    return None


def _add_guard(draft: _Draft, send: dict[str, Any]) -> str:
    """Insert a consent/reachability check before a send step; return its id."""
    channel = SEND_TYPES[send["type"]]
    to = send["params"].get("to", "")
    if channel == "sms":
        expression = f"{{{{trigger.sms_opt_in}}}} == true and is_mobile({to})"
        name = "Has SMS consent and a mobile number"
    else:
        expression = f"{{{{trigger.email_opt_out}}}} != true and is_deliverable({to})"
        name = "Email allowed and deliverable"
    guard = _new_step(draft.fresh_id(f"{send['id']}_consent"), "condition", name,
                      {"expression": expression, "guard": f"{channel}_consent"})
    draft.insert_before(send["id"], guard, "true")
    return guard["id"]


def _trigger_field(draft: _Draft, kind: str, default: str) -> str:
    """A `{{trigger.x}}` reference the workflow already uses for `kind` (email/phone)."""
    for name in trigger_references([s["params"] for s in draft.steps]):
        if kind in name.lower():
            return f"{{{{trigger.{name}}}}}"
    return f"{{{{trigger.{default}}}}}"


def _message_params(draft: _Draft, channel: str, source: dict[str, Any]) -> dict[str, Any]:
    """Params of a `channel` message carrying the same content as the send step `source`."""
    p = source.get("params", {})
    text = p.get("message") or p.get("body") or draft.wf["name"]
    if channel == "sms":
        return {"to": _trigger_field(draft, "phone", "customer_phone"), "message": text[:320]}
    return {"to": _trigger_field(draft, "email", "customer_email"),
            "subject": p.get("subject") or draft.wf["name"], "body": text}


# ------------------------------------------------------------------------------- timing

_ANCHORED = re.compile(r"(?:before|after|prior to|ahead of|following)$", re.I)
_BARE = re.compile(r"\b([a-z0-9-]+)\s+(minutes?|mins?|hours?|hrs?|days?|weeks?|months?|"
                   r"years?)\b", re.I)
_OLD_VALUE = re.compile(r"(?:instead of|rather than|from|not|replacing)\s*$", re.I)


@dataclass
class _Timing:
    phrase: str
    iso: str
    anchored: bool  # relative to a date ("3 days before") rather than a plain delay
    start: int
    end: int
    old: bool = False  # the value being replaced ("instead of 1 day")


def _timings(text: str) -> list[_Timing]:
    found: list[_Timing] = []
    cursor = 0
    for t in extract_timing(text):
        start = text.find(t.phrase, cursor)
        cursor = max(cursor, start + len(t.phrase))
        if t.iso_offset and start >= 0:
            found.append(_Timing(t.phrase, t.iso_offset, bool(_ANCHORED.search(t.phrase)),
                                 start, start + len(t.phrase)))
    for m in _BARE.finditer(text):
        if any(f.start < m.end() and m.start() < f.end for f in found):
            continue
        parsed = extract_timing(f"after {m.group(0)}")
        if parsed and parsed[0].iso_offset:
            found.append(_Timing(m.group(0), parsed[0].iso_offset, False, m.start(), m.end()))
    for f in found:
        f.old = bool(_OLD_VALUE.search(text[:f.start]))
    return sorted(found, key=lambda f: f.start)


def _same(a: Any, b: str) -> bool:
    try:
        return parse_duration(a if a is not None else "PT0S") == parse_duration(b)
    except ValueError:
        return False


def _retime(draft: _Draft, text: str, only: list[str] | None = None) -> list[str] | None:
    """Apply the timing in `text` to the one wait it means; None when `text` has no timing.

    An anchored timing ("5 days before") sets the `offset` of a wait `until` a date; a plain
    one ("2 hours") sets a wait's `duration`. "instead of X" picks the wait currently at X.
    """
    timings = _timings(text)
    new = [t for t in timings if not t.old]
    if not new:
        return None
    if len(new) > 1:
        raise _Unclear("more than one new timing (" + ", ".join(t.phrase for t in new)
                       + "); change one wait at a time")
    t, old = new[0], next((o for o in timings if o.old), None)
    key = "offset" if t.anchored else "duration"
    waits = [s for s in draft.order() if s["type"] == "wait"
             and (only is None or s["id"] in only)
             and ("until" in s["params"] if t.anchored else "duration" in s["params"])]
    if old:
        waits = [s for s in waits if _same(s["params"].get(key), old.iso)]
    named = [s for s in waits if s["id"] in _named_steps(draft, text)]
    waits = named or waits
    kind = "wait until a date" if t.anchored else "wait with a duration"
    if not waits:
        at = f" currently at {old.phrase}" if old else ""
        raise _Unclear(f"no {kind}{at} to change to {t.phrase!r}")
    if len(waits) > 1:
        raise _Unclear(f"{t.phrase!r} could mean any of these waits: "
                       + ", ".join(f"{s['id']} ({key} {s['params'].get(key)})" for s in waits)
                       + "; say which (e.g. 'instead of <current value>' or the step id)")
    wait = waits[0]
    before = wait["params"].get(key)
    if key == "duration":
        delta = parse_duration(t.iso)
        if not timedelta(seconds=1) <= delta <= MAX_WAIT:
            raise _Unclear(f"{t.phrase!r} is outside the 1 second..366 days a wait allows")
    wait["params"][key] = t.iso
    return [f"{wait['id']}: {key} {before or 'none'} -> {t.iso} ({t.phrase})",
            *_stale_wording(draft, before)]


def _stale_wording(draft: _Draft, before: Any) -> list[str]:
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


# ------------------------------------------------------------------------------- diagnose

_OPT_OUT = re.compile(r"\b(?:21610|unsubscribed|opted[- ]?out|opt[- ]?out|(?-i:STOP)|"
                      r"(?:replied|texted|sent|keyword) ['\"]?stop|blacklist\w*|"
                      r"blocked by (?:the )?recipient|do not (?:text|contact))\b", re.I)
_BAD_PHONE = re.compile(r"\b(?:21211|21614|21612|30003|30005|30006|invalid (?:phone|mobile|"
                        r"number|'to'|to number|recipient number|destination)|not a (?:valid )?"
                        r"mobile|landline|unreachable (?:number|handset|destination))", re.I)
_RATE_LIMIT = re.compile(r"\b(?:429|20429|14107|30001|rate[- ]?limit\w*|too many requests|"
                         r"throttl\w*|queue overflow)\b", re.I)
_BOUNCE = re.compile(r"\b(?:bounce[sd]?|hard bounce|soft bounce|mailbox (?:unavailable|full|"
                     r"not found|does not exist)|550|5\.1\.1|undeliverable|invalid (?:e-?mail|"
                     r"recipient address)|no such user)\b", re.I)
_MISSING_VAR = re.compile(r"(?:missing|undefined|unknown|not provided|no value|not found|"
                          r"unresolved|KeyError|empty)\b.{0,60}?(?:variable|field|placeholder|"
                          r"key|template|merge tag)|(?:variable|field|placeholder|template|"
                          r"merge tag)\b.{0,60}?(?:missing|undefined|not provided|not found|"
                          r"unresolved|empty)|KeyError", re.I | re.S)
_TIMEOUT = re.compile(r"\b(?:time[sd]?[- ]?out|timed out|ETIMEDOUT|ECONNRESET|502|503|504|"
                      r"gateway time-?out|deadline exceeded|connection (?:reset|refused))\b",
                      re.I)
_WAIT_OFF = re.compile(r"\b(?:too (?:long|late|slow|early|soon|short|quick)|arrived? (?:late|"
                       r"early)|(?:wait(?:ed|s)?|delay) (?:too|forever)|after the appointment|"
                       r"already (?:passed|happened|came))", re.I)
_EMAIL_WORDS = re.compile(r"e-?mail|sendgrid|mailgun|smtp|ses\b|postmark|inbox", re.I)
_SMS_WORDS = re.compile(r"sms|text|twilio|carrier|bandwidth|telnyx|\bmms\b|phone", re.I)


@dataclass
class _Findings:
    draft: _Draft
    context: str
    named: list[str]
    issues: list[Issue] = field(default_factory=list)
    causes: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)

    def targets(self, types: tuple[str, ...]) -> list[dict[str, Any]]:
        """Steps of `types` the context names, else all steps of `types`, in run order."""
        steps = [s for s in self.draft.order() if s["type"] in types]
        named = [s for s in steps if s["id"] in self.named]
        return named or steps


def _rule_sms_recipient(f: _Findings) -> None:
    opt_out, bad_phone = _OPT_OUT.search(f.context), _BAD_PHONE.search(f.context)
    if not (opt_out or bad_phone):
        return
    what = "opted out of texts (STOP/unsubscribed)" if opt_out else "has no valid mobile number"
    f.causes.append(f"the SMS recipient {what}: the carrier/gateway refuses the message, and "
                    "texting an opted-out customer breaks TCPA consent rules")
    sends = f.targets(("send_sms",))
    if not sends:
        f.issues.append(Issue(severity="warning", problem=f"an SMS recipient {what}, but the "
                              "workflow sends no texts", suggestion="check which workflow sent "
                              "the message"))
    for send in sends:
        existing = _has_guard(f.draft, send["id"], "sms")
        if existing:
            f.issues.append(Issue(step_id=send["id"], severity="warning", problem=f"the "
                                  f"recipient {what} although consent check {existing} runs "
                                  "first", suggestion="check the consent/phone data that check "
                                  "reads (CRM opt-out sync)"))
            continue
        guard = _add_guard(f.draft, send)
        f.issues.append(Issue(step_id=send["id"], severity="error", problem=f"{send['id']} "
                              "texts the customer without checking SMS consent or the number",
                              suggestion=f"check consent and a mobile number first (added "
                              f"condition {guard}; runs without consent stop there)"))
        f.fixes.append(f"added consent check {guard} before {send['id']}")


_INTEGRATIONS = ("send_sms", "send_email", "webhook", "update_crm")


def _integration_steps(f: _Findings, types: tuple[str, ...]) -> list[dict[str, Any]]:
    """Sending/integration steps the context names; else those of `types` (by keywords)."""
    named = [s for s in f.draft.order() if s["id"] in f.named and s["type"] in _INTEGRATIONS]
    steps = named or f.targets(types)
    if not steps:
        f.issues.append(Issue(severity="warning", problem="the error points at a "
                              f"{'/'.join(types)} step, but the workflow has none",
                              suggestion="check which workflow the error came from"))
    return steps


def _rule_rate_limit(f: _Findings) -> None:
    if not _RATE_LIMIT.search(f.context):
        return
    ctx = f.context
    if _SMS_WORDS.search(ctx):
        types: tuple[str, ...] = ("send_sms",)
    elif _EMAIL_WORDS.search(ctx):
        types = ("send_email",)
    elif re.search(r"\bcrm\b", ctx, re.I):
        types = ("update_crm",)
    elif re.search(r"webhook|endpoint|http", ctx, re.I):
        types = ("webhook",)
    else:
        types = _INTEGRATIONS
    f.causes.append("the provider rate-limited the workflow (HTTP 429 / too many requests): "
                    "runs started together send in a burst")
    for step in _integration_steps(f, types):
        p = step["params"]
        current = (p.get("throttle") or {}).get("max_per_minute")
        limit = max(1, current // 2) if isinstance(current, int) else 30
        p["throttle"] = {"max_per_minute": limit}
        p["retry"] = {"max_attempts": max(3, (p.get("retry") or {}).get("max_attempts", 0)),
                      "backoff": "PT1M"}
        f.issues.append(Issue(step_id=step["id"], severity="error", problem=f"{step['id']} "
                              "exceeded the provider's rate limit", suggestion="throttle the "
                              f"step to {limit}/minute and retry 429s with a 1 minute backoff "
                              "(or spread runs with a longer wait before it)"))
        f.fixes.append(f"{step['id']}: throttle {limit}/minute, retry 429 with backoff PT1M")


def _rule_bounce(f: _Findings) -> None:
    if not _BOUNCE.search(f.context):
        return
    f.causes.append("the email bounced: the address is invalid or the mailbox refuses mail")
    for send in f.targets(("send_email",)):
        existing = _has_guard(f.draft, send["id"], "email")
        if existing:
            f.issues.append(Issue(step_id=send["id"], severity="warning", problem="email "
                                  f"bounced although check {existing} runs first",
                                  suggestion="mark bounced addresses in the CRM so the check "
                                  "skips them"))
            continue
        guard = _add_guard(f.draft, send)
        f.issues.append(Issue(step_id=send["id"], severity="error", problem=f"{send['id']} "
                              "emails addresses without checking they are deliverable",
                              suggestion=f"check the address first (added condition {guard}) "
                              "and record hard bounces in the CRM (update_crm)"))
        f.fixes.append(f"added deliverability check {guard} before {send['id']}")


def _rule_missing_variable(f: _Findings) -> None:
    if not _MISSING_VAR.search(f.context):
        return
    used: dict[str, list[str]] = {}
    for s in f.draft.order():
        for name in trigger_references(s["params"]):
            used.setdefault(name, []).append(s["id"])
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", f.context))
    missing = [n for n in used if n in words]
    event = f.draft.wf["trigger"].get("event") or f.draft.wf["trigger"].get("path") or "trigger"
    if not missing:
        f.issues.append(Issue(severity="warning", problem="a template variable was missing, "
                              "but the error names none of the trigger fields the workflow "
                              f"uses ({', '.join(used) or 'none'})", suggestion="include the "
                              "variable name in the error context"))
        return
    for name in missing:
        f.causes.append(f"the {event} payload does not provide `{name}`, which the workflow's "
                        "templates use")
        for sid in used[name]:
            f.issues.append(Issue(step_id=sid, severity="error", field=name,
                                  problem=f"{sid} uses {{{{trigger.{name}}}}}, which the "
                                  f"{event} payload did not provide",
                                  suggestion=f"add `{name}` to the {event} payload, filter out "
                                  "runs without it (trigger.filters), or change the template"))


def _rule_timeout(f: _Findings) -> None:
    if not _TIMEOUT.search(f.context):
        return
    if re.search(r"\bcrm\b|dms|salesforce|dealersocket|vinsolutions|elead", f.context, re.I):
        types: tuple[str, ...] = ("update_crm",)
    elif re.search(r"webhook|endpoint|http|url", f.context, re.I):
        types = ("webhook",)
    else:
        types = ("webhook", "update_crm")
    steps = _integration_steps(f, types)
    f.causes.append("an integration call timed out (the CRM/webhook endpoint was slow or down)")
    for step in steps:
        p = step["params"]
        attempts = (p.get("retry") or {}).get("max_attempts", 0)
        if attempts >= 3 and "timeout" in p:
            f.issues.append(Issue(step_id=step["id"], severity="warning", problem=f"{step['id']}"
                                  f" timed out despite {attempts} retries", suggestion="raise "
                                  "its timeout or check the endpoint's health"))
            continue
        p["retry"] = {"max_attempts": max(3, attempts), "backoff": "PT30S"}
        p.setdefault("timeout", "PT30S")
        f.issues.append(Issue(step_id=step["id"], severity="error", problem=f"{step['id']} "
                              "timed out and is not retried", suggestion="retry it (3 attempts, "
                              "30 s backoff) with an explicit timeout"))
        f.fixes.append(f"{step['id']}: retry 3x with backoff PT30S, timeout {p['timeout']}")


def _rule_wait_timing(f: _Findings) -> None:
    if not _WAIT_OFF.search(f.context):
        return
    waits = f.targets(("wait",))
    f.causes.append("a wait's timing does not fit the customer's timeline")
    try:
        changed = _retime(f.draft, f.context, [w["id"] for w in waits])
    except _Unclear as exc:
        changed = None
        f.issues.append(Issue(severity="warning", problem=f"the timing in the error context "
                              f"cannot be applied: {exc}", suggestion="name the wait step"))
    if changed:
        wait_id = changed[0].split(":", 1)[0]
        f.issues.append(Issue(step_id=wait_id, severity="error", problem=f"{wait_id} is timed "
                              "wrong for the customer", suggestion=f"retimed: {changed[0]}"))
        f.fixes.extend(changed)
        return
    late = re.search(r"late|long|slow|after the appointment|already", f.context, re.I)
    for w in waits:
        f.issues.append(Issue(step_id=w["id"], severity="warning", problem=f"{w['id']} waits "
                              f"{'too long' if late else 'too little'} ({w['params']})",
                              suggestion=("shorten it / move its offset earlier" if late else
                                          "lengthen it / move its offset later")
                              + "; say the new timing, e.g. '2 days before'"))


_RULES = (_rule_sms_recipient, _rule_rate_limit, _rule_bounce, _rule_missing_variable,
          _rule_timeout, _rule_wait_timing)
_ERROR_STEP = re.compile(r"^(?:step|connection) ([a-z][a-z0-9_]*)")


def diagnose(workflow: Workflow | dict[str, Any], error_context: str) -> Diagnosis:
    """Issues, a root cause and, where a rule has an automatic fix, a fixed workflow + diff.

    The validator's errors become issues; then pattern rules read `error_context` (SMS
    opt-out / invalid number, rate limits, email bounces, missing template variables,
    integration timeouts, wait timing) and, when a step is named in it by id or name, aim
    at that step. `fixed_workflow` is set only when a fix applied and the result validates
    (version + 1, `diff` from `canonical(workflow)`).
    """
    report = validate_workflow(workflow)
    issues = [Issue(step_id=(m[1] if (m := _ERROR_STEP.match(e)) else None), severity="error",
                    problem=e, suggestion="fix the workflow definition so it validates")
              for e in report.errors]
    if report.workflow is None:
        return Diagnosis(issues=issues, root_cause="the workflow does not match the DSL: "
                         + (report.errors[0] if report.errors else "unknown"))
    original = report.workflow.model_dump(mode="json")
    draft = _Draft(original)
    f = _Findings(draft, error_context, _named_steps(draft, error_context), issues)
    for rule in _RULES:
        rule(f)
    covered = {i.step_id for i in f.issues}
    for sid in f.named:
        if sid not in covered:
            f.issues.append(Issue(step_id=sid, severity="warning", problem=f"the error names "
                                  f"step {sid} ({draft.step(sid)['type']})", suggestion="no "
                                  "automatic fix for this failure; check the step's params"))
    if f.causes:
        root = f.causes[0]
    elif report.errors:
        root = f"the workflow is invalid: {report.errors[0]}"
    elif f.named:
        root = f"the failure is at step {f.named[0]}; no known failure pattern matched"
    else:
        root = "no known failure pattern matched the error context"
    diagnosis = Diagnosis(issues=f.issues, root_cause=root)
    if f.fixes:
        revision = _finish(original, draft, f.fixes)
        if revision.valid and revision.diff:
            diagnosis.fixed_workflow, diagnosis.diff = revision.workflow, revision.diff
            diagnosis.fixes = f.fixes
        else:
            diagnosis.issues.append(Issue(severity="error", problem="the automatic fix does not "
                                          "validate: " + "; ".join(revision.errors),
                                          suggestion="fix the workflow's own errors first"))
    return diagnosis


# --------------------------------------------------------------------------------- modify

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


def _change_message(draft: _Draft, text: str) -> tuple[str, list[str] | None]:
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
    named = [s for s in steps if s["id"] in _named_steps(draft, text[:m.start("new")])]
    steps = named or steps
    if not steps:
        raise _Unclear(f"there is no {step_type} step whose {key} could be changed")
    if len(steps) > 1:
        raise _Unclear(f"which {step_type} step's {key}? " + ", ".join(s["id"] for s in steps))
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


def _notify_staff(draft: _Draft, text: str) -> tuple[str, list[str] | None]:
    m = _NOTIFY.search(text)
    if not m or not _STAFF.search(m["role"]):
        return text, None
    role = re.sub(r"[^a-z0-9]+", "_", m["role"].lower()).strip("_")
    clause = (m["cond"] or "").strip().rstrip(".")
    sid = draft.fresh_id(f"notify_{role}")
    message = f"{draft.wf['name']}: {clause}" if clause else f"{draft.wf['name']}: run started"
    step = _new_step(sid, "notify_staff", f"Notify {m['role'].strip()}",
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
        raise _Unclear(f"could not tie {clause!r} to a condition in the workflow (conditions: "
                       + (", ".join(s["id"] for _, s in scored) or "none") + ")")
    if len(matches) > 1:
        raise _Unclear(f"{clause!r} could mean any of the conditions "
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


def _remove_channel(draft: _Draft, channel: str, keep: list[str]) -> list[str]:
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
            s["params"] = _message_params(draft, replacement, s)
            s["type"] = new_type
            summary.append(f"{s['id']}: now sends {replacement} instead of {channel}")
        else:
            draft.remove(s["id"])
            summary.append(f"removed {s['id']} ({step_type}); its parents now lead to its "
                           "children")
    return summary


def _add_channel(draft: _Draft, channel: str) -> list[str]:
    order = draft.order()
    sends = [s for s in order if s["type"] in SEND_TYPES]
    others = [s for s in sends if SEND_TYPES[s["type"]] != channel]
    anchor = (others or sends or [s for s in order if s["type"] != "condition"] or [None])[-1]
    if anchor is None:
        raise _Unclear(f"no step to add the {channel} after")
    step_type = next(t for t, c in SEND_TYPES.items() if c == channel)
    sid = draft.fresh_id(f"{anchor['id']}_{channel}")
    step = _new_step(sid, step_type, f"{channel.upper() if channel == 'sms' else 'Email'} "
                     f"copy of {anchor['name'] or anchor['id']}",
                     _message_params(draft, channel, anchor))
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
    original, errors = _load(workflow)
    if original is None:
        return Revision(workflow=workflow if isinstance(workflow, dict) else {}, valid=False,
                        errors=errors)
    draft = _Draft(original)
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
        if add and _timings(text):
            raise _Unclear("a separate timing for the new message is not supported: add the "
                           "channel first, then change its timing")
        for channel in add:
            summary += _add_channel(draft, channel)
        summary += _retime(draft, text) or []
    except _Unclear as exc:
        return Revision(workflow=original, valid=False,
                        errors=[f"could not apply {change_request!r}: {exc}"])
    if not summary:
        return Revision(workflow=original, valid=False, errors=[
            f"could not understand the change request {change_request!r}: it names no "
            "timing, channel, message or staff-notification change (e.g. 'make it 5 days "
            "before instead', 'also email them', 'only email, no texts', 'change the text to "
            "say ...', 'notify the service manager if they don't confirm')"])
    revision = _finish(original, draft, summary)
    if revision.valid and not revision.diff:
        revision.summary = [f"no change: {line}" for line in summary]
    return revision


# ------------------------------------------------------------------------------- optimize


def _dedupe_sends(draft: _Draft) -> list[str]:
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


def _merge_waits(draft: _Draft) -> list[str]:
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


def _speed_to_lead(draft: _Draft) -> list[str]:
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


def _consent_checks(draft: _Draft) -> list[str]:
    summary = []
    for s in list(draft.order()):
        if s["type"] in SEND_TYPES and not _has_guard(draft, s["id"], SEND_TYPES[s["type"]]):
            guard = _add_guard(draft, s)
            summary.append(f"added consent check {guard} before {s['id']} "
                           f"({SEND_TYPES[s['type']]} opt-out)")
    return summary


def _log_outcome(draft: _Draft) -> list[str]:
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
        draft.add_child(leaf["id"], _new_step(sid, "update_crm", "Log the outcome in the CRM", {
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
    original, errors = _load(workflow)
    if original is None:
        return Revision(workflow=workflow if isinstance(workflow, dict) else {}, valid=False,
                        errors=errors)
    draft = _Draft(original)
    summary: list[str] = []
    for improve in (_dedupe_sends, _merge_waits, _speed_to_lead, _consent_checks, _log_outcome):
        summary += improve(draft)
    if not summary:
        report = validate_workflow(original)
        return Revision(workflow=original, valid=report.valid, errors=report.errors,
                        summary=["no change: no duplicate sends, mergeable waits, slow "
                                 "lead response, unchecked sends or unlogged outcomes found"])
    return _finish(original, draft, summary)
