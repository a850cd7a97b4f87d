"""The output firewall on result events: model-written PII is masked and counted."""

import json

import pytest
from pydantic import ValidationError

from processors.pii.engine import PiiAnalyzer
from processors.pii.output_firewall import scan_event
from schemas.events import (
    AgentTaskCompleted,
    CallAnalyzed,
    DeliveryRequested,
    GeneratedWorkflow,
    RequirementAnalysis,
    utcnow,
)

DEFINITION = {"id": "wf-1", "name": "Service reminder",
              "steps": [{"id": "s1", "type": "send_sms", "name": "Text the customer",
                         "params": {"to": "{{customer_phone}}",
                                    "message": "Hi {{first_name}}, call Dana Scully at "
                                               "512-555-0143 to book your oil change."}},
                        {"id": "check_confirmed", "type": "condition",
                         "params": {"record": "{{customer_id}}"}}],
              "connections": [{"source": "s1", "target": "check_confirmed"}]}


def workflow(definition: dict) -> GeneratedWorkflow:
    return GeneratedWorkflow(event_id="e1", tenant_id="t1", occurred_at=utcnow(),
                             workflow_id="wf-1", name="Reminder", valid=True,
                             definition_json=json.dumps(
                                 definition))


def test_pii_in_a_workflow_message_is_masked_and_counted(pii_analyzer: PiiAnalyzer) -> None:
    out = scan_event(workflow(DEFINITION), pii_analyzer)
    definition = json.loads(out.definition_json)
    message = definition["steps"][0]["params"]["message"]
    assert "512-555-0143" not in out.definition_json and "Dana" not in out.definition_json
    assert "<PHONE_NUMBER>" in message and "<PERSON>" in message
    assert "{{first_name}}" in message and "oil change" in message
    # structure is never touched: ids, connections, parameters
    assert definition["connections"] == DEFINITION["connections"]
    assert definition["steps"][1] == DEFINITION["steps"][1]
    assert definition["steps"][0]["params"]["to"] == "{{customer_phone}}"
    assert out.output_redactions == {"PERSON": 1, "PHONE_NUMBER": 1}


def test_an_event_without_pii_is_unchanged(pii_analyzer: PiiAnalyzer) -> None:
    clean = {**DEFINITION, "steps": [{"id": "s1", "type": "send_sms", "params": {
        "message": "Your 2021 Camry is due for a tire rotation."}}]}
    before = workflow(clean)
    after = scan_event(before, pii_analyzer)
    assert after.definition_json == before.definition_json
    assert after.output_redactions == {}


def test_analysis_lists_and_copied_request_text_are_scanned(pii_analyzer: PiiAnalyzer) -> None:
    an = RequirementAnalysis(
        event_id="a1", tenant_id="t1", occurred_at=utcnow(), request_event_id="r1",
        intent="create_workflow", domain="service",
        requirements=["Email maria.lopez@example.com a coupon"],
        redacted_text="text Maria Lopez at 512-555-0143")
    out = scan_event(an, pii_analyzer)
    assert "maria.lopez@example.com" not in out.requirements[0]
    assert "512-555-0143" not in out.redacted_text
    assert out.intent == "create_workflow" and out.domain == "service"
    assert out.output_redactions["EMAIL_ADDRESS"] == 1


def test_the_input_firewalls_own_output_is_not_rescanned(pii_analyzer: PiiAnalyzer) -> None:
    call = CallAnalyzed(event_id="c1", tenant_id="t1", occurred_at=utcnow(), call_id="call-1",
                        source_event_id="s1", redacted_transcript="Dana Scully called",
                        summary="Customer Dana Scully wants a quote; call 512-555-0143.")
    out = scan_event(call, pii_analyzer)
    assert out.redacted_transcript == "Dana Scully called"  # left to the input firewall
    assert "512-555-0143" not in out.summary and "Scully" not in out.summary


def test_pseudonym_labels_and_template_variables_are_never_masked(
        pii_analyzer: PiiAnalyzer) -> None:
    call = CallAnalyzed(event_id="c2", tenant_id="t1", occurred_at=utcnow(), call_id="call-2",
                        source_event_id="s2", redacted_transcript="",
                        summary="<PERSON_1> asked about the Civic; text {{customer_name}} back.")
    assert scan_event(call, pii_analyzer).summary == call.summary


