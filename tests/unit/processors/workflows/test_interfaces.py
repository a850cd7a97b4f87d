"""Interface generation: form fields for every trigger input, dashboard metrics, runs table,
layout rule, determinism."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from processors.workflows.interfaces import (
    InterfaceDefinition,
    component_metadata,
    generate_interface,
    guess_field_type,
)
from schemas.workflow_dsl import Workflow

ROOT = Path(__file__).resolve().parents[4]


def service_reminder() -> dict:
    """Event-triggered reminder 3 days before the appointment, coupon if not confirmed."""
    return copy.deepcopy({
        "id": "wf-service-reminder",
        "name": "Service reminder with coupon",
        "domain": "service",
        "trigger": {"type": "event", "event": "service.appointment_scheduled"},
        "steps": [
            {"id": "wait_until", "type": "wait", "name": "3 days before the appointment",
             "params": {"until": "{{trigger.appointment_at}}", "offset": "-P3D"}},
            {"id": "remind", "type": "send_sms", "name": "Text reminder",
             "params": {"to": "{{trigger.customer_phone}}",
                        "message": "Hi {{trigger.first_name}}, your service is in 3 days. "
                                   "Reply C to confirm."}},
            {"id": "wait_reply", "type": "wait", "params": {"duration": "P1D"}},
            {"id": "not_confirmed", "type": "condition",
             "params": {"expression": "appointment.confirmed == false"}},
            {"id": "coupon", "type": "send_email", "name": "Coupon email",
             "params": {"to": "{{trigger.customer_email}}", "subject": "10% off your service",
                        "body": "Confirm your appointment and save 10%."}},
        ],
        "connections": [
            {"source": "wait_until", "target": "remind"},
            {"source": "remind", "target": "wait_reply"},
            {"source": "wait_reply", "target": "not_confirmed"},
            {"source": "not_confirmed", "target": "coupon", "when": "true"},
        ],
    })


def lead_followup() -> dict:
    """New internet lead: text after an hour, then a task for sales if there is no reply."""
    return copy.deepcopy({
        "id": "wf-lead-followup",
        "name": "Internet lead follow-up",
        "domain": "sales",
        "trigger": {"type": "event", "event": "lead.created"},
        "steps": [
            {"id": "first_wait", "type": "wait", "params": {"duration": "PT1H"}},
            {"id": "intro", "type": "send_sms", "outputs": ["reply"],
             "params": {"to": "{{trigger.customer_phone}}",
                        "message": "Thanks for your interest in the {{trigger.vehicle}}!"}},
            {"id": "wait_reply", "type": "wait", "params": {"duration": "P1D"}},
            {"id": "no_reply", "type": "condition",
             "params": {"expression": "{{steps.intro.reply}} == ''"}},
            {"id": "call_task", "type": "create_task",
             "params": {"title": "Call lead {{trigger.lead_id}}",
                        "assignee": "{{trigger.salesperson_name}}"}},
        ],
        "connections": [
            {"source": "first_wait", "target": "intro"},
            {"source": "intro", "target": "wait_reply"},
            {"source": "wait_reply", "target": "no_reply"},
            {"source": "no_reply", "target": "call_task", "when": "true"},
        ],
    })


def crm_sync() -> dict:
    """Webhook-triggered CRM update: no messages, no tasks."""
    return copy.deepcopy({
        "id": "wf-crm-sync",
        "name": "Parts order sync",
        "domain": "parts",
        "trigger": {"type": "webhook", "path": "/hooks/parts-order"},
        "steps": [
            {"id": "sync", "type": "update_crm",
             "params": {"record": "{{trigger.customer_id}}",
                        "fields": {"parts_eta": "{{trigger.eta_date}}",
                                   "parts_total": "{{trigger.order_total}}"}}},
        ],
    })


def weekly_digest() -> dict:
    return copy.deepcopy({
        "id": "wf-weekly-digest",
        "name": "Weekly service digest",
        "domain": "service",
        "trigger": {"type": "schedule", "schedule": "0 8 * * 1"},
        "steps": [
            {"id": "digest", "type": "notify_staff",
             "params": {"role": "service_manager", "message": "Weekly digest is ready"}},
        ],
    })


def branched_reminder() -> dict:
    """The reminder with parallel steps on both branches (ties in the run order)."""
    wf = service_reminder()
    wf["steps"] += [
        {"id": "zz_notify", "type": "notify_staff",
         "params": {"role": "service_manager", "message": "{{trigger.first_name}} unconfirmed"}},
        {"id": "aa_task", "type": "create_task",
         "params": {"title": "Call {{trigger.first_name}}", "assignee": "bdc"}},
        {"id": "log", "type": "update_crm",
         "params": {"record": "{{trigger.customer_id}}", "fields": {"confirmed": True}}},
    ]
    wf["connections"] += [
        {"source": "not_confirmed", "target": "zz_notify", "when": "true"},
        {"source": "not_confirmed", "target": "aa_task", "when": "true"},
        {"source": "not_confirmed", "target": "log", "when": "false"},
    ]
    return wf


ALL = [service_reminder, lead_followup, crm_sync, weekly_digest, branched_reminder]


def _component(defn: InterfaceDefinition, type_: str):
    found = [c for c in defn.components if c.type == type_]
    assert len(found) == 1, [c.type for c in defn.components]
    return found[0]


def _trigger_refs(wf: dict) -> set[str]:
    text = json.dumps([s["params"] for s in wf["steps"]])
    return set(re.findall(r"\{\{\s*trigger\.([A-Za-z0-9_]+)\s*\}\}", text))


@pytest.mark.parametrize("build", ALL)
def test_every_trigger_reference_is_a_form_field_once(build):
    wf = build()
    form = _component(generate_interface(wf), "form")
    names = [f["name"] for f in form.props["fields"]]
    assert sorted(names) == sorted(_trigger_refs(wf))
    for f in form.props["fields"]:
        assert set(f) >= {"name", "label", "type", "required"}


def test_form_fields_are_typed_and_required_only_when_always_used():
    form = _component(generate_interface(service_reminder()), "form")
    fields = {f["name"]: f for f in form.props["fields"]}
    assert {n: f["type"] for n, f in fields.items()} == {
        "appointment_at": "datetime", "customer_phone": "phone", "first_name": "text",
        "customer_email": "email"}
    assert fields["appointment_at"]["required"] and fields["customer_phone"]["required"]
    # only the coupon (behind the condition) uses the email
    assert fields["customer_email"]["required"] is False
    assert fields["customer_email"]["used_by"] == ["coupon"]


@pytest.mark.parametrize(("name", "expected"), [
    ("customer_email", "email"), ("mobile_phone", "phone"), ("appointment_at", "datetime"),
    ("purchase_date", "date"), ("birthday", "date"), ("mileage", "number"),
    ("order_total", "number"), ("sms_opt_in", "boolean"), ("is_fleet", "boolean"),
    ("vin", "text"), ("first_name", "text"),
])
def test_field_type_guess(name, expected):
    assert guess_field_type(name) == expected


def test_event_and_webhook_triggers_start_runs_manually_and_schedules_show_cron():
    event_form = _component(generate_interface(service_reminder()), "form")
    assert event_form.props["submit"]["action"] == "start_run"
    assert event_form.props["submit"]["event"] == "service.appointment_scheduled"
    hook_form = _component(generate_interface(crm_sync()), "form")
    assert hook_form.props["submit"]["path"] == "/hooks/parts-order"
    cron_form = _component(generate_interface(weekly_digest()), "form")
    assert cron_form.props["submit"] is None
    assert cron_form.props["schedule"]["cron"] == "0 8 * * 1"
    assert cron_form.props["fields"] == []


def test_dashboard_names_metric_keys_per_channel_condition_and_runs():
    metrics = _component(generate_interface(service_reminder()), "dashboard").props["metrics"]
    by_id = {m["id"]: m for m in metrics}
    assert by_id["messages_sent_sms"]["metric"] == (
        'workflow_messages_sent_total{workflow_id="wf-service-reminder",channel="sms"}')
    assert by_id["messages_sent_email"]["metric"] == (
        'workflow_messages_sent_total{workflow_id="wf-service-reminder",channel="email"}')
    for status in ("started", "completed", "failed"):
        assert f'status="{status}"' in by_id[f"runs_{status}"]["metric"]
    assert "workflow_run_duration_seconds" in by_id["run_duration_p50"]["metric"]
    ratio = by_id["condition_not_confirmed_true_rate"]
    assert ratio["label"] == "% Not confirmed" and ratio["unit"] == "percent"
    assert 'branch="true"' in ratio["metric"] and "branch" not in ratio["denominator"]
    assert "tasks_created" not in by_id
    for m in metrics:
        assert m["metric"].startswith("workflow_") and 'workflow_id="wf-service-reminder"' in (
            m["metric"])


def test_tasks_and_channels_follow_the_workflow():
    lead = generate_interface(lead_followup())
    ids = {m["id"] for m in _component(lead, "dashboard").props["metrics"]}
    assert {"tasks_created", "messages_sent_sms"} <= ids
    assert "messages_sent_email" not in ids
    assert _component(lead, "list").props["steps"][0]["step_id"] == "call_task"
    sync = generate_interface(crm_sync())
    sync_ids = {m["id"] for m in _component(sync, "dashboard").props["metrics"]}
    assert not any(i.startswith(("messages_sent", "condition_", "tasks")) for i in sync_ids)


def test_runs_table_columns_paging_and_sorting():
    table = _component(generate_interface(service_reminder()), "table")
    assert [c["key"] for c in table.props["columns"]] == [
        "run_id", "started_at", "status", "current_step", "customer", "last_error"]
    assert table.props["paging"]["page_size"] == 25
    assert table.props["sorting"]["default"] == {"column": "started_at", "direction": "desc"}
    assert table.props["source"]["filter"] == {"workflow_id": "wf-service-reminder"}
    current = next(c for c in table.props["columns"] if c["key"] == "current_step")
    assert [o["value"] for o in current["options"]] == [
        "wait_until", "remind", "wait_reply", "not_confirmed", "coupon"]


def test_layout_rule_theme_and_ids():
    rich = generate_interface(service_reminder())
    assert [c.type for c in rich.components] == ["form", "dashboard", "chart", "table"]
    assert rich.layout == "sidebar" and rich.theme == "default" and rich.responsive is True
    assert _component(rich, "form").props["region"] == "sidebar"
    plain = generate_interface(crm_sync(), interface_id="ui-custom")
    assert [c.type for c in plain.components] == ["form", "dashboard", "table"]
    assert plain.layout == "grid" and plain.id == "ui-custom"
    assert rich.id == "ui-wf-service-reminder-v1"
    assert [c.id for c in plain.components] == [
        "wf-crm-sync-form", "wf-crm-sync-dashboard", "wf-crm-sync-runs"]


def test_same_workflow_same_definition_across_processes():
    first = generate_interface(branched_reminder()).model_dump_json()
    assert generate_interface(branched_reminder()).model_dump_json() == first
    assert generate_interface(Workflow.model_validate(branched_reminder())).model_dump_json() == (
        first)
    # ties in the run order follow the step list, not hash order
    table = _component(generate_interface(branched_reminder()), "table")
    current = next(c for c in table.props["columns"] if c["key"] == "current_step")
    assert [o["value"] for o in current["options"]][-3:] == ["zz_notify", "aa_task", "log"]
    script = ("from tests.unit.processors.workflows.test_interfaces import branched_reminder; "
              "from processors.workflows.interfaces import generate_interface; "
              "print(generate_interface(branched_reminder()).model_dump_json())")
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                             capture_output=True, text=True, check=True)
        outputs.add(run.stdout.strip())
    assert outputs == {first}


def test_component_metadata():
    meta = component_metadata(generate_interface(service_reminder()))
    assert meta["by_type"] == {"form": 1, "dashboard": 1, "chart": 1, "table": 1}
    assert meta["component_count"] == 4 and meta["field_count"] == 4
    assert meta["layout"] == "sidebar"
    assert ('workflow_messages_sent_total{workflow_id="wf-service-reminder",channel="email"}'
            in meta["metric_keys"])
    assert len(meta["metric_keys"]) == len(set(meta["metric_keys"]))
    json.dumps(meta)  # serialisable for component_metadata_json


def test_invalid_workflow_gets_no_interface():
    wf = service_reminder()
    wf["connections"].append({"source": "coupon", "target": "remind"})
    with pytest.raises(ValueError, match="cycle"):
        generate_interface(wf)
