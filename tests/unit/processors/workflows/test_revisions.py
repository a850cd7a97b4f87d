"""Debug / modify / optimize of an existing workflow: every result validates, every diff is an
RFC 6902 patch that turns the canonical input into the result, and what is not understood is
reported, not guessed."""

from __future__ import annotations

import copy

import jsonpatch
import pytest

from processors.workflows.diagnosis import diagnose
from processors.workflows.modify import modify
from processors.workflows.optimize import optimize
from processors.workflows.revision_models import Diagnosis, Revision, canonical
from processors.workflows.validator import parse_duration, validate_workflow
from processors.workflows.wait_timing import iso_duration
from tests.unit.processors.workflows.test_interfaces import lead_followup, service_reminder


def _steps(wf: dict) -> dict[str, dict]:
    return {s["id"]: s for s in wf["steps"]}


def _edges(wf: dict) -> set[tuple[str, str, str | None]]:
    return {(c["source"], c["target"], c["when"]) for c in wf["connections"]}


def _assert_applied(old: dict, new: dict, diff: list[dict]) -> None:
    """The result validates, is one version up, and the diff turns old into new."""
    report = validate_workflow(new)
    assert report.valid, report.errors
    assert diff, "a changed workflow has a non-empty diff"
    assert new["version"] == canonical(old)["version"] + 1
    assert jsonpatch.apply_patch(canonical(old), diff) == new


def _assert_revised(old: dict, rev: Revision) -> dict:
    assert rev.valid, rev.errors
    assert rev.errors == []
    _assert_applied(old, rev.workflow, rev.diff)
    return rev.workflow


def _assert_rejected(old: dict, rev: Revision, needle: str) -> None:
    assert rev.valid is False
    assert any(needle in e for e in rev.errors), rev.errors
    assert rev.workflow == canonical(old) and rev.diff == []


def confirm_by_reply() -> dict:
    """A condition that reads the SMS step's output (removing the SMS breaks the wiring)."""
    wf = service_reminder()
    steps = _steps(wf)
    steps["remind"]["outputs"] = ["reply"]
    steps["not_confirmed"]["params"]["expression"] = "{{steps.remind.reply}} != 'C'"
    return wf


# ------------------------------------------------------------------------------ diagnose


def test_unsubscribed_recipient_adds_a_consent_condition_before_the_text():
    old = service_reminder()
    d = diagnose(old, "Twilio error 21610: Attempt to send to unsubscribed recipient")
    assert isinstance(d, Diagnosis)
    assert "opted out" in d.root_cause
    assert d.fixed_workflow is not None
    _assert_applied(old, d.fixed_workflow, d.diff)
    fixed = d.fixed_workflow
    guards = [s for s in fixed["steps"] if s["type"] == "condition"
              and s["params"].get("guard") == "sms_consent"]
    assert len(guards) == 1
    guard = guards[0]["id"]
    assert guards[0]["params"]["expression"] == "customer.sms_consent == true"
    edges = _edges(fixed)
    assert ("wait_until", guard, None) in edges and (guard, "remind", "true") in edges
    assert ("wait_until", "remind", None) not in edges
    assert any(i.step_id == "remind" and i.severity == "error" for i in d.issues)
    assert d.fixes == [f"added consent check {guard} before remind"]


def test_invalid_number_error_also_guards_the_send():
    old = lead_followup()
    d = diagnose(old, "Twilio 21614: 'To' number is not a valid mobile number")
    assert d.fixed_workflow is not None
    _assert_applied(old, d.fixed_workflow, d.diff)
    guard = next(s for s in d.fixed_workflow["steps"] if s["params"].get("guard"))
    assert guard["params"]["expression"] == "customer.sms_consent == true"
    # already guarded: no second guard, a warning instead
    again = diagnose(d.fixed_workflow, "Twilio 21614: not a valid mobile number")
    assert again.fixed_workflow is None and again.diff == []
    assert any(i.severity == "warning" and guard["id"] in i.problem for i in again.issues)


@pytest.mark.parametrize(("context", "opt_out"), [
    ("customer replied STOP to the reminder", True),
    ("the run had to stop at wait_reply", False),
])
def test_stop_means_opt_out_only_as_the_keyword(context, opt_out):
    d = diagnose(service_reminder(), context)
    assert (d.fixed_workflow is not None) is opt_out
    assert ("opted out" in d.root_cause) is opt_out


