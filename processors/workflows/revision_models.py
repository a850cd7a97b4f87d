"""What a revision of a workflow returns, and the one place such a result is made (`finish`).

Every revision (debug `diagnose`, `modify`, `optimize`) is deterministic (rules, no model) and
works on the canonical form of the workflow, `canonical(wf)` =
`Workflow.model_validate(wf).model_dump(mode="json")`; every returned diff is an RFC 6902 patch
(made by `jsonpatch.make_patch` in `finish`) from that canonical form to the returned
workflow, so `jsonpatch.apply_patch(canonical(old), diff) == new`.

Invariants (`finish` enforces them; every edited result goes through it):
- a result is validated with `validate_workflow` before it is returned; an invalid result is
  never a success: `Revision.valid` is False with the validator's errors, `Revision.workflow`
  stays the (canonical) input, `diff` is empty and the rejected attempt is in `attempted`;
- a changed workflow has `version` = input version + 1; an unchanged one keeps its version
  and gets an empty diff.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

import jsonpatch
from pydantic import BaseModel, Field, ValidationError

from processors.workflows.validator import validate_workflow
from schemas.workflow_dsl import Workflow

Severity = Literal["error", "warning", "info"]


class Issue(BaseModel):
    step_id: str | None = None
    severity: Severity
    problem: str
    suggestion: str
    field: str | None = Field(default=None, description="the trigger field at fault, if any")


class Diagnosis(BaseModel):
    issues: list[Issue] = Field(default_factory=list)
    root_cause: str
    fixed_workflow: dict[str, Any] | None = None
    diff: list[dict[str, Any]] = Field(default_factory=list)
    fixes: list[str] = Field(default_factory=list, description="automatic fixes applied")


class Revision(BaseModel):
    workflow: dict[str, Any]
    diff: list[dict[str, Any]] = Field(default_factory=list)
    summary: list[str] = Field(default_factory=list)
    valid: bool
    errors: list[str] = Field(default_factory=list)
    attempted: dict[str, Any] | None = Field(
        default=None, description="the rejected result when valid is False after an edit")


class Unclear(Exception):
    """A request part that was recognised but cannot be applied unambiguously."""


def canonical(workflow: Workflow | dict[str, Any]) -> dict[str, Any]:
    """The canonical dict of a workflow (all fields, JSON types): the base of every diff."""
    wf = workflow if isinstance(workflow, Workflow) else Workflow.model_validate(workflow)
    return wf.model_dump(mode="json")


def load_canonical(workflow: Workflow | dict[str, Any]
                   ) -> tuple[dict[str, Any] | None, list[str]]:
    """`canonical(workflow)` and no errors, or None and why the input is not a workflow."""
    try:
        return canonical(workflow), []
    except ValidationError as exc:
        return None, [f"the input is not a workflow: {e['loc']}: {e['msg']}" for e in exc.errors()]


def finish(original: dict[str, Any], edited: dict[str, Any], summary: list[str]) -> Revision:
    """Validate an edited copy of `original`; the Revision of it (version + 1, diff) or of its
    rejection."""
    new = copy.deepcopy(edited)
    if new == original:
        report = validate_workflow(original)
        return Revision(workflow=original, summary=summary, valid=report.valid,
                        errors=report.errors)
    new["version"] = original["version"] + 1
    report = validate_workflow(new)
    if not report.valid or report.workflow is None:
        return Revision(workflow=original, summary=summary, valid=False,
                        errors=[f"the revised workflow is invalid: {e}" for e in report.errors],
                        attempted=new)
    result = report.workflow.model_dump(mode="json")
    return Revision(workflow=result, diff=jsonpatch.make_patch(original, result).patch,
                    summary=summary, valid=True)