def test_revision_diffs_and_digit_only_values_are_scanned(pii_analyzer: PiiAnalyzer) -> None:
    diff = [{"op": "replace", "path": "/steps/0/params/message",
             "value": "Call Dana Scully at 512-555-0143"}]
    wf = workflow(DEFINITION).model_copy(update={"diff_json": json.dumps(diff)})
    out = scan_event(wf, pii_analyzer)
    assert "512-555-0143" not in out.diff_json and "Scully" not in out.diff_json
    an = RequirementAnalysis(event_id="a2", tenant_id="t1", occurred_at=utcnow(),
                             request_event_id="r2", intent="create_workflow", domain="service",
                             entities={"phone": "512-555-0143"})
    assert "512-555-0143" not in scan_event(an, pii_analyzer).entities["phone"]


def test_a_template_lookalike_does_not_hide_pii(pii_analyzer: PiiAnalyzer) -> None:
    call = CallAnalyzed(event_id="c3", tenant_id="t1", occurred_at=utcnow(), call_id="call-3",
                        source_event_id="s3", redacted_transcript="",
                        summary="Text {{Dana Scully 512-555-0143}} back")
    assert "512-555-0143" not in scan_event(call, pii_analyzer).summary


def test_systems_a_workflow_drives_are_not_masked(pii_analyzer: PiiAnalyzer) -> None:
    text = "Create the lead in Brightwater Analytics Inc and notify Kendra Ostrowski"
    assert any(f.entity_type == "ORGANIZATION" for f in pii_analyzer.analyze_one(text))
    clean = {**DEFINITION, "steps": [{"id": "s1", "type": "crm_create", "params": {
        "message": text}}]}
    out = scan_event(workflow(clean), pii_analyzer)
    assert "Brightwater Analytics Inc" in out.definition_json
    assert "Kendra" not in out.definition_json
    assert out.output_redactions == {"PERSON": 1}


def test_a_customer_reference_is_an_identifier_only_on_the_outbox_record(
        pii_analyzer: PiiAnalyzer) -> None:
    ref = "cust-512-555-0143"  # a CRM id that looks like a phone number
    outbox = DeliveryRequested(event_id="e2", tenant_id="t1", occurred_at=utcnow(),
                               delivery_id="d1", task_id="t1", channel="sms",
                               customer_ref=ref, body="Hi {{customer.first_name}}")
    assert scan_event(outbox, pii_analyzer).customer_ref == ref
    # a model writing a "customer_ref" into its output does not get a pass
    result = AgentTaskCompleted(event_id="e3", tenant_id="t1", occurred_at=utcnow(),
                                task_id="t1", agent_type="llm_generate", task_type="x",
                                status="completed", output_json=json.dumps(
                                    {"customer_ref": "Dana Scully, 512-555-0143"}))
    scanned = scan_event(result, pii_analyzer)
    assert "512-555-0143" not in scanned.output_json and "Scully" not in scanned.output_json


def test_crm_references_and_variants_in_agent_output_stay_as_they_are(
        pii_analyzer: PiiAnalyzer) -> None:
    # found by review: `CRM-004417` came back `<PERSON>-004417` and the variant `jordan`
    # `<PERSON>`, so a CRM change was filed under the wrong customer and learning never matched
    output = {"customer_ref": "CRM-004417", "variant": "jordan",
              "fields": {"notes": "Call Dana Scully at 512-555-0143"}}
    result = AgentTaskCompleted(event_id="e4", tenant_id="t1", occurred_at=utcnow(),
                                task_id="t1", agent_type="update_crm", task_type="update_crm",
                                status="completed", output_json=json.dumps(output))
    scanned = json.loads(scan_event(result, pii_analyzer).output_json)
    assert scanned["customer_ref"] == "CRM-004417" and scanned["variant"] == "jordan"
    assert "Scully" not in scanned["fields"]["notes"]
    assert "512-555-0143" not in scanned["fields"]["notes"]
    outbox = DeliveryRequested(event_id="e5", tenant_id="t1", occurred_at=utcnow(),
                               delivery_id="d1", task_id="t1", channel="email",
                               customer_ref="CRM-004417", variant="jordan", subject="Hi",
                               body="Hi {{customer.first_name}}")
    assert scan_event(outbox, pii_analyzer).variant == "jordan"


def test_a_customer_reference_is_an_identifier_not_an_address() -> None:
    for bad in ("ana@example.com", "Dana Scully", "-x", ""):
        with pytest.raises(ValidationError, match="customer_ref"):
            DeliveryRequested(event_id="e6", tenant_id="t1", occurred_at=utcnow(),
                              delivery_id="d1", task_id="t1", channel="sms",
                              customer_ref=bad, body="x")