def test_rate_limit_throttles_and_retries_the_sms_step():
    old = service_reminder()
    d = diagnose(old, "Twilio returned HTTP 429 Too Many Requests for step remind")
    assert d.fixed_workflow is not None
    _assert_applied(old, d.fixed_workflow, d.diff)
    remind = _steps(d.fixed_workflow)["remind"]["params"]
    assert remind["throttle"] == {"max_per_minute": 30}
    assert remind["retry"]["max_attempts"] >= 3
    assert "throttle" not in _steps(d.fixed_workflow)["coupon"]["params"]


def test_email_bounce_guards_only_the_named_email_step():
    old = service_reminder()
    d = diagnose(old, "coupon: 550 5.1.1 mailbox does not exist (hard bounce)")
    assert d.fixed_workflow is not None
    _assert_applied(old, d.fixed_workflow, d.diff)
    guard = next(s for s in d.fixed_workflow["steps"]
                 if s["params"].get("guard") == "email_consent")
    assert (guard["id"], "coupon", "true") in _edges(d.fixed_workflow)
    # the condition's branch label survives the insertion
    assert ("not_confirmed", guard["id"], "true") in _edges(d.fixed_workflow)
    assert not any(s["params"].get("guard") == "sms_consent" for s in d.fixed_workflow["steps"])


def test_crm_timeout_adds_retry_to_the_crm_update():
    old = crm_and_text()
    d = diagnose(old, "DealerSocket CRM update timed out after 30s (504 Gateway Timeout)")
    assert d.fixed_workflow is not None
    _assert_applied(old, d.fixed_workflow, d.diff)
    sync = _steps(d.fixed_workflow)["sync"]["params"]
    assert sync["retry"] == {"max_attempts": 3, "backoff": "PT30S"}
    assert sync["timeout"] == "PT30S"
    assert "retry" not in _steps(d.fixed_workflow)["thanks"]["params"]


def crm_and_text() -> dict:
    return {
        "id": "wf-sold", "name": "Sold: thank you", "domain": "sales",
        "trigger": {"type": "event", "event": "vehicle.sold"},
        "steps": [
            {"id": "sync", "type": "update_crm",
             "params": {"record": "{{trigger.customer_id}}", "fields": {"status": "sold"}}},
            {"id": "thanks", "type": "send_sms",
             "params": {"to": "{{trigger.customer_phone}}", "message": "Enjoy your new car!"}},
        ],
        "connections": [{"source": "sync", "target": "thanks"}],
    }


def test_missing_template_variable_marks_the_field_without_a_fix():
    d = diagnose(service_reminder(),
                 "render failed: template variable first_name is undefined in payload")
    marked = [i for i in d.issues if i.field == "first_name"]
    assert [i.step_id for i in marked] == ["remind"]
    assert "first_name" in d.root_cause
    assert d.fixed_workflow is None and d.diff == []


def test_wait_too_long_with_a_timing_retimes_that_wait():
    old = service_reminder()
    d = diagnose(old, "customers say the reminder comes too late; send it 5 days before")
    assert d.fixed_workflow is not None
    _assert_applied(old, d.fixed_workflow, d.diff)
    assert _steps(d.fixed_workflow)["wait_until"]["params"]["offset"] == "-P5D"
    assert any(i.step_id == "wait_until" for i in d.issues)
    vague = diagnose(old, "customers say the reminder comes too late")
    assert vague.fixed_workflow is None
    assert {i.step_id for i in vague.issues} == {"wait_until", "wait_reply"}


def test_validator_errors_become_issues_and_block_the_fix():
    wf = service_reminder()
    wf["connections"].append({"source": "coupon", "target": "wait_until"})  # a cycle
    d = diagnose(wf, "Twilio error 21610: unsubscribed recipient")
    assert any("cycle" in i.problem and i.severity == "error" for i in d.issues)
    assert d.fixed_workflow is None and d.diff == []
    assert any("does not validate" in i.problem for i in d.issues)


def test_unknown_error_names_the_step_but_fixes_nothing():
    d = diagnose(service_reminder(), "wait_reply: something odd happened")
    assert d.fixed_workflow is None and d.diff == [] and d.fixes == []
    assert "wait_reply" in d.root_cause
    assert [i.step_id for i in d.issues] == ["wait_reply"]
    d2 = diagnose(service_reminder(), "it did not work")
    assert d2.issues == [] and d2.root_cause.startswith("no known failure pattern")


# -------------------------------------------------------------------------------- modify


def test_make_it_5_days_before_moves_the_offset():
    old = service_reminder()
    new = _assert_revised(old, rev := modify(old, "make it 5 days before instead"))
    assert _steps(new)["wait_until"]["params"] == {"until": "{{trigger.appointment_at}}",
                                                   "offset": "-P5D"}
    assert _steps(new)["wait_reply"]["params"] == {"duration": "P1D"}
    assert rev.diff[0] == {"op": "replace", "path": "/steps/0/params/offset", "value": "-P5D"}
    assert any("remind still says '3 days'" in line for line in rev.summary)


