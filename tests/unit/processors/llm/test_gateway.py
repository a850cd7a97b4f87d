"""LLM gateway: policy, fallbacks, budgets, cache and cost (litellm mock_response, no network)."""

from __future__ import annotations

import json

import pytest

from processors.llm.config import ConfigError, RouterConfig, load_config
from processors.llm.gateway import BudgetExceeded, LlmError, LlmGateway, ModelOutputError
from processors.llm.usage import CollectingSink

SCHEMA = {"type": "object", "properties": {"intent": {"type": "string"}},
          "required": ["intent"]}
MSGS = [{"role": "system", "content": "Classify."},
        {"role": "user", "content": "Text customers 3 days before their appointment"}]
ANSWER = json.dumps({"intent": "create_workflow"})


def config(**overrides) -> RouterConfig:
    data = {
        "models": [
            {"name": "free-local", "litellm_model": "openai/free-local", "tier": 1,
             "latency_ms": 3000, "input_cost_per_token": 0.0, "output_cost_per_token": 0.0},
            {"name": "mini", "litellm_model": "openai/gpt-4o-mini", "tier": 2,
             "latency_ms": 1500, "input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6},
            {"name": "big", "litellm_model": "openai/gpt-4o", "tier": 3, "latency_ms": 3000,
             "input_cost_per_token": 1e-5, "output_cost_per_token": 3e-5},
            {"name": "keyed", "litellm_model": "anthropic/claude-3-5-haiku-latest", "tier": 3,
             "latency_ms": 100, "input_cost_per_token": 0.0, "output_cost_per_token": 0.0,
             "requires_env": ["AUTERITY_TEST_UNSET_KEY"]},
        ],
        "fallbacks": {"big": ["mini", "free-local"], "mini": ["free-local"]},
        "router": {"num_retries": 0, "allowed_fails": 5, "cooldown_time_s": 1},
        "operations": {"cheap": {"min_tier": 1, "latency_ms": 5000},
                       "good": {"min_tier": 2, "latency_ms": 5000},
                       "best_fast": {"min_tier": 3, "latency_ms": 2000}},
        "budgets": {"default_usd_per_day": 1.0, "on_exceeded": "downgrade"},
    }
    data.update(overrides)
    return RouterConfig.model_validate(data)


@pytest.fixture
def sink() -> CollectingSink:
    return CollectingSink()


def call(gw: LlmGateway, operation: str = "good", tenant: str = "dealer-1", **kw):
    kw.setdefault("mock_response", ANSWER)
    return gw.complete_json(operation=operation, tenant_id=tenant, messages=MSGS,
                            schema=SCHEMA, user_id="u1", **kw)


def test_policy_picks_cheapest_model_meeting_tier_and_latency(monkeypatch, sink):
    monkeypatch.delenv("AUTERITY_TEST_UNSET_KEY", raising=False)
    gw = LlmGateway(config(), sink)
    assert gw.select_model("cheap", 100, 100).name == "free-local"
    assert gw.select_model("good", 100, 100).name == "mini"
    # tier 3 within 2 s: only `keyed` would qualify, but its key is not set -> fastest tier 3
    assert gw.select_model("best_fast", 100, 100).name == "big"
    monkeypatch.setenv("AUTERITY_TEST_UNSET_KEY", "sk-test")
    assert LlmGateway(config(), sink).select_model("best_fast", 100, 100).name == "keyed"


def test_success_is_priced_from_registered_prices_and_measured(sink):
    gw = LlmGateway(config(), sink)
    result = call(gw)
    assert result.data == {"intent": "create_workflow"} and result.model == "mini"
    [ev] = sink.events
    assert ev.success and not ev.cache_hit and ev.model == "mini" and ev.provider == "openai"
    assert ev.input_tokens > 0 and ev.output_tokens > 0
    assert ev.cost_usd == pytest.approx(ev.input_tokens * 1e-6 + ev.output_tokens * 2e-6)
    assert ev.tenant_id == "dealer-1" and ev.user_id == "u1" and ev.operation == "good"
    assert gw.ledger.spent("dealer-1") == pytest.approx(ev.cost_usd)


def test_fallback_emits_the_failed_attempt_and_the_success(sink):
    cfg = config()
    for m in cfg.models:  # `big` fails as a rate-limited provider would; the others answer
        m.litellm_params["mock_response"] = (
            "litellm.RateLimitError" if m.name == "big" else ANSWER)
    gw = LlmGateway(cfg, sink)
    result = gw.complete_json(operation="best_fast", tenant_id="dealer-1", messages=MSGS,
                              schema=SCHEMA)
    assert result.model == "mini" and result.data == {"intent": "create_workflow"}
    failed = [e for e in sink.events if not e.success]
    ok = [e for e in sink.events if e.success]
    assert [e.model for e in failed] == ["big"] and failed[0].error_class == "RateLimitError"
    assert len(ok) == 1 and ok[0].model == "mini" and ok[0].cost_usd > 0


def test_every_model_failing_raises_with_one_event_per_attempt(sink):
    cfg = config()
    for m in cfg.models:
        m.litellm_params["mock_response"] = "litellm.RateLimitError"
    gw = LlmGateway(cfg, sink)
    with pytest.raises(LlmError, match="every model failed"):
        gw.complete_json(operation="best_fast", tenant_id="dealer-1", messages=MSGS,
                         schema=SCHEMA)
    assert [e.model for e in sink.events] == ["big", "mini", "free-local"]
    assert not any(e.success for e in sink.events)


def test_cache_hit_after_whitespace_only_difference(sink):
    gw = LlmGateway(config(), sink)
    call(gw)
    spaced = [dict(MSGS[0]), {"role": "user", "content": "  Text customers 3 days  before "
                                                         "their appointment\n"}]
    hit = gw.complete_json(operation="good", tenant_id="dealer-1", messages=spaced,
                           schema=SCHEMA, mock_response=json.dumps({"intent": "other"}))
    assert hit.cache_hit and hit.data == {"intent": "create_workflow"}
    assert sink.events[-1].cache_hit and sink.events[-1].cost_usd == 0.0
    miss = call(gw, max_tokens=99, mock_response=json.dumps({"intent": "other"}))
    assert not miss.cache_hit and miss.data == {"intent": "other"}


def test_budget_downgrades_to_a_free_model(sink):
    gw = LlmGateway(config(budgets={"default_usd_per_day": 1.0, "on_exceeded": "downgrade",
                                    "tenants": {"dealer-poor": 0.0}}), sink)
    result = call(gw, tenant="dealer-poor")
    assert result.model == "free-local" and result.downgraded
    assert "dealer-poor" in result.downgraded and sink.events[-1].cost_usd == 0.0
    assert call(gw, tenant="dealer-rich").model == "mini"


def test_budget_rejects_when_configured(sink):
    gw = LlmGateway(config(budgets={"default_usd_per_day": 0.0, "on_exceeded": "reject"}), sink)
    with pytest.raises(BudgetExceeded, match="daily budget"):
        call(gw)
    assert sink.events[-1].error_class == "BudgetExceeded" and not sink.events[-1].success


def test_budget_spend_accumulates_until_exceeded(sink):
    gw = LlmGateway(config(budgets={"default_usd_per_day": 0.0008, "on_exceeded": "reject"}),
                    sink)
    first = call(gw)
    with pytest.raises(BudgetExceeded):  # today's spend now leaves no room for another call
        for i in range(50):
            call(gw, mock_response=json.dumps({"intent": f"x{i}"}), temperature=0.1 * (i + 1))
    assert gw.ledger.spent("dealer-1") >= first.usage[0].cost_usd


def test_output_outside_the_schema_is_an_error_and_not_cached(sink):
    gw = LlmGateway(config(), sink)
    with pytest.raises(ModelOutputError, match="outside the schema"):
        call(gw, mock_response=json.dumps({"wrong": 1}))
    assert sink.events[-1].error_class == "ModelOutputError"
    assert call(gw).data == {"intent": "create_workflow"}  # no poisoned cache entry


def test_config_errors_name_the_problem(tmp_path):
    bad = tmp_path / "router.yaml"
    bad.write_text("models:\n  - {name: a, litellm_model: openai/x, tier: 1, latency_ms: 1,"
                   " input_cost_per_token: 0, output_cost_per_token: 0}\nfallbacks: {a: [zz]}\n")
    with pytest.raises(ConfigError, match="zz"):
        load_config(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_default_config_loads_with_the_local_model_available():
    cfg = load_config()
    assert any(m.provider == "auterity-local" and m.available() for m in cfg.models)
