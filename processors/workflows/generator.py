"""Workflow generation: match a template, customise it, validate, repair or reject.

1. The request is matched against the template library by MiniLM similarity (plus small
   bonuses when the analysed domain/channels agree).
2. Rules customise timing: the analysed offset ("3 days before" -> -P3D) or window ("within
   5 minutes" -> PT5M) replaces the template's first duration slot of the same sign.
3. The model (LLM gateway, schema-constrained to the template's text slots) rewrites message
   texts for the request; its answer can only fill slots, never change the graph.
4. The result is validated. If invalid, the model's slot values are reverted to the
   template's defaults one at a time (repair); if it is still invalid it is rejected with the
   validator's reasons. Invariant: `GenerationResult.valid` is True only for a workflow that
   passed `validate_workflow`, and only such a workflow is ever published.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from processors.analysis.analyzer import Analysis
from processors.llm.errors import LlmError
from processors.workflows.matching import TemplateMatcher
from processors.workflows.templates import Template, load_templates
from processors.workflows.validator import parse_duration, validate_workflow

OPERATION = "customize_workflow"
MAX_TEXT_SLOT = 600
_matcher: TemplateMatcher | None = None


class GenerationResult(BaseModel):
    workflow: dict[str, Any] | None
    valid: bool
    errors: list[str] = Field(default_factory=list)
    template_id: str | None = None
    similarity: float | None = None
    slots: dict[str, str] = Field(default_factory=dict)
    repairs: list[str] = Field(default_factory=list)
    model: str | None = None
    alternatives: list[dict[str, Any]] = Field(default_factory=list)


def default_matcher() -> TemplateMatcher:
    """The process-wide TemplateMatcher over the packaged library (embeds it once)."""
    global _matcher
    if _matcher is None:
        _matcher = TemplateMatcher(load_templates())
    return _matcher


def timing_slots(template: Template, analysis: Analysis) -> dict[str, str]:
    """Put each analysed timing into the first unused duration slot of the same sign."""
    kinds = template.slot_kinds()
    free = [n for n, k in kinds.items() if k == "duration"]
    chosen: dict[str, str] = {}
    for t in analysis.timings:
        iso = t.get("iso_offset")
        if not iso:
            continue
        negative = iso.startswith("-")
        for name in free:
            if name not in chosen and template.slots[name].startswith("-") == negative:
                try:
                    parse_duration(iso)
                except ValueError:
                    break
                chosen[name] = iso
                break
    return chosen


_MESSAGE_SLOT = ("message", "subject", "body", "script")


def _text_slots(template: Template) -> list[str]:
    """The customer-facing message slots the model may rewrite (not codes or roles)."""
    return [n for n, k in template.slot_kinds().items()
            if k == "text" and any(w in n for w in _MESSAGE_SLOT)]


def _model_slots(template: Template, text: str, analysis: Analysis, gateway: Any,
                 tenant_id: str, user_id: str | None) -> tuple[dict[str, str], str | None]:
    names = _text_slots(template)
    if gateway is None or not names:
        return {}, None
    schema = {"type": "object", "properties": {n: {"type": "string"} for n in names},
              "required": names}
    defaults = {n: template.slots[n] for n in names}
    prompt = (
        f"A car dealership manager asked: {text!r}\n"
        f"Adapt these message texts of the workflow '{template.title}' to the request. Keep "
        "every {{trigger.x}} placeholder you use exactly as written, keep texts short and "
        "friendly, and answer JSON with the same keys.\n"
        f"Current texts: {defaults}")
    try:
        answer = gateway.complete_json(
            operation=OPERATION, tenant_id=tenant_id, user_id=user_id, schema=schema,
            messages=[{"role": "system", "content": "You write customer messages for car "
                       "dealerships. Reply with JSON only."},
                      {"role": "user", "content": prompt}])
    except LlmError:
        return {}, None
    slots = {}
    for name in names:
        value = str(answer.data.get(name, "")).strip()
        if value and len(value) <= MAX_TEXT_SLOT and "<<" not in value:
            slots[name] = value
    return slots, answer.model


def generate_workflow(text: str, analysis: Analysis, gateway: Any | None = None, *,
                      matcher: Any | None = None, tenant_id: str = "local",
                      user_id: str | None = None, workflow_id: str | None = None
                      ) -> GenerationResult:
    """A validated workflow for `text` (redacted), or the reasons it was rejected."""
    matcher = matcher or default_matcher()
    matches = matcher.match(text, analysis.domain if analysis.domain != "unknown" else None,
                            analysis.channels)
    best = matches[0]
    template = best.template
    alternatives = [{"template_id": m.template.id, "similarity": round(m.similarity, 3)}
                    for m in matches[1:4]]
    slots = timing_slots(template, analysis)
    model_slots, model = _model_slots(template, text, analysis, gateway, tenant_id, user_id)
    slots.update(model_slots)
    repairs: list[str] = []
    while True:
        try:
            workflow = template.instantiate(slots, workflow_id=workflow_id)
            report = validate_workflow(workflow)
            errors = report.errors
        except ValueError as exc:
            workflow, errors = None, [str(exc)]
        if not errors:
            return GenerationResult(
                workflow=workflow, valid=True, template_id=template.id,
                similarity=round(best.similarity, 3), slots=slots, repairs=repairs,
                model=model, alternatives=alternatives)
        reverted = next((n for n in reversed(list(slots)) if n in model_slots), None) or \
            next(iter(slots), None)
        if reverted is None:
            return GenerationResult(
                workflow=None, valid=False, errors=errors, template_id=template.id,
                similarity=round(best.similarity, 3), slots=slots, repairs=repairs,
                model=model, alternatives=alternatives)
        repairs.append(f"reverted slot {reverted!r} to the template default: {errors[0]}")
        slots.pop(reverted)
        model_slots.pop(reverted, None)
