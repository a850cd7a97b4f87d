"""A workflow the run-time could not execute is refused when it is published, naming what it
does not understand (processors/workflows/runnable.py through validate_workflow)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from processors.workflows.templates import get_template
from processors.workflows.validator import validate_workflow


def _reminder() -> dict[str, Any]:
    wf = copy.deepcopy(get_template("service_appointment_reminder").workflow)
    for step in wf["steps"]:  # fill the template's slots with something plausible
        for k, v in list(step["params"].items()):
            if isinstance(v, str) and "<<" in v:
                step["params"][k] = {"offset": "-P3D", "duration": "P1D"}.get(k, "text")
    return {"id": "wf-1", "name": "Reminder", "domain": "service", **wf}


def _step(wf: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in wf["steps"] if s["id"] == sid)


def test_the_headline_template_is_runnable() -> None:
    wf = _reminder()
    assert validate_workflow(wf).errors == []


@pytest.mark.parametrize("edit, named", [
    (lambda wf: wf["trigger"].update(event="service.appointment_booked"),
     "'service.appointment_booked' is not a dealership fact"),
    (lambda wf: _step(wf, "check_unconfirmed")["params"].update(
        expression="appointment.kinda_confirmed == false"),
     "condition reads 'appointment.kinda_confirmed', which the run-time does not know"),
    (lambda wf: _step(wf, "check_unconfirmed")["params"].update(
        expression="is_mobile({{trigger.customer_phone}})"),
     "condition does not parse: unexpected '\\(' at position 10"),
    (lambda wf: _step(wf, "check_unconfirmed")["params"].update(
        expression="trigger.loyalty_tier == 'gold'"),
     "condition reads trigger.loyalty_tier, not a field of service.appointment_scheduled"),
    (lambda wf: _step(wf, "send_reminder")["params"].update(
        message="Hi {{trigger.customer_name}}"),
     "step send_reminder: trigger.customer_name is not a field"),
    (lambda wf: _step(wf, "email_coupon")["params"].update(
        body="Hi {{customer.ssn}}"),
     "{{customer.ssn}} is not a customer field deliveries fill"),
    (lambda wf: _step(wf, "send_reminder").update(outputs=["reply", "sentiment"]),
     "a send_sms step does not produce sentiment"),
])
def test_what_the_runtime_does_not_understand_is_refused_at_publication(edit, named) -> None:
    wf = _reminder()
    edit(wf)
    report = validate_workflow(wf)
    assert not report.valid
    assert any(named.replace("\\", "") in e for e in report.errors), report.errors


def test_a_trigger_filter_on_a_field_the_fact_lacks_is_refused() -> None:
    wf = _reminder()
    wf["trigger"]["filters"] = {"source_type": "internet"}
    assert "trigger: filter source_type is not a field of service.appointment_scheduled facts" in (
        validate_workflow(wf).errors)
    wf["trigger"]["filters"] = {"service": "oil change"}
    assert validate_workflow(wf).valid
