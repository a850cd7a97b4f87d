"""Workflow DSL validation: each rule can fail on its own."""

from __future__ import annotations

import copy
import json

import pytest

from processors.workflows.validator import parse_duration, validate_workflow
from schemas.workflow_dsl import SCHEMA_PATH, render_json_schema

SERVICE_REMINDER = {
    "id": "wf-service-reminder",
    "name": "Service reminder with coupon fallback",
    "domain": "service",
    "trigger": {"type": "event", "event": "service.appointment_scheduled"},
    "steps": [
        {"id": "wait_until", "type": "wait",
         "params": {"until": "{{trigger.appointment_at}}", "offset": "-P3D"}},
        {"id": "remind", "type": "send_sms", "outputs": ["reply"],
         "params": {"to": "{{trigger.customer_phone}}",
                    "message": "Reminder: your service is in 3 days. Reply C to confirm."}},
        {"id": "wait_reply", "type": "wait", "params": {"duration": "P1D"}},
        {"id": "confirmed", "type": "condition",
         "params": {"expression": "{{steps.remind.reply}} == 'C'"}},
        {"id": "coupon", "type": "send_email",
         "params": {"to": "{{trigger.customer_email}}", "subject": "10% off your service",
                    "body": "Confirm your appointment and save 10%."}},
        {"id": "log", "type": "update_crm",
         "params": {"record": "{{trigger.customer_id}}", "fields": {"confirmed": True}}},
    ],
    "connections": [
        {"source": "wait_until", "target": "remind"},
        {"source": "remind", "target": "wait_reply"},
        {"source": "wait_reply", "target": "confirmed"},
        {"source": "confirmed", "target": "coupon", "when": "false"},
        {"source": "confirmed", "target": "log", "when": "true"},
    ],
}


def _variant(**changes):
    wf = copy.deepcopy(SERVICE_REMINDER)
    for path, value in changes.items():
        target = wf
        *parents, last = path.split("__")
        for p in parents:
            target = target[int(p)] if isinstance(target, list) else target[p]
        target[int(last) if isinstance(target, list) else last] = value
    return wf


def test_a_good_workflow_is_valid_and_ordered():
    report = validate_workflow(SERVICE_REMINDER)
    assert report.valid, report.errors
    assert report.order.index("remind") < report.order.index("confirmed") < report.order.index(
        "coupon")


@pytest.mark.parametrize(("wf", "needle"), [
    (_variant(steps__1__type="send_fax"), "steps.1.type"),
    (_variant(connections=[*SERVICE_REMINDER["connections"],
                           {"source": "log", "target": "remind"}]), "cycle"),
    (_variant(connections=SERVICE_REMINDER["connections"][:-1]), "entry step"),
    (_variant(connections=[*SERVICE_REMINDER["connections"],
                           {"source": "remind", "target": "ghost"}]), "unknown step 'ghost'"),
    (_variant(steps__4__params={"to": "x", "subject": "s"}), "missing params body"),
    (_variant(steps__2__params={"duration": "3 days"}), "not an ISO 8601 duration"),
    (_variant(steps__2__params={"duration": "P400D"}), "outside 1s..366 days"),
    (_variant(steps__0__params={"offset": "-P3D"}), "wait needs `duration` or `until`"),
    (_variant(steps__3__params={"expression": "{{steps.coupon.sent}}"}), "does not run before"),
    (_variant(steps__3__params={"expression": "{{steps.remind.clicks}}"}), "does not declare"),
    (_variant(trigger={"type": "schedule", "schedule": "every monday"}), "not a cron"),
    (_variant(connections__3={"source": "confirmed", "target": "coupon"}), "needs `when`"),
])
def test_each_rule_rejects_with_a_reason(wf, needle):
    report = validate_workflow(wf)
    assert not report.valid
    assert any(needle in e for e in report.errors), report.errors


def test_duplicate_step_ids_are_named():
    wf = copy.deepcopy(SERVICE_REMINDER)
    wf["steps"].append(copy.deepcopy(wf["steps"][-1]))
    assert "duplicate step ids: log" in validate_workflow(wf).errors


def test_parse_duration():
    assert parse_duration("PT5M").total_seconds() == 300
    assert parse_duration("-P3D").days == -3
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_duration("5 minutes")


def test_published_json_schema_matches_the_models():
    assert SCHEMA_PATH.read_text() == render_json_schema()
    assert "send_sms" in json.dumps(json.loads(SCHEMA_PATH.read_text()))
