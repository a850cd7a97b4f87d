"""Send steps: their channels, the consent check before a send, a send's message for a channel.

Invariant: a consent check inserted before a send reaches it on `when: true` (runs without
consent stop at the check).

Step params added here, by convention of the runner: `guard` ("sms_consent" /
"email_consent") on the consent checks inserted.
"""

from __future__ import annotations

import re
from typing import Any

from processors.workflows.graph_edits import Draft, new_step
from processors.workflows.interfaces import trigger_references

SEND_TYPES = {"send_sms": "sms", "send_email": "email"}

_CONSENT = re.compile(r"consent|opt[_ -]?(?:in|out|ed)|unsubscri|\bsubscribed|do_?not_?"
                      r"(?:text|contact|email|call)|\bdnc\b|\bstop\b|suppress", re.I)
_CHANNEL_WORDS = {"sms": re.compile(r"sms|text|phone|mobile|tcpa", re.I),
                  "email": re.compile(r"e-?mail", re.I)}


def has_guard(draft: Draft, sid: str, channel: str) -> str | None:
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


def add_guard(draft: Draft, send: dict[str, Any]) -> str:
    """Insert a consent/reachability check before a send step; return its id."""
    channel = SEND_TYPES[send["type"]]
    # the run-time answers from the customer's contact record: opt-in, unsubscribes, the CRM's
    # do_not_contact, an address on file (processors/workflows/runnable.py RUN_VARIABLES)
    if channel == "sms":
        expression = "customer.sms_consent == true"
        name = "Has SMS consent and a mobile number"
    else:
        expression = "customer.email_consent == true"
        name = "Email allowed and deliverable"
    guard = new_step(draft.fresh_id(f"{send['id']}_consent"), "condition", name,
                     {"expression": expression, "guard": f"{channel}_consent"})
    draft.insert_before(send["id"], guard, "true")
    return guard["id"]


def _trigger_field(draft: Draft, kind: str, default: str) -> str:
    """A `{{trigger.x}}` reference the workflow already uses for `kind` (email/phone)."""
    for name in trigger_references([s["params"] for s in draft.steps]):
        if kind in name.lower():
            return f"{{{{trigger.{name}}}}}"
    return f"{{{{trigger.{default}}}}}"


def message_params(draft: Draft, channel: str, source: dict[str, Any]) -> dict[str, Any]:
    """Params of a `channel` message carrying the same content as the send step `source`."""
    p = source.get("params", {})
    text = p.get("message") or p.get("body") or draft.wf["name"]
    if channel == "sms":
        return {"to": _trigger_field(draft, "phone", "customer_phone"), "message": text[:320]}
    return {"to": _trigger_field(draft, "email", "customer_email"),
            "subject": p.get("subject") or draft.wf["name"], "body": text}
