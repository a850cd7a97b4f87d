"""LLM bench rows: router overhead, cache-hit latency, local model tokens/s, analyses/s.

    python -m bench.llm_bench

- Router overhead: `LlmGateway.complete_json` (policy, budget, cache lookup, LiteLLM Router,
  usage event, JSON + schema check) vs a direct `litellm.completion` call, both answering
  from litellm's `mock_response` so only the routing code is timed (cache disabled).
- Cache hit: a repeated gateway call answered from the exact-match cache.
- Local model: completion tokens/s of the packaged GGUF through the gateway vs bare
  llama-cpp-python `create_chat_completion` with the same schema-constrained prompt.
- Analyses/s: full requirement analyses (rules + local model) vs rules only.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

import litellm

from bench.table import print_table, row
from processors.analysis.analyzer import (
    EXAMPLE_ANSWER,
    EXAMPLE_USER,
    MODEL_SCHEMA,
    SYSTEM_PROMPT,
    analyze,
    rules_analysis,
)
from processors.llm import local_provider
from processors.llm.config import RouterConfig, load_config
from processors.llm.gateway import LlmGateway
from processors.llm.model_files import local_model_path
from processors.llm.usage import CollectingSink

SCHEMA = {"type": "object", "properties": {"intent": {"type": "string"}},
          "required": ["intent"]}
MSGS = [{"role": "user", "content": "Text customers 3 days before their appointment"}]
ANSWER = json.dumps({"intent": "create_workflow"})


def _p50(samples: list[float]) -> float:
    return statistics.median(samples)


def _mock_config() -> RouterConfig:
    cfg = load_config().model_copy(deep=True)
    cfg.models = [m for m in cfg.models if m.provider == "auterity-local"]
    cfg.fallbacks = {}
    cfg.cache.max_entries = 0
    return cfg


def router_rows(n: int = 300) -> list[dict[str, Any]]:
    gw = LlmGateway(_mock_config(), CollectingSink())
    model = gw.available[0].litellm_model
    direct, routed = [], []
    for i in range(n + 20):
        t = time.perf_counter()
        litellm.completion(model=model, messages=MSGS, mock_response=ANSWER, max_tokens=64)
        d = time.perf_counter() - t
        t = time.perf_counter()
        gw.complete_json(operation="default", tenant_id="bench", messages=MSGS, schema=SCHEMA,
                         mock_response=ANSWER, max_tokens=64)
        r = time.perf_counter() - t
        if i >= 20:  # warm-up excluded
            direct.append(d * 1000)
            routed.append(r * 1000)
    overhead = _p50(routed) - _p50(direct)
    cached = LlmGateway(load_config(), CollectingSink())
    cached.complete_json(operation="default", tenant_id="bench", messages=MSGS, schema=SCHEMA,
                         mock_response=ANSWER)
    hits = []
    for _ in range(n):
        t = time.perf_counter()
        res = cached.complete_json(operation="default", tenant_id="bench", messages=MSGS,
                                   schema=SCHEMA)
        hits.append((time.perf_counter() - t) * 1000)
        assert res.cache_hit
    return [
        row("LLM call p50 (mock answer), gateway vs direct litellm.completion",
            "litellm.completion p50 ms", _p50(direct), _p50(routed), "ms"),
        row("router overhead p50 (target < 2 ms)", "-", None, overhead, "ms", ratio=None),
        row("cache hit p50 (target < 1 ms) vs direct mock call", "litellm.completion p50 ms",
            _p50(direct), _p50(hits), "ms"),
    ]


def local_model_rows(n: int = 4) -> list[dict[str, Any]]:
    # Lazy: llama-cpp-python loads its native library (and processors.llm.local_provider
    # imports it only when the local model is first used); only these rows need it bare.
    from llama_cpp import Llama

    texts = [f"Text customers {k} days before their service appointment and email a coupon "
             f"if they don't confirm" for k in range(2, 2 + n)]
    msgs = [[{"role": "system", "content": SYSTEM_PROMPT},
             {"role": "user", "content": EXAMPLE_USER},
             {"role": "assistant", "content": EXAMPLE_ANSWER},
             {"role": "user", "content": t}] for t in texts]
    local_provider._close()
    bare = Llama(model_path=str(local_model_path()), n_ctx=4096, verbose=False, seed=0,
                 n_threads=local_provider.threads())
    tokens, secs = 0, 0.0
    for m in msgs:
        t = time.perf_counter()
        out = bare.create_chat_completion(
            messages=m, max_tokens=320, temperature=0.0, seed=0,  # type: ignore[arg-type]
            response_format={"type": "json_object", "schema": MODEL_SCHEMA})
        secs += time.perf_counter() - t
        tokens += out["usage"]["completion_tokens"]  # type: ignore[index] # not streamed
    bare.close()
    bare_tps = tokens / secs
    sink = CollectingSink()
    gw = LlmGateway(sink=sink)
    t = time.perf_counter()
    for text in texts:
        analyze(text, gw, tenant_id="bench")
    full_secs = time.perf_counter() - t
    ok = [e for e in sink.events if e.success and not e.cache_hit]
    ours_tps = sum(e.output_tokens for e in ok) / (sum(e.latency_ms for e in ok) / 1000)
    t = time.perf_counter()
    for _ in range(50):
        for text in texts:
            rules_analysis(text)
    rules_rate = 50 * len(texts) / (time.perf_counter() - t)
    return [
        row("local model completion tokens/s (JSON schema), gateway vs bare llama.cpp",
            "llama-cpp-python tokens/s", bare_tps, ours_tps, "tok/s"),
        row("requirement analyses/s: rules + local model vs rules only",
            "rules-only analyses/s", rules_rate, len(texts) / full_secs, "analyses/s"),
    ]


if __name__ == "__main__":
    print_table(router_rows() + local_model_rows())