def test_wait_2_hours_instead_of_1_day_changes_that_duration():
    old = service_reminder()
    new = _assert_revised(old, modify(old, "wait 2 hours instead of 1 day"))
    assert _steps(new)["wait_reply"]["params"]["duration"] == "PT2H"
    assert _steps(new)["wait_until"]["params"]["offset"] == "-P3D"


def test_timing_that_matches_no_wait_is_reported():
    rev = modify(service_reminder(), "wait 2 hours instead of 3 days")
    _assert_rejected(service_reminder(), rev, "no wait with a duration currently at 3 days")


def test_ambiguous_wait_is_reported_not_guessed():
    old = lead_followup()  # two duration waits
    _assert_rejected(old, modify(old, "change the wait to 3 days"), "could mean any of")
    new = _assert_revised(old, modify(old, "change the wait to 3 days instead of 1 day"))
    assert _steps(new)["wait_reply"]["params"]["duration"] == "P3D"


def test_also_email_them_adds_a_wired_send_email():
    old = service_reminder()
    new = _assert_revised(old, rev := modify(old, "also email them"))
    added = [s for s in new["steps"] if s["id"] not in _steps(old)]
    assert len(added) == 1 and added[0]["type"] == "send_email"
    email = added[0]
    assert email["params"]["to"] == "{{trigger.customer_email}}"
    assert email["params"]["body"].startswith("Hi {{trigger.first_name}}")
    edges = _edges(new)
    assert ("remind", email["id"], None) in edges and (email["id"], "wait_reply", None) in edges
    assert ("remind", "wait_reply", None) not in edges
    assert rev.summary == [f"added {email['id']} (send_email) after remind"]


def test_only_email_no_texts_removes_the_sms_and_reconnects():
    old = service_reminder()
    new = _assert_revised(old, modify(old, "only email, no texts"))
    assert not any(s["type"] == "send_sms" for s in new["steps"])
    assert ("wait_until", "wait_reply", None) in _edges(new)
    assert ("not_confirmed", "coupon", "true") in _edges(new)  # branch label kept
    assert _steps(new)["coupon"]["params"] == _steps(old)["coupon"]["params"]


def test_removing_a_step_on_a_branch_keeps_the_branch_label():
    old = service_reminder()
    old["steps"].append({"id": "nudge", "type": "send_sms",
                         "params": {"to": "{{trigger.customer_phone}}", "message": "Still on?"}})
    old["connections"][-1] = {"source": "not_confirmed", "target": "nudge", "when": "true"}
    old["connections"].append({"source": "nudge", "target": "coupon"})
    new = _assert_revised(old, modify(old, "only email, no texts"))
    assert _edges(new) == {("wait_until", "wait_reply", None),
                           ("wait_reply", "not_confirmed", None),
                           ("not_confirmed", "coupon", "true")}


def test_dont_text_only_email_converts_texts_when_there_is_no_email():
    old = lead_followup()
    new = _assert_revised(old, modify(old, "don't text them, only email"))
    intro = _steps(new)["intro"]
    assert intro["type"] == "send_email"
    assert intro["params"]["to"] == "{{trigger.customer_email}}"
    assert intro["params"]["body"] == _steps(old)["intro"]["params"]["message"]
    assert intro["outputs"] == ["reply"]  # the condition still reads it


def test_removal_that_breaks_wiring_is_rejected_with_the_reason():
    old = confirm_by_reply()
    rev = modify(old, "no texts, only email")
    _assert_rejected(old, rev, "references unknown step 'remind'")
    assert rev.attempted is not None
    assert not any(s["type"] == "send_sms" for s in rev.attempted["steps"])


def test_change_the_text_updates_the_sms_message():
    old = service_reminder()
    new = _assert_revised(old, modify(old, 'change the text to say "See you Tuesday! Reply C '
                                           'to confirm or call us at 5 days notice."'))
    assert _steps(new)["remind"]["params"]["message"] == (
        "See you Tuesday! Reply C to confirm or call us at 5 days notice.")
    # words inside the new message are not read as further requests
    assert _steps(new)["wait_until"]["params"]["offset"] == "-P3D"
    assert len(new["steps"]) == len(old["steps"])


