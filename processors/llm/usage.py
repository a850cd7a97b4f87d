"""Model-usage events: one `ModelUsage` per model call attempt, cache hits included.

Sinks receive each event as it happens. `KafkaUsageSink` publishes to the `model.usage`
topic (projected into ClickHouse `ai_model_usage`); `CollectingSink` keeps them in memory
for a caller that reports them itself (the CLI prints them with `--json`).
"""

from __future__ import annotations

import threading
import uuid
from typing import Protocol

from schemas import serde
from schemas.events import ModelUsage, utcnow
from streams.settings import Settings


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


class KafkaUsageSink:
    """Publishes usage events (keyed by tenant) with an idempotent acks=all producer."""

    def __init__(self, settings: Settings) -> None:
        from connectors.kafka_io import make_producer
        from streams import topics

        self.producer = make_producer(settings)
        self.topic = topics.MODEL_USAGE.name(settings)

    def __call__(self, event: ModelUsage) -> None:
        self.producer.produce(self.topic, key=event.tenant_id.encode(),
                              value=serde.encode(event))
        self.producer.poll(0)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for the broker's acks; the number of events still unacknowledged."""
        return self.producer.flush(timeout)

    async def flush_or_raise(self, timeout: float = 30.0) -> None:
        """`flush` off the event loop; RuntimeError if any event stays unacknowledged (a step
        must then not store its position)."""
        import asyncio

        left = await asyncio.to_thread(self.flush, timeout)
        if left:
            raise RuntimeError(f"{left} model-usage events not acknowledged")


class FanoutSink:
    def __init__(self, *sinks: UsageSink) -> None:
        self.sinks = sinks

    def __call__(self, event: ModelUsage) -> None:
        for sink in self.sinks:
            sink(event)
