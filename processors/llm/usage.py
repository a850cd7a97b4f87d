"""Model-usage events: one `ModelUsage` per model call attempt, cache hits included.

Sinks receive each event as it happens. A processor is handed its sink and knows no Kafka:
streams/usage_sink.py's `KafkaUsageSink` publishes to the `model.usage` topic (projected into
ClickHouse `ai_model_usage`); `CollectingSink` keeps them in memory for a caller that reports
them itself (the CLI prints them with `--json`).
"""

from __future__ import annotations

import threading
import uuid
from typing import Protocol

from schemas.events import ModelUsage, utcnow


class UsageSink(Protocol):
    def __call__(self, event: ModelUsage) -> None: ...


def usage_event(*, tenant_id: str, user_id: str | None, operation: str, model: str,
                provider: str, input_tokens: int = 0, output_tokens: int = 0,
                cost_usd: float = 0.0, latency_ms: float = 0.0, success: bool = True,
                error_class: str | None = None, cache_hit: bool = False) -> ModelUsage:
    return ModelUsage(
        event_id=str(uuid.uuid4()), tenant_id=tenant_id, occurred_at=utcnow(), user_id=user_id,
        operation=operation, model=model, provider=provider, input_tokens=input_tokens,
        output_tokens=output_tokens, cost_usd=cost_usd, latency_ms=latency_ms, success=success,
        error_class=error_class, cache_hit=cache_hit)


class CollectingSink:
    def __init__(self) -> None:
        self.events: list[ModelUsage] = []
        self._lock = threading.Lock()

    def __call__(self, event: ModelUsage) -> None:
        with self._lock:
            self.events.append(event)


class FanoutSink:
    def __init__(self, *sinks: UsageSink) -> None:
        self.sinks = sinks

    def __call__(self, event: ModelUsage) -> None:
        for sink in self.sinks:
            sink(event)
