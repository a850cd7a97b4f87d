"""The workflow builder's three step entries: decoded event in, result event out, no Kafka.

    request_to_analysis:   WorkflowRequest      -> RequirementAnalysis
    analysis_to_workflow:  RequirementAnalysis  -> GeneratedWorkflow (valid only)
    workflow_to_interface: GeneratedWorkflow    -> GeneratedInterface

Model calls go through the gateway the caller hands in (it reports usage to its own sink).

Invariants: output ids derive from input ids (`derived_id`), so a redelivery yields the same
event; a request the builder refuses raises StepInputError(`build_rejected`) naming
why, and nothing invalid is ever returned as a workflow.
"""

from __future__ import annotations

import json
from typing import Any

from processors.analysis.analyzer import Analysis, analyze
from processors.errors import StepInputError
from processors.pii.inputs import check_text
from processors.workflows.builder import NeedsWorkflow, build
from processors.workflows.interfaces import component_metadata, generate_interface
from schemas.events import (
    GeneratedInterface,
    GeneratedWorkflow,
    RequirementAnalysis,
    WorkflowRequest,
)
from schemas.ids import NEW_WORKFLOW, derived_id

ANALYSIS_STEP = "requirement_analysis"
BUILD_STEP = "workflow_build"
INTERFACE_STEP = "interface_generation"


def build_rejected(message: str) -> StepInputError:
    """The builder refused a request; the message says why (dead-lettered as
    `build_rejected`)."""
    return StepInputError("build_rejected", message)


def analysis_from_event(ev: RequirementAnalysis) -> Analysis:
    return Analysis(
        intent=ev.intent, domain=ev.domain, channels=ev.channels, timing=ev.timing,
        timing_offset=ev.timing_offset,
        timings=[{"phrase": ev.timing, "iso_offset": ev.timing_offset}] if ev.timing else [],
        entities=ev.entities, requirements=ev.requirements, constraints=ev.constraints,
        success_criteria=ev.success_criteria, confidence=ev.confidence)


def request_to_analysis(req: WorkflowRequest, gateway: Any, max_chars: int
                        ) -> RequirementAnalysis:
    """Analyse a (redacted) request; StepInputError for text the builder will not take."""
    check_text(req.redacted_text, max_chars)
    a = analyze(req.redacted_text, gateway, tenant_id=req.tenant_id, user_id=req.user_id)
    return RequirementAnalysis(
        event_id=derived_id(req.event_id, ANALYSIS_STEP), tenant_id=req.tenant_id,
        occurred_at=req.occurred_at, request_event_id=req.event_id,
        conversation_id=req.conversation_id, intent=a.intent, domain=a.domain,
        channels=a.channels, timing=a.timing, entities=a.entities,
        requirements=a.requirements, constraints=a.constraints,
        success_criteria=a.success_criteria, confidence=a.confidence, user_id=req.user_id,
        redacted_text=req.redacted_text, timing_offset=a.timing_offset,
        workflow_id=req.workflow_id, error_context=req.error_context)


def is_revision(an: RequirementAnalysis) -> bool:
    """True if the analysis asks to change the workflow it names (not to create one)."""
    return bool(an.workflow_id and an.intent != "create_workflow")


def analysis_to_workflow(an: RequirementAnalysis, existing: dict[str, Any] | None,
                         gateway: Any) -> GeneratedWorkflow:
    """Build (create, or revise `existing`) the workflow an analysis asks for."""
    workflow_id = an.workflow_id if existing and an.workflow_id else \
        derived_id(an.event_id, NEW_WORKFLOW)
    try:
        outcome = build(an.redacted_text, analysis_from_event(an), gateway=gateway,
                        existing=existing, error_context=an.error_context,
                        tenant_id=an.tenant_id, user_id=an.user_id, workflow_id=workflow_id)
    except NeedsWorkflow as exc:
        raise build_rejected(f"{exc}; workflow_id={an.workflow_id!r}") from exc
    if not outcome.valid or outcome.workflow is None:
        raise build_rejected(f"{outcome.operation}: workflow rejected: "
                            + "; ".join(outcome.errors))
    wf = outcome.workflow
    version = int(wf.get("version", 1))
    if existing is not None and outcome.operation == "debug" and not outcome.diff:
        version = int(existing.get("version", 1)) + 1  # record the diagnosis
        wf = {**wf, "version": version}
    return GeneratedWorkflow(
        event_id=derived_id(an.event_id, BUILD_STEP), tenant_id=an.tenant_id,
        occurred_at=an.occurred_at, workflow_id=wf["id"], analysis_event_id=an.event_id,
        user_id=an.user_id, name=wf["name"], description=wf.get("description", ""),
        requirements_json=json.dumps(analysis_from_event(an).model_dump()),
        definition_json=json.dumps(wf), valid=True,
        generation_metadata_json=json.dumps({**outcome.metadata, "summary": outcome.summary}),
        conversation_id=an.conversation_id, version=version,
        operation=outcome.operation, diff_json=json.dumps(outcome.diff),
        diagnosis_json=json.dumps(outcome.diagnosis))


def workflow_to_interface(gw: GeneratedWorkflow) -> GeneratedInterface:
    """The interface generated for a (valid) workflow."""
    if not gw.valid:
        raise build_rejected("an invalid workflow reached workflows.generated")
    defn = generate_interface(json.loads(gw.definition_json))
    return GeneratedInterface(
        event_id=derived_id(gw.event_id, INTERFACE_STEP), tenant_id=gw.tenant_id,
        occurred_at=gw.occurred_at, interface_id=defn.id, workflow_id=gw.workflow_id,
        definition_json=defn.model_dump_json(),
        component_metadata_json=json.dumps(component_metadata(defn)),
        workflow_version=gw.version)
