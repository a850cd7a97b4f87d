"""The real packaged model through the LLM gateway (no mocks): JSON-schema constrained
answers, measured usage, cache, and the timeout enforced during generation."""

from __future__ import annotations

import uuid

import pytest

from processors.analysis.analyzer import MODEL_SCHEMA, analyze
from processors.llm.config import load_config
from processors.llm.gateway import LlmError, LlmGateway
from processors.llm.usage import CollectingSink


@pytest.fixture(scope="module")
def gateway() -> LlmGateway:
    return LlmGateway(sink=CollectingSink())


def test_analysis_with_the_local_model(gateway):
    tenant = f"dealer-{uuid.uuid4().hex[:6]}"
    text = ("Text customers 3 days before their service appointment and email a coupon if "
            "they don't confirm")
    result = analyze(text, gateway, tenant_id=tenant)
    assert result.sources["model"] == "local-small"
    assert result.intent == "create_workflow" and result.channels == ["sms", "email"]
    assert result.timing_offset == "-P3D" and result.requirements
    [ev] = [e for e in gateway.sink.events if e.tenant_id == tenant]
    assert ev.success and ev.provider == "auterity-local" and ev.model == "local-small"
    assert ev.input_tokens > 50 and ev.output_tokens > 5 and ev.latency_ms > 0
    assert ev.cost_usd == 0.0 and not ev.cache_hit
    again = analyze(text, gateway, tenant_id=tenant)
    assert again == result
    assert [e.cache_hit for e in gateway.sink.events if e.tenant_id == tenant] == [False, True]


def test_local_answers_always_match_the_schema(gateway):
    for text in ("asdf qwerty", "Call every missed call back within 2 hours"):
        answer = gateway.complete_json(
            operation="analyze_requirements", tenant_id="dealer-schema", schema=MODEL_SCHEMA,
            messages=[{"role": "user", "content": f"Analyse: {text}"}])
        assert set(MODEL_SCHEMA["required"]) <= set(answer.data)
        assert answer.data["domain"] in ("sales", "service", "parts", "finance", "marketing")


def test_timeout_is_enforced_during_generation():
    cfg = load_config()
    cfg.models[0].timeout_s = 0.05
    cfg.router.num_retries = 0
    sink = CollectingSink()
    gw = LlmGateway(cfg, sink)
    with pytest.raises(LlmError, match="Timeout"):
        gw.complete_json(operation="customize_workflow", tenant_id="dealer-timeout",
                         schema={"type": "object", "properties": {"text": {"type": "string"}},
                                 "required": ["text"]},
                         messages=[{"role": "user", "content": "Write a long friendly text "
                                    "message reminding a customer about an oil change."}])
    assert sink.events and not any(e.success for e in sink.events)
    assert all(e.error_class == "Timeout" for e in sink.events)


def test_long_length_bounds_in_a_schema_do_not_abort_the_process(gateway):
    """llama.cpp aborts the whole process on a grammar with a repetition of 1,500 (the email
    campaign's first schema killed the worker; failed first): the bounds are dropped from
    the grammar and the answer is still validated against the full schema."""
    from processors.ai_agents.campaign import sequence_schema

    schema = sequence_schema(1)
    schema["properties"]["emails"]["items"]["properties"]["body"]["maxLength"] = 1500
    answer = gateway.complete_json(
        operation="email_campaign", tenant_id=f"dealer-{uuid.uuid4().hex[:6]}",
        messages=[{"role": "user", "content": "Write one short service reminder email as "
                   'JSON {"emails": [{"subject", "body", "delay_days"}]}.'}],
        schema=schema, max_tokens=200)
    [email] = answer.data["emails"]
    assert email["subject"] and len(email["body"]) <= 1500
