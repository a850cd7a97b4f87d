"""The builder's step entries without a model (rules only): ids derive from inputs, a
revision of no workflow is refused with a kind, every result validates."""

from __future__ import annotations

import json

import pytest

from processors.errors import StepInputError
from processors.workflows.steps import (
    analysis_to_workflow,
    request_to_analysis,
    workflow_to_interface,
)
from processors.workflows.validator import validate_workflow
from schemas.events import WorkflowRequest, utcnow
from schemas.ids import NEW_WORKFLOW, derived_id


def _request(text: str, **kw: str) -> WorkflowRequest:
    return WorkflowRequest(event_id="req-1", tenant_id="dealer-1", occurred_at=utcnow(),
                           conversation_id="c1", redacted_text=text, **kw)


def test_a_request_becomes_a_workflow_and_an_interface() -> None:
    req = _request("Text customers 3 days before their service appointment")
    an = request_to_analysis(req, None, 20_000)
    assert an.event_id == derived_id("req-1", "requirement_analysis")
    assert request_to_analysis(req, None, 20_000) == an  # a redelivery: the same event
    wf = analysis_to_workflow(an, None, None)
    assert wf.workflow_id == an.target_workflow_id == derived_id(an.event_id, NEW_WORKFLOW)
    assert wf.version == 1 and validate_workflow(json.loads(wf.definition_json)).valid
    ui = workflow_to_interface(wf)
    assert ui.workflow_id == wf.workflow_id and ui.workflow_version == 1


def test_a_revision_of_an_unknown_workflow_is_refused_with_its_kind() -> None:
    an = request_to_analysis(_request("Change the reminder to go out 5 days before instead",
                                      workflow_id="no-such-workflow"), None, 20_000)
    with pytest.raises(StepInputError) as err:
        analysis_to_workflow(an, None, None)
    assert err.value.kind == "build_rejected" and "no-such-workflow" in str(err.value)


def test_an_empty_request_is_refused_before_any_analysis() -> None:
    with pytest.raises(StepInputError) as err:
        request_to_analysis(_request("   "), None, 20_000)
    assert err.value.kind == "empty_text"
