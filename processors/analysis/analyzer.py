"""Requirement analysis of a redacted workflow-builder message.

Rules decide what they decide reliably — intent, channels, timing (with an ISO offset),
department/domain, segment/vehicle/conditions — and the model (through the LLM gateway,
schema-constrained) adds functional requirements, constraints, success criteria and the
entities the rules missed. The model never overrides a rule-decided field.

If the model is unavailable or answers outside its schema, the analysis still completes from
the rules alone (`sources.model` says why), so a flaky model never stalls the stream.
Invariant: only redacted text reaches this module (callers pass `redacted_text`).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from processors.analysis.entities import extract_entities, split_requirements
from processors.analysis.intent import INTENTS, classify_intent
from processors.analysis.rules import classify_domain, extract_channels, extract_timing
from processors.llm.errors import LlmError

DOMAINS = ("sales", "service", "parts", "finance", "marketing")
OPERATION = "analyze_requirements"

MODEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "domain": {"type": "string", "enum": list(DOMAINS)},
        "customer_segment": {"type": "string"},
        "vehicle": {"type": "string"},
        "requirements": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
        "constraints": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        "success_criteria": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
    },
    "required": ["domain", "customer_segment", "vehicle", "requirements", "constraints",
                 "success_criteria"],
}

SYSTEM_PROMPT = (
    "You analyse automation requests from car dealership staff. Reply with JSON only. "
    "requirements: what the workflow must do, one short imperative each. constraints: limits "
    "such as quiet hours, opt-out, budget, staff availability. success_criteria: measurable "
    "outcomes (e.g. 'appointment confirmed', 'reply within 5 minutes'). Use \"\" when the "
    "request does not name a customer segment or vehicle.")
EXAMPLE_USER = "Email lease customers 90 days before lease end and assign a salesperson"
EXAMPLE_ANSWER = (
    '{"domain": "finance", "customer_segment": "lease customers", "vehicle": "", '
    '"requirements": ["Find leases ending in 90 days", "Email the customer", '
    '"Assign a salesperson"], "constraints": ["Respect email opt-outs"], '
    '"success_criteria": ["Customer books a lease-end appointment"]}')


class Analysis(BaseModel):
    """The analysis the CLI prints and the stream publishes (as RequirementAnalysis)."""

    intent: str = Field(description=" | ".join(INTENTS))
    domain: str
    channels: list[str]
    timing: str | None
    timing_offset: str | None
    timings: list[dict[str, str | None]] = Field(default_factory=list)
    entities: dict[str, str]
    requirements: list[str]
    constraints: list[str]
    success_criteria: list[str]
    confidence: float
    sources: dict[str, str] = Field(default_factory=dict)


def rules_analysis(text: str) -> Analysis:
    """Everything the rules decide; requirements are the request's clauses."""
    intent, confidence = classify_intent(text)
    timings = extract_timing(text)
    domain = classify_domain(text)
    entities = extract_entities(text)
    constraints = []
    if "quiet hours" in text.lower() or "business hours" in text.lower():
        constraints.append("Only contact customers during business hours")
    return Analysis(
        intent=intent, domain=domain or "unknown", channels=extract_channels(text),
        timing=timings[0].phrase if timings else None,
        timing_offset=timings[0].iso_offset if timings else None,
        timings=[{"phrase": t.phrase, "iso_offset": t.iso_offset} for t in timings],
        entities=entities, requirements=split_requirements(text) if intent != "none" else [],
        constraints=constraints, success_criteria=[],
        confidence=confidence if domain else confidence - 0.2,
        sources={"intent": "rules", "channels": "rules", "timing": "rules",
                 "domain": "rules" if domain else "none", "model": "not used"})


def analyze(text: str, gateway: Any | None = None, *, tenant_id: str = "local",
            user_id: str | None = None) -> Analysis:
    """Rules first; then the model through `gateway` (an LlmGateway) for the rest."""
    result = rules_analysis(text)
    if gateway is None or result.intent == "none":
        return result
    try:
        answer = gateway.complete_json(
            operation=OPERATION, tenant_id=tenant_id, user_id=user_id, schema=MODEL_SCHEMA,
            messages=[{"role": "system", "content": SYSTEM_PROMPT},
                      {"role": "user", "content": EXAMPLE_USER},
                      {"role": "assistant", "content": EXAMPLE_ANSWER},
                      {"role": "user", "content": text}])
    except LlmError as exc:
        result.sources["model"] = f"failed: {exc}"[:300]
        return result
    data = answer.data
    update: dict[str, Any] = {"sources": {**result.sources, "model": answer.model}}
    if result.domain == "unknown":
        update["domain"] = data["domain"]
        update["sources"]["domain"] = "model"
    entities = dict(result.entities)
    for key in ("customer_segment", "vehicle"):
        value = str(data.get(key) or "").strip()
        if value and key not in entities:
            entities[key] = value
    update["entities"] = entities
    for key in ("requirements", "constraints", "success_criteria"):
        items = [str(x).strip() for x in data.get(key, []) if str(x).strip()]
        if items:  # the rules' own items first: they quote the request
            update[key] = list(dict.fromkeys([*getattr(result, key), *items]))[:8]
    update["confidence"] = min(0.95, result.confidence + 0.05)
    return result.model_copy(update=update)