def test_notify_the_service_manager_on_the_matching_branch():
    old = service_reminder()
    new = _assert_revised(old, modify(old, "notify the service manager if they don't confirm"))
    notify = next(s for s in new["steps"] if s["type"] == "notify_staff")
    assert notify["params"]["role"] == "service_manager"
    assert ("not_confirmed", notify["id"], "true") in _edges(new)
    confirmed = _assert_revised(old, modify(old, "alert the service advisor when they confirm"))
    notify = next(s for s in confirmed["steps"] if s["type"] == "notify_staff")
    assert ("not_confirmed", notify["id"], "false") in _edges(confirmed)


def test_notify_if_unknown_condition_is_reported():
    old = service_reminder()
    _assert_rejected(old, modify(old, "notify the service manager if the car is ready"),
                     "could not tie")


def test_unrecognised_request_is_not_valid_and_says_so():
    old = service_reminder()
    rev = modify(old, "make it pop, more synergy")
    _assert_rejected(old, rev, "could not understand the change request 'make it pop, more "
                               "synergy'")
    assert rev.summary == []


def test_modify_rejects_a_non_workflow():
    rev = modify({"id": "x"}, "also email them")
    assert rev.valid is False and rev.errors


# ------------------------------------------------------------------------------ optimize


def test_lead_first_wait_shortened_to_five_minutes():
    old = lead_followup()
    new = _assert_revised(old, rev := optimize(old))
    assert _steps(new)["first_wait"]["params"]["duration"] == "PT5M"
    assert _steps(new)["wait_reply"]["params"]["duration"] == "P1D"  # not before a first send
    assert any(line.startswith("speed to lead: first_wait") for line in rev.summary)
    guard = next(s for s in new["steps"] if s["params"].get("guard") == "sms_consent")
    assert (guard["id"], "intro", "true") in _edges(new)
    log = next(s for s in new["steps"] if s["type"] == "update_crm")
    assert log["params"]["record"] == "{{trigger.lead_id}}"
    assert ("call_task", log["id"], None) in _edges(new)
    assert len(rev.summary) == 3


def test_consecutive_waits_are_merged_then_shortened():
    old = lead_followup()
    old["steps"].insert(1, {"id": "second_wait", "type": "wait",
                            "params": {"duration": "PT30M"}})
    old["connections"][0] = {"source": "first_wait", "target": "second_wait"}
    old["connections"].append({"source": "second_wait", "target": "intro"})
    new = _assert_revised(old, rev := optimize(old))
    assert "second_wait" not in _steps(new)
    assert rev.summary[0] == ("merged consecutive waits first_wait + second_wait: duration "
                              "PT1H -> PT1H30M")
    assert _steps(new)["first_wait"]["params"]["duration"] == "PT5M"
    assert (_steps(new)["first_wait"]["id"], next(
        s["id"] for s in new["steps"] if s["params"].get("guard")), None) in _edges(new)


def test_wait_until_followed_by_a_wait_folds_into_the_offset():
    old = service_reminder()
    old["steps"].insert(1, {"id": "extra", "type": "wait", "params": {"duration": "P1D"}})
    old["connections"][0] = {"source": "wait_until", "target": "extra"}
    old["connections"].append({"source": "extra", "target": "remind"})
    new = _assert_revised(old, optimize(old))
    assert _steps(new)["wait_until"]["params"]["offset"] == "-P2D"


def test_duplicate_send_is_removed():
    old = service_reminder()
    dup = copy.deepcopy(_steps(old)["remind"]) | {"id": "remind_again"}
    old["steps"].insert(2, dup)
    old["connections"][1] = {"source": "remind", "target": "remind_again"}
    old["connections"].append({"source": "remind_again", "target": "wait_reply"})
    new = _assert_revised(old, rev := optimize(old))
    assert "remind_again" not in _steps(new)
    assert rev.summary[0] == "removed duplicate send remind_again (same message as remind)"


def test_already_optimal_workflow_is_returned_unchanged():
    first = optimize(service_reminder())
    assert first.valid
    again = optimize(first.workflow)
    assert again.valid and again.diff == []
    assert again.workflow == first.workflow
    assert len(again.summary) == 1 and again.summary[0].startswith("no change:")


def test_every_operation_result_validates():
    results = [modify(service_reminder(), r) for r in (
        "make it 5 days before instead", "also email them", "only email, no texts",
        "notify the service manager if they don't confirm")]
    results += [optimize(service_reminder()), optimize(lead_followup())]
    for rev in results:
        assert rev.valid, rev.errors
        assert validate_workflow(rev.workflow).valid


@pytest.mark.parametrize("value", ["PT5M", "P1DT2H", "-P3D", "PT1H30M", "P366D", "PT1S"])
def test_iso_duration_round_trips(value):
    assert parse_duration(iso_duration(parse_duration(value))) == parse_duration(value)
