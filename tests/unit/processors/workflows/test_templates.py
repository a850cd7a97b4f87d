"""The dealership template library: every template is a valid workflow with its defaults, slots
substitute as documented, and a bad library file is rejected naming the template."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from processors.workflows.templates import (
    LIBRARY_PATH,
    SLOT,
    Template,
    TemplateLibraryError,
    get_template,
    load_templates,
    slot_kind,
)
from processors.workflows.validator import validate_workflow

TEMPLATES = load_templates()
REQUIRED_SCENARIOS = {
    "service_appointment_reminder",
    "missed_call_follow_up",
    "internet_lead_response",
    "declined_service_follow_up",
    "recall_outreach",
    "trade_in_appraisal_follow_up",
    "finance_paperwork_chase",
    "post_sale_review_request",
    "post_service_review_request",
    "lease_end_outreach",
    "birthday_offer",
    "no_show_rebooking",
    "parts_arrived_notice",
    "test_drive_follow_up",
    "vehicle_ready_notice",
    "warranty_expiration_outreach",
    "unsold_showroom_visitor_follow_up",
    "credit_application_incomplete",
    "seasonal_tire_change_campaign",
}


def _steps(workflow: dict) -> dict[str, dict]:
    return {s["id"]: s for s in workflow["steps"]}


def test_library_size_and_unique_ids() -> None:
    ids = [t.id for t in TEMPLATES]
    assert len(ids) >= 18
    assert len(ids) == len(set(ids))


def test_required_dealership_scenarios_present() -> None:
    missing = REQUIRED_SCENARIOS - {t.id for t in TEMPLATES}
    assert not missing, f"missing templates: {sorted(missing)}"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.id)
def test_template_validates_with_default_slots(template: Template) -> None:
    workflow = template.instantiate()
    report = validate_workflow(workflow)
    assert report.valid, report.errors
    assert workflow["domain"] == template.domain
    assert workflow["name"] == template.title
    assert not SLOT.search(json.dumps(workflow)), "unexpanded <<slot>> left in the workflow"
    assert 3 <= len(template.examples) <= 5
    assert len(set(template.examples)) == len(template.examples)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.id)
def test_template_uses_every_slot_and_declared_message_channels(template: Template) -> None:
    assert template.placeholders() == set(template.slots)
    sent = {{"send_sms": "sms", "send_email": "email"}[s["type"]]
            for s in template.workflow["steps"] if s["type"] in ("send_sms", "send_email")}
    assert sent == set(template.channels) & {"sms", "email"}


def test_schedule_template_uses_a_cron_slot() -> None:
    template = get_template("seasonal_tire_change_campaign")
    workflow = template.instantiate()
    assert workflow["trigger"]["type"] == "schedule"
    assert template.slot_kinds()["schedule"] == "cron"
    spring = template.instantiate({"schedule": "0 9 1 4 *"})
    assert spring["trigger"]["schedule"] == "0 9 1 4 *"
    assert validate_workflow(spring).valid


def test_reminder_waits_until_appointment_with_offset_and_branches_on_confirmation() -> None:
    workflow = get_template("service_appointment_reminder").instantiate()
    steps = _steps(workflow)
    wait = steps["wait_before_appointment"]["params"]
    assert wait == {"until": "{{trigger.appointment_at}}", "offset": "-P3D"}
    branches = {(c["target"], c.get("when")) for c in workflow["connections"]
                if c["source"] == "check_unconfirmed"}
    assert branches == {("email_coupon", "true"), ("log_confirmed", "false")}
    assert "{{trigger.first_name}}" in steps["send_reminder"]["params"]["message"]


def test_slot_override_replaces_text_and_timing() -> None:
    template = get_template("service_appointment_reminder")
    workflow = template.instantiate({
        "offset": "-P2D",
        "sms_message": "Hey {{trigger.first_name}}, see you soon! Reply C to confirm.",
        "coupon_code": "OILFALL",
    }, workflow_id="wf-custom")
    steps = _steps(workflow)
    assert workflow["id"] == "wf-custom"
    assert steps["wait_before_appointment"]["params"]["offset"] == "-P2D"
    assert steps["send_reminder"]["params"]["message"] == (
        "Hey {{trigger.first_name}}, see you soon! Reply C to confirm.")
    assert steps["email_coupon"]["params"]["body"].endswith("Coupon code: OILFALL")
    assert steps["log_coupon_sent"]["params"]["fields"]["coupon_code"] == "OILFALL"
    assert validate_workflow(workflow).valid
    # the template itself is untouched
    again = _steps(template.instantiate())
    assert again["wait_before_appointment"]["params"]["offset"] == "-P3D"
    assert again["log_coupon_sent"]["params"]["fields"]["coupon_code"] == "SERVICE10"


def test_generated_workflow_ids_are_unique() -> None:
    template = get_template("birthday_offer")
    first, second = template.instantiate()["id"], template.instantiate()["id"]
    assert re.fullmatch(r"birthday_offer-[0-9a-f]{12}", first)
    assert first != second


def test_unknown_slot_override_raises_naming_it() -> None:
    template = get_template("missed_call_follow_up")
    with pytest.raises(ValueError, match="smss_message") as info:
        template.instantiate({"smss_message": "hi", "callback_window": "PT30M"})
    assert "missed_call_follow_up" in str(info.value)


def test_duration_slot_rejects_non_duration() -> None:
    template = get_template("internet_lead_response")
    assert template.slot_kinds()["response_window"] == "duration"
    assert template.slot_kinds()["sms_message"] == "text"
    with pytest.raises(ValueError, match="response_window"):
        template.instantiate({"response_window": "five minutes"})
    workflow = template.instantiate({"response_window": "PT10M"})
    assert _steps(workflow)["wait_response_window"]["params"]["duration"] == "PT10M"


def test_override_with_placeholder_is_rejected() -> None:
    with pytest.raises(ValueError, match="unexpanded"):
        get_template("birthday_offer").instantiate({"sms_message": "Hi <<offer>>"})


@pytest.mark.parametrize("value, kind", [
    ("P3D", "duration"), ("-P3D", "duration"), ("PT5M", "duration"), ("0 9 1 10 *", "cron"),
    ("4", "number"), ("Hi {{trigger.first_name}}", "text"), ("Please", "text"),
])
def test_slot_kind(value: str, kind: str) -> None:
    assert slot_kind(value) == kind


def test_load_is_cached() -> None:
    assert load_templates()[0] is load_templates()[0]


# --- bad library files --------------------------------------------------------------------

def _raw_library() -> dict:
    return yaml.safe_load(LIBRARY_PATH.read_text(encoding="utf-8"))


def _write(tmp_path: Path, templates: list[dict]) -> Path:
    path = tmp_path / "library.yaml"
    path.write_text(yaml.safe_dump({"templates": templates}), encoding="utf-8")
    return path


def _by_id(raw: dict, template_id: str) -> dict:
    return next(t for t in raw["templates"] if t["id"] == template_id)


def test_bundled_library_roundtrips_through_a_file(tmp_path: Path) -> None:
    path = _write(tmp_path, _raw_library()["templates"])
    assert [t.id for t in load_templates(path)] == [t.id for t in TEMPLATES]


def test_duplicate_template_id_rejected(tmp_path: Path) -> None:
    raw = _raw_library()
    template = _by_id(raw, "birthday_offer")
    with pytest.raises(TemplateLibraryError, match="'birthday_offer': duplicate template id"):
        load_templates(_write(tmp_path, [template, template]))


def test_unknown_slot_in_workflow_rejected(tmp_path: Path) -> None:
    template = _by_id(_raw_library(), "no_show_rebooking")
    template["workflow"]["steps"][0]["params"]["duration"] = "<<rebook_delay>>"
    with pytest.raises(TemplateLibraryError,
                       match="'no_show_rebooking': workflow refers to unknown slots rebook_delay"):
        load_templates(_write(tmp_path, [template]))


def test_unused_slot_rejected(tmp_path: Path) -> None:
    template = _by_id(_raw_library(), "recall_outreach")
    template["slots"]["sms_signature"] = "- Service team"
    with pytest.raises(TemplateLibraryError,
                       match="'recall_outreach': slots sms_signature are not used"):
        load_templates(_write(tmp_path, [template]))


def test_template_invalid_with_defaults_rejected(tmp_path: Path) -> None:
    template = _by_id(_raw_library(), "service_appointment_reminder")
    template["slots"]["wait_for_reply"] = "P400D"
    with pytest.raises(TemplateLibraryError) as info:
        load_templates(_write(tmp_path, [template]))
    message = str(info.value)
    assert "'service_appointment_reminder': invalid workflow with default slots" in message
    assert "outside 1s..366 days" in message


def test_dangling_reference_rejected(tmp_path: Path) -> None:
    template = _by_id(_raw_library(), "service_appointment_reminder")
    steps = template["workflow"]["steps"]
    next(s for s in steps if s["id"] == "send_reminder")["outputs"] = []
    with pytest.raises(TemplateLibraryError,
                       match="'service_appointment_reminder'.*does not declare"):
        load_templates(_write(tmp_path, [template]))


def test_channels_must_match_message_steps(tmp_path: Path) -> None:
    template = _by_id(_raw_library(), "post_service_review_request")
    template["channels"] = ["sms", "email"]
    with pytest.raises(TemplateLibraryError,
                       match="'post_service_review_request': channels"):
        load_templates(_write(tmp_path, [template]))


def test_schema_problem_names_template(tmp_path: Path) -> None:
    template = _by_id(_raw_library(), "birthday_offer")
    template["domain"] = "bodyshop"
    template["examples"] = template["examples"][:2]
    with pytest.raises(TemplateLibraryError) as info:
        load_templates(_write(tmp_path, [template]))
    assert "'birthday_offer': domain" in str(info.value)
    assert "'birthday_offer': examples" in str(info.value)


def test_unreadable_library_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("templates: [\n", encoding="utf-8")
    with pytest.raises(TemplateLibraryError, match="broken.yaml"):
        load_templates(path)
    with pytest.raises(TemplateLibraryError, match="missing.yaml"):
        load_templates(tmp_path / "missing.yaml")
