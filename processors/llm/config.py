"""Router configuration: a YAML file (default: processors/llm/router.yaml) plus environment.

`AUTERITY_LLM_CONFIG` names another file. A model is *available* when every environment
variable in its `requires_env` is set, so a provider switches on by its API key alone.
Invariant: the loaded config names only known models in fallbacks, and the fallback
chains of available models contain only available models.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.errors import describe

DEFAULT_CONFIG = Path(__file__).resolve().parent / "router.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSpec(_Strict):
    name: str = Field(min_length=1)
    litellm_model: str = Field(min_length=1, description="provider/model as litellm names it")
    tier: int = Field(ge=1, le=3)
    latency_ms: float = Field(gt=0)
    input_cost_per_token: float = Field(ge=0)
    output_cost_per_token: float = Field(ge=0)
    requires_env: list[str] = Field(default_factory=list)
    timeout_s: float = Field(default=60, gt=0)
    api_base: str | None = None
    litellm_params: dict[str, Any] = Field(
        default_factory=dict, description="extra litellm deployment params (api_version, ...)")

    @property
    def provider(self) -> str:
        return self.litellm_model.split("/", 1)[0]

    def available(self) -> bool:
        return all(os.environ.get(v) for v in self.requires_env)

    def estimated_cost(self, input_tokens: int, output_tokens: int) -> float:
        return (self.input_cost_per_token * input_tokens
                + self.output_cost_per_token * output_tokens)


class RouterSettings(_Strict):
    num_retries: int = Field(default=1, ge=0)
    allowed_fails: int = Field(default=2, ge=0)
    cooldown_time_s: float = Field(default=30, ge=0)
    timeout_s: float = Field(default=120, gt=0)


class OperationPolicy(_Strict):
    min_tier: int = Field(default=1, ge=1, le=3)
    latency_ms: float = Field(default=10_000, gt=0)
    max_tokens: int = Field(default=256, gt=0)


class Budgets(_Strict):
    default_usd_per_day: float = Field(default=5.0, ge=0)
    on_exceeded: Literal["downgrade", "reject"] = "downgrade"
    tenants: dict[str, float] = Field(default_factory=dict)

    def limit(self, tenant_id: str) -> float:
        return self.tenants.get(tenant_id, self.default_usd_per_day)


class CacheSettings(_Strict):
    ttl_s: float = Field(default=3600, gt=0)
    max_entries: int = Field(default=10_000, ge=0)


class RouterConfig(_Strict):
    models: list[ModelSpec] = Field(min_length=1)
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    router: RouterSettings = Field(default_factory=RouterSettings)
    operations: dict[str, OperationPolicy] = Field(default_factory=dict)
    budgets: Budgets = Field(default_factory=Budgets)
    cache: CacheSettings = Field(default_factory=CacheSettings)

    @model_validator(mode="after")
    def _known_names(self) -> RouterConfig:
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate model names in {names}")
        for src, targets in self.fallbacks.items():
            for name in (src, *targets):
                if name not in names:
                    raise ValueError(f"fallbacks name unknown model {name!r} (known: {names})")
        return self

    def model(self, name: str) -> ModelSpec:
        for m in self.models:
            if m.name == name:
                return m
        raise KeyError(f"unknown model {name!r}")

    def available_models(self) -> list[ModelSpec]:
        return [m for m in self.models if m.available()]

    def policy(self, operation: str) -> OperationPolicy:
        return self.operations.get(operation) or self.operations.get("default") or \
            OperationPolicy()

    def available_fallbacks(self) -> list[dict[str, list[str]]]:
        up = {m.name for m in self.available_models()}
        return [{src: [t for t in targets if t in up]} for src, targets in self.fallbacks.items()
                if src in up and any(t in up for t in targets)]


class ConfigError(ValueError):
    """The router configuration file is missing or invalid."""


def load_config(path: str | Path | None = None) -> RouterConfig:
    """Read and validate the router config; errors name the file and every bad field."""
    path = Path(path or os.environ.get("AUTERITY_LLM_CONFIG") or DEFAULT_CONFIG)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read LLM router config {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"LLM router config {path} is not valid YAML: {exc}") from exc
    try:
        return RouterConfig.model_validate(data or {})
    except ValidationError as exc:
        raise ConfigError(f"LLM router config {path}: " + "; ".join(describe(exc))) from exc
