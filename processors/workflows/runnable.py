"""What the run-time can execute: checked when a workflow is published, never discovered
during a run (processors/workflows/validator.py calls `runtime_errors`).

A workflow is runnable when: its event trigger names a dealership fact
(schemas/dealership_facts.py); every `{{trigger.<field>}}` names a field that fact carries
(or the run's context: the customer, the dealership); every condition parses
(processors/workflows/expressions.py) and reads only variables the run-time can give it — a
trigger field, an upstream step's output the step type produces (`STEP_OUTPUTS`), a fact
variable (`FACT_VARIABLES`) or a customer's consent (`RUN_VARIABLES`); every
`{{customer.<field>}}` placeholder is one deliveries can fill
(processors/ai_agents/placeholders.py).
"""

from __future__ import annotations

import re
from typing import Any

from processors.ai_agents.crm import field_refused
from processors.ai_agents.placeholders import FIELDS as CUSTOMER_PLACEHOLDERS
from processors.workflows.expressions import ExpressionError, parse, variables
from schemas.dealership_facts import CONTEXT_FIELDS, FACT_VARIABLES, FACTS, trigger_fields
from schemas.workflow_dsl import Workflow

#: the outputs each step type's run gives its downstream steps (any other declared output
#: is refused at publication: nothing would ever fill it)
STEP_OUTPUTS: dict[str, frozenset[str]] = {
    "send_sms": frozenset({"delivery_id", "reply", "recipient_count"}),
    "send_email": frozenset({"delivery_id", "reply", "recipient_count"}),
    "create_task": frozenset({"task_id", "crm_task_id"}),
    "notify_staff": frozenset({"task_id", "crm_task_id"}),
    "update_crm": frozenset(),
    "assign_lead": frozenset({"salesperson_id", "salesperson_name"}),
    "llm_generate": frozenset({"text"}),
    "call_agent": frozenset({"output"}),
    "wait": frozenset(),
    "condition": frozenset(),
    "schedule_appointment": frozenset({"appointment_id"}),
    "webhook": frozenset({"status"}),
}
#: variables a condition may read that the run-time looks up when it evaluates them: the
#: customer's consent on a channel (opt-in, no unsubscribe, not do_not_contact, an address)
RUN_VARIABLES: dict[str, str] = {
    "customer.sms_consent": "the customer may be texted",
    "customer.email_consent": "the customer may be emailed",
}
_TRIGGER = re.compile(r"\{\{\s*trigger\.([A-Za-z0-9_]+)\s*\}\}")
_CUSTOMER = re.compile(r"\{\{\s*(customer\.[A-Za-z0-9_]+)\s*\}\}")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _trigger_fields(wf: Workflow) -> frozenset[str] | None:
    """The trigger fields a run of `wf` has (None: an unknown fact, reported apart)."""
    t = wf.trigger
    if t.type == "event":
        return trigger_fields(t.event) if t.event in FACTS else None
    if t.type == "webhook":
        return None  # the posted JSON is the trigger: its fields are the caller's
    return CONTEXT_FIELDS  # a schedule run has no fact: only its context


def runtime_errors(wf: Workflow) -> list[str]:
    """Every reason the run-time could not execute `wf` as written (module doc)."""
    errors: list[str] = []
    if wf.trigger.type == "event" and wf.trigger.event and wf.trigger.event not in FACTS:
        errors.append(f"trigger: {wf.trigger.event!r} is not a dealership fact the runs "
                      f"react to (known: {', '.join(sorted(FACTS))})")
    fields = _trigger_fields(wf)
    for key in sorted(wf.trigger.filters):
        if fields is not None and key not in fields:
            errors.append(f"trigger: filter {key} is not a field of {wf.trigger.event} facts")
    steps = {s.id: s for s in wf.steps}
    for step in wf.steps:
        for text in _strings(step.params):
            for name in _TRIGGER.findall(text):
                if fields is not None and name not in fields:
                    errors.append(f"step {step.id}: trigger.{name} is not a field of "
                                  f"{wf.trigger.event or wf.trigger.type} runs")
            for name in _CUSTOMER.findall(text):
                if name not in CUSTOMER_PLACEHOLDERS:
                    errors.append(f"step {step.id}: {{{{{name}}}}} is not a customer field "
                                  f"deliveries fill (they fill "
                                  f"{', '.join(sorted(CUSTOMER_PLACEHOLDERS))})")
        if step.type == "update_crm" and isinstance(step.params.get("fields"), dict):
            for name in sorted(step.params["fields"]):
                if why := field_refused(name):
                    errors.append(f"step {step.id}: update_crm cannot set {name}: {why}")
        unknown_outputs = sorted(set(step.outputs) - STEP_OUTPUTS.get(step.type, frozenset()))
        if unknown_outputs:
            errors.append(f"step {step.id}: a {step.type} step does not produce "
                          f"{', '.join(unknown_outputs)}")
        if step.type != "condition" or "expression" not in step.params:
            continue
        try:
            tree = parse(str(step.params["expression"]))
        except ExpressionError as exc:
            errors.append(f"step {step.id}: condition does not parse: {exc}")
            continue
        for var in sorted(variables(tree)):
            scope, _, rest = var.partition(".")
            if scope == "trigger":
                if fields is not None and rest not in fields:
                    errors.append(f"step {step.id}: condition reads {var}, not a field of "
                                  f"{wf.trigger.event or wf.trigger.type} runs")
            elif scope == "steps":
                sid, _, out = rest.partition(".")
                if sid not in steps or out not in steps[sid].outputs:
                    errors.append(f"step {step.id}: condition reads {var}, which no "
                                  "upstream step declares")
            elif var not in FACT_VARIABLES and var not in RUN_VARIABLES:
                errors.append(f"step {step.id}: condition reads {var!r}, which the run-time "
                              "does not know (trigger.<field>, steps.<id>.<output> or one of "
                              f"{', '.join(sorted({*FACT_VARIABLES, *RUN_VARIABLES}))})")
    return errors
