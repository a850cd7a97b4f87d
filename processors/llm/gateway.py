"""`LlmGateway`: every model call of the product goes through here.

    gateway.complete_json(operation="analyze_requirements", tenant_id="dealer-1",
                          messages=[...], schema={...})

1. **Policy**: the operation's minimum tier and latency objective pick the cheapest available
   model meeting both (ties: the faster one).
2. **Budget**: if the tenant's spend today plus this call's estimated cost exceeds its daily
   budget, the call is downgraded to the cheapest free model (or rejected: `BudgetExceeded`).
3. **Cache**: an exact-match hit (normalised prompt + model + parameters) returns at once.
4. **LiteLLM Router**: retries, cooldowns, timeouts and fallbacks across models; the output
   is always JSON-schema constrained and checked against the schema.
5. **Usage**: one `ModelUsage` event per attempt — failed attempts before a fallback, the
   success, cache hits and budget rejections — priced by litellm from the registered prices.
6. **State**: `state()` is the live picture (the Router's cooldowns and failure counts, spend
   per tenant against its budget); listeners (`add_listener`) hear of every finished call, so
   the worker can publish it (processors/llm/state.py) for `auterity models`.

One gateway per process: its ledger, cache and router are that process's whole view, so a
worker builds one and hands it to every step.

Invariants: prompts passed in must already be redacted (the builder only ever sees
`redacted_text`); nothing is returned that did not validate against the requested schema.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jsonschema
import litellm
from litellm.integrations.custom_logger import CustomLogger
from litellm.router_utils.router_callbacks.track_deployment_metrics import (
    get_deployment_failures_for_current_minute,
    get_deployment_successes_for_current_minute,
)

from processors.llm import local_provider
from processors.llm.cache import ResponseCache, cache_key
from processors.llm.config import ModelSpec, RouterConfig, load_config
from processors.llm.errors import BudgetExceeded, LlmError, ModelOutputError, NoModelAvailable
from processors.llm.spend import SpendLedger
from processors.llm.state import DeploymentState, GatewayState, TenantSpend
from processors.llm.usage import UsageSink, usage_event
from schemas.events import ModelUsage

log = logging.getLogger("auterity.llm.gateway")

litellm.telemetry = False
litellm.suppress_debug_info = True


@dataclass
class JsonCompletion:
    data: dict[str, Any]
    model: str
    provider: str
    cache_hit: bool
    downgraded: str | None = None
    usage: list[ModelUsage] = field(default_factory=list)


@dataclass
class _Attempt:
    model: str
    error_class: str
    latency_ms: float


class _FailureCollector(CustomLogger):
    """litellm calls failure handlers synchronously (its router's fallbacks rely on that),
    so every failed attempt of a call is recorded before the call returns or raises."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, list[_Attempt]] = {}
        self.lock = threading.Lock()

    def log_failure_event(self, kwargs: dict, response_obj: Any, start_time: Any,
                          end_time: Any) -> None:
        meta = (kwargs.get("litellm_params") or {}).get("metadata") or {}
        call_id = meta.get("auterity_call_id")
        if call_id is None:
            return
        exc = kwargs.get("exception")
        model_id = (meta.get("model_info") or {}).get("id") or str(kwargs.get("model"))
        ms = (end_time - start_time).total_seconds() * 1000 if start_time and end_time else 0.0
        with self.lock:
            if call_id in self.calls:
                self.calls[call_id].append(
                    _Attempt(model_id, type(exc).__name__ if exc else "Error", ms))


_collector = _FailureCollector()


_validators: dict[str, Any] = {}


def schema_validator(schema: dict[str, Any]) -> Any:
    """A compiled jsonschema validator per distinct schema (checking a schema costs ~1 ms)."""
    key = json.dumps(schema, sort_keys=True)
    found = _validators.get(key)
    if found is None:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        found = _validators[key] = cls(schema)
    return found


def estimate_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content", ""))) for m in messages) // 4 + 8


class LlmGateway:
    def __init__(self, config: RouterConfig | None = None, sink: UsageSink | None = None,
                 ledger: SpendLedger | None = None) -> None:
        self.config = config or load_config()
        self.sink = sink
        self.ledger = ledger or SpendLedger()
        self.started_at = datetime.now(UTC)
        self._listeners: list[Callable[[], None]] = []
        self._last_failure: dict[str, tuple[datetime, str]] = {}
        self.cache = ResponseCache(self.config.cache.ttl_s, self.config.cache.max_entries)
        local_provider.register()
        if _collector not in litellm.callbacks:
            litellm.callbacks.append(_collector)
        self.available = self.config.available_models()
        litellm.register_model({
            m.litellm_model: {"input_cost_per_token": m.input_cost_per_token,
                              "output_cost_per_token": m.output_cost_per_token,
                              "cache_creation_input_token_cost": 0.0,
                              "cache_read_input_token_cost": 0.0,
                              "litellm_provider": m.provider, "mode": "chat"}
            for m in self.available})
        r = self.config.router
        self.router = litellm.Router(
            model_list=[self._deployment(m) for m in self.available],
            fallbacks=self.config.available_fallbacks(),
            num_retries=r.num_retries, allowed_fails=r.allowed_fails,
            cooldown_time=r.cooldown_time_s, timeout=r.timeout_s,
        ) if self.available else None

    @staticmethod
    def _deployment(m: ModelSpec) -> dict[str, Any]:
        params: dict[str, Any] = {**m.litellm_params, "model": m.litellm_model,
                                  "timeout": m.timeout_s}
        if m.api_base:
            params["api_base"] = m.api_base
        return {"model_name": m.name, "litellm_params": params,
                "model_info": {"id": m.name, "quality_tier": m.tier}}

    # -- policy -------------------------------------------------------------------------
    def select_model(self, operation: str, est_input: int, est_output: int) -> ModelSpec:
        """The cheapest available model meeting the operation's tier and latency objective;
        if none meets the latency objective, the fastest meeting the tier."""
        policy = self.config.policy(operation)
        tiered = [m for m in self.available if m.tier >= policy.min_tier]
        if not tiered:
            raise NoModelAvailable(
                f"no available model has tier >= {policy.min_tier} for {operation!r}; "
                f"available: {[m.name for m in self.available] or 'none'} (set the API key "
                "a model's requires_env names, or lower min_tier)")
        fast = [m for m in tiered if m.latency_ms <= policy.latency_ms]
        if not fast:
            return min(tiered, key=lambda m: m.latency_ms)
        return min(fast, key=lambda m: (m.estimated_cost(est_input, est_output), m.latency_ms))

    def _within_budget(self, tenant_id: str, spec: ModelSpec, est_in: int, est_out: int
                       ) -> tuple[ModelSpec, str | None]:
        limit = self.config.budgets.limit(tenant_id)
        spent = self.ledger.spent(tenant_id)
        if spent + spec.estimated_cost(est_in, est_out) <= limit:
            return spec, None
        why = (f"tenant {tenant_id!r} spent ${spent:.4f} of its ${limit:.2f} daily budget; "
               f"{spec.name} would cost ~${spec.estimated_cost(est_in, est_out):.4f}")
        free = [m for m in self.available if m.estimated_cost(est_in, est_out) == 0]
        if self.config.budgets.on_exceeded == "downgrade" and free:
            cheapest = min(free, key=lambda m: m.latency_ms)
            return cheapest, f"{why}: downgraded to {cheapest.name}"
        raise BudgetExceeded(why)

    # -- calls ---------------------------------------------------------------------------
    def _emit(self, events: list[ModelUsage], **fields: Any) -> None:
        ev = usage_event(**fields)
        events.append(ev)
        if self.sink is not None:
            self.sink(ev)

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call `listener()` after every call (success or failure): the state changed."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # a listener must never fail a model call; it is logged
                log.exception("LLM gateway state listener %r failed", listener)

    def complete_json(self, *, operation: str, tenant_id: str, messages: list[dict[str, Any]],
                      schema: dict[str, Any], user_id: str | None = None,
                      max_tokens: int | None = None, temperature: float = 0.0,
                      **litellm_kwargs: Any) -> JsonCompletion:
        """A JSON answer validated against `schema`. `litellm_kwargs` go to the router
        (unit tests pass `mock_response` / `mock_testing_fallbacks` here)."""
        try:
            return self._complete_json(operation=operation, tenant_id=tenant_id,
                                       messages=messages, schema=schema, user_id=user_id,
                                       max_tokens=max_tokens, temperature=temperature,
                                       **litellm_kwargs)
        finally:
            self._changed()

    def _complete_json(self, *, operation: str, tenant_id: str,
                       messages: list[dict[str, Any]], schema: dict[str, Any],
                       user_id: str | None, max_tokens: int | None, temperature: float,
                       **litellm_kwargs: Any) -> JsonCompletion:
        started = time.perf_counter()
        events: list[ModelUsage] = []
        base = {"tenant_id": tenant_id, "user_id": user_id, "operation": operation}
        max_tokens = max_tokens or self.config.policy(operation).max_tokens
        est_in = estimate_tokens(messages)
        if self.router is None:
            raise NoModelAvailable("no configured model is available")
        spec = self.select_model(operation, est_in, max_tokens)
        try:
            spec, downgraded = self._within_budget(tenant_id, spec, est_in, max_tokens)
        except BudgetExceeded:
            self._emit(events, **base, model=spec.name, provider=spec.provider, success=False,
                       error_class="BudgetExceeded",
                       latency_ms=(time.perf_counter() - started) * 1000)
            raise
        key = cache_key(spec.name, messages, {"schema": schema, "max_tokens": max_tokens,
                                              "temperature": temperature})
        hit = self.cache.get(key)
        if hit is not None:
            answer, model_name = hit
            provider = self.config.model(model_name).provider
            self._emit(events, **base, model=model_name, provider=provider, cache_hit=True,
                       latency_ms=(time.perf_counter() - started) * 1000)
            return JsonCompletion(answer, model_name, provider, True, downgraded, events)

        call_id = uuid.uuid4().hex
        with _collector.lock:
            _collector.calls[call_id] = []
        call_started = time.perf_counter()
        try:
            response = self.router.completion(
                model=spec.name, messages=messages, max_tokens=max_tokens,
                temperature=temperature,
                response_format={"type": "json_schema",
                                 "json_schema": {"name": operation, "schema": schema,
                                                 "strict": True}},
                metadata={"auterity_call_id": call_id, **base}, **litellm_kwargs)
        except Exception as exc:
            self._emit_failures(events, base, call_id)
            if not any(e.error_class == type(exc).__name__ for e in events):
                self._emit(events, **base, model=spec.name, provider=spec.provider,
                           success=False, error_class=type(exc).__name__,
                           latency_ms=(time.perf_counter() - call_started) * 1000)
            raise LlmError(f"{operation}: every model failed: {type(exc).__name__}: "
                           f"{str(exc)[:300]}") from exc
        failed_ms = self._emit_failures(events, base, call_id)
        served = self._served_model(response, spec)
        usage = getattr(response, "usage", None)
        tokens_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        tokens_out = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = float(sum(litellm.cost_per_token(
            model=served.litellm_model, prompt_tokens=tokens_in, completion_tokens=tokens_out)))
        latency = (time.perf_counter() - call_started) * 1000 - failed_ms
        content = response.choices[0].message.content or ""  # type: ignore[union-attr]
        try:
            answer = json.loads(content, strict=False)  # newlines in strings are fine
            schema_validator(schema).validate(answer)
        except (json.JSONDecodeError, jsonschema.ValidationError) as exc:
            self._emit(events, **base, model=served.name, provider=served.provider,
                       input_tokens=tokens_in, output_tokens=tokens_out, cost_usd=cost,
                       latency_ms=latency, success=False, error_class="ModelOutputError")
            self.ledger.add(tenant_id, cost)
            raise ModelOutputError(
                f"{operation}: {served.name} answered outside the schema: "
                f"{getattr(exc, 'message', str(exc))[:300]}") from exc
        self.ledger.add(tenant_id, cost)
        self._emit(events, **base, model=served.name, provider=served.provider,
                   input_tokens=tokens_in, output_tokens=tokens_out, cost_usd=cost,
                   latency_ms=latency)
        self.cache.put(key, answer, served.name)
        return JsonCompletion(answer, served.name, served.provider, False, downgraded, events)

    async def acomplete_json(self, **kwargs: Any) -> JsonCompletion:
        """`complete_json` on a worker thread: the event loop never waits on a model."""
        return await asyncio.to_thread(lambda: self.complete_json(**kwargs))

    def _served_model(self, response: Any, requested: ModelSpec) -> ModelSpec:
        model_id = (getattr(response, "_hidden_params", None) or {}).get("model_id")
        try:
            return self.config.model(model_id) if model_id else requested
        except KeyError:
            return requested

    def _emit_failures(self, events: list[ModelUsage], base: dict[str, Any],
                       call_id: str) -> float:
        with _collector.lock:
            attempts = _collector.calls.pop(call_id, [])
        for a in attempts:
            self._last_failure[a.model] = (datetime.now(UTC), a.error_class)
            try:
                spec = self.config.model(a.model)
                name, provider = spec.name, spec.provider
            except KeyError:
                name, provider = a.model, a.model.split("/", 1)[0]
            self._emit(events, **base, model=name, provider=provider, success=False,
                       error_class=a.error_class, latency_ms=a.latency_ms)
        return sum(a.latency_ms for a in attempts)

    # -- status --------------------------------------------------------------------------
    def _cooldowns(self) -> dict[str, tuple[datetime, str]]:
        """Deployments the Router has in cooldown now: id -> (until, why), from its own
        cooldown cache."""
        if self.router is None:
            return {}
        active = self.router.cooldown_cache.get_active_cooldowns(
            model_ids=self.router.get_model_ids(), parent_otel_span=None)
        out = {}
        for model_id, value in active:
            until = datetime.fromtimestamp(
                float(value["timestamp"]) + float(value["cooldown_time"]), UTC)
            out[model_id] = (until, f"{value.get('status_code', '')} "
                                    f"{value.get('exception_received', '')}".strip()[:300])
        return out

    def deployments_state(self) -> list[DeploymentState]:
        """Each configured model: availability, prices, cooldown (until when, why) and the
        Router's failure/success counts of the current minute."""
        cooling = self._cooldowns()
        deployed = set(self.router.get_model_ids()) if self.router else set()
        rows = []
        router = self.router
        for m in self.config.models:
            missing = [v for v in m.requires_env if not os.environ.get(v)]
            until, why = cooling.get(m.name, (None, None))
            last = self._last_failure.get(m.name)
            in_router = m.name in deployed and router is not None
            rows.append(DeploymentState(
                name=m.name, model=m.litellm_model, provider=m.provider, tier=m.tier,
                latency_ms=m.latency_ms, input_usd_per_1k=m.input_cost_per_token * 1000,
                output_usd_per_1k=m.output_cost_per_token * 1000, available=not missing,
                missing_env=missing,
                health="unavailable" if missing else "cooling_down" if until else "ok",
                cooldown_until=until, cooldown_reason=why,
                failures_last_minute=int(get_deployment_failures_for_current_minute(
                    router, m.name)) if router is not None and in_router else 0,
                successes_last_minute=int(get_deployment_successes_for_current_minute(
                    router, m.name)) if router is not None and in_router else 0,
                last_failure_at=last[0] if last else None,
                last_error=last[1] if last else None))
        return rows

    def state(self, pid: int | None = None) -> GatewayState:
        """The gateway's live state: deployments and spend today per tenant vs its budget."""
        budgets = self.config.budgets
        spent = self.ledger.totals()
        tenants = sorted(set(spent) | set(budgets.tenants))
        return GatewayState(
            pid=os.getpid() if pid is None else pid, written_at=datetime.now(UTC),
            started_at=self.started_at, budgets_seeded=self.ledger.seeded,
            budgets_seeded_at=self.ledger.seeded_at, seed_error=self.ledger.seed_error,
            default_budget_usd=budgets.default_usd_per_day,
            on_budget_exceeded=budgets.on_exceeded, deployments=self.deployments_state(),
            tenants=[TenantSpend(tenant_id=t, spent_usd=spent.get(t, 0.0),
                                 budget_usd=budgets.limit(t)) for t in tenants])

    def models_status(self) -> list[dict[str, Any]]:
        """Each configured model: availability, tier, prices, and whether it cools down."""
        rows = []
        for d in self.deployments_state():
            health = {"ok": "ok", "cooling_down": "cooling down"}.get(
                d.health, f"unavailable (set {', '.join(d.missing_env)})")
            rows.append({"name": d.name, "model": d.model, "provider": d.provider,
                         "tier": d.tier, "latency_ms": d.latency_ms,
                         "input_usd_per_1k": d.input_usd_per_1k,
                         "output_usd_per_1k": d.output_usd_per_1k,
                         "available": d.available, "health": health})
        return rows
