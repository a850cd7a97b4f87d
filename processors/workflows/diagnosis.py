"""Debug of an existing workflow: `diagnose` reads an error context and finds issues, a root
cause and, where a rule has an automatic fix, a fixed workflow + diff.

Invariant: `Diagnosis.fixed_workflow` is None (and `diff` empty) when the automatic fix does
not validate; the fix is made by `finish`, so it is validated, one version up and its diff is
from `canonical(workflow)`.

Step params these rules add, by convention of the runner: `retry` ({max_attempts, backoff}),
`timeout` (ISO duration) and `throttle` ({max_per_minute}) on sending/integration steps; the
consent checks they insert carry `guard` (see `sends`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from processors.workflows.graph_edits import Draft, named_steps
from processors.workflows.interfaces import trigger_references
from processors.workflows.revision_models import Diagnosis, Issue, Unclear, finish
from processors.workflows.sends import add_guard, has_guard
from processors.workflows.validator import validate_workflow
from processors.workflows.wait_timing import retime
from schemas.workflow_dsl import Workflow

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
    draft: Draft
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
        existing = has_guard(f.draft, send["id"], "sms")
        if existing:
            f.issues.append(Issue(step_id=send["id"], severity="warning", problem=f"the "
                                  f"recipient {what} although consent check {existing} runs "
                                  "first", suggestion="check the consent/phone data that check "
                                  "reads (CRM opt-out sync)"))
            continue
        guard = add_guard(f.draft, send)
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
        existing = has_guard(f.draft, send["id"], "email")
        if existing:
            f.issues.append(Issue(step_id=send["id"], severity="warning", problem="email "
                                  f"bounced although check {existing} runs first",
                                  suggestion="mark bounced addresses in the CRM so the check "
                                  "skips them"))
            continue
        guard = add_guard(f.draft, send)
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
        changed = retime(f.draft, f.context, [w["id"] for w in waits])
    except Unclear as exc:
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
    draft = Draft(original)
    f = _Findings(draft, error_context, named_steps(draft, error_context), issues)
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
        revision = finish(original, draft.wf, f.fixes)
        if revision.valid and revision.diff:
            diagnosis.fixed_workflow, diagnosis.diff = revision.workflow, revision.diff
            diagnosis.fixes = f.fixes
        else:
            diagnosis.issues.append(Issue(severity="error", problem="the automatic fix does not "
                                          "validate: " + "; ".join(revision.errors),
                                          suggestion="fix the workflow's own errors first"))
    return diagnosis
