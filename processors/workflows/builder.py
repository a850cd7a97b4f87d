"""The builder's one entry point for every intent: create, modify, debug, optimize.

`build(...)` turns an analysed request (and, for a revision, the current workflow) into a
`BuildOutcome`. The CLI and the stream agent both call it, so they cannot disagree.
Invariant: `outcome.valid` is True only when `outcome.workflow` passed `validate_workflow`;
callers publish a workflow only then (a debug request without an automatic fix publishes
the unchanged workflow with its diagnosis).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from processors.analysis.analyzer import Analysis
from processors.workflows.diagnosis import diagnose
from processors.workflows.generator import generate_workflow
from processors.workflows.modify import modify
from processors.workflows.optimize import optimize
from processors.workflows.validator import validate_workflow

OPERATIONS = {"create_workflow": "create", "modify_workflow": "modify",
              "debug_workflow": "debug", "optimize_workflow": "optimize"}


class BuildOutcome(BaseModel):
    operation: str
    workflow: dict[str, Any] | None
    valid: bool
    errors: list[str] = Field(default_factory=list)
    diff: list[dict[str, Any]] = Field(default_factory=list)
    diagnosis: dict[str, Any] = Field(default_factory=dict)
    summary: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class NeedsWorkflow(ValueError):
    """A modify/debug/optimize request does not name a workflow the builder knows."""


def build(text: str, analysis: Analysis, *, gateway: Any | None = None,
          existing: dict[str, Any] | None = None, error_context: str | None = None,
          tenant_id: str = "local", user_id: str | None = None,
          workflow_id: str | None = None, matcher: Any | None = None) -> BuildOutcome:
    """What the builder does for `analysis.intent` (a `none` intent builds nothing)."""
    operation = OPERATIONS.get(analysis.intent)
    if operation is None:
        return BuildOutcome(operation="none", workflow=None, valid=False,
                            errors=["the message asks for no workflow change (intent none)"])
    if operation == "create":
        result = generate_workflow(text, analysis, gateway, matcher=matcher,
                                   tenant_id=tenant_id, user_id=user_id,
                                   workflow_id=workflow_id)
        return BuildOutcome(operation="create", workflow=result.workflow, valid=result.valid,
                            errors=result.errors, summary=result.repairs,
                            metadata=result.model_dump(exclude={"workflow", "valid",
                                                                "errors"}))
    if existing is None:
        raise NeedsWorkflow(f"a {operation} request needs the workflow it is about "
                            "(workflow_id of a generated workflow)")
    if operation == "debug":
        diag = diagnose(existing, error_context or text)
        fixed = diag.fixed_workflow
        chosen = fixed if fixed is not None else existing
        report = validate_workflow(chosen)
        return BuildOutcome(operation="debug", workflow=chosen, valid=report.valid,
                            errors=report.errors, diff=diag.diff if fixed else [],
                            diagnosis=diag.model_dump(exclude={"fixed_workflow", "diff"}),
                            summary=diag.fixes or [diag.root_cause])
    revision = modify(existing, text) if operation == "modify" else optimize(existing)
    return BuildOutcome(operation=operation, workflow=revision.workflow if revision.valid
                        else None, valid=revision.valid, errors=revision.errors,
                        diff=revision.diff, summary=revision.summary)
