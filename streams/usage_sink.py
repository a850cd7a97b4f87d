"""Model-usage events to Kafka: the usage sink the worker hands its AI steps.

Invariant: a step calls `flush_or_raise` before storing its position, so a batch's usage
events are acknowledged by the broker before the batch counts as done (none are lost on a
crash; a redelivered batch may repeat them, and the projection dedups by event id).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import ModelUsage

log = logging.getLogger("auterity.usage")


class KafkaUsageSink:
    """Publishes usage events (keyed by tenant) with an idempotent acks=all producer."""

    def __init__(self, settings: Settings) -> None:
        self.producer = kafka_clients.producer(settings, principal=Principal.PII_STEP)
        self.topic = topics.MODEL_USAGE.name(settings.topic_prefix)
        self._failed: list[str] = []

    def _delivered(self, err: Any, msg: Any) -> None:
        if err is not None:
            self._failed.append(str(err))

    def __call__(self, event: ModelUsage) -> None:
        self.producer.produce(self.topic, key=event.tenant_id.encode(),
                              value=serde.encode(event), on_delivery=self._delivered)
        self.producer.poll(0)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for the broker's acks; the number of events still unacknowledged or refused
        (a refused delivery counts once, then is forgotten)."""
        left = self.producer.flush(timeout)
        failed, self._failed = self._failed, []
        if failed:
            log.error("%d model-usage event(s) refused by Kafka: %s", len(failed), failed[0])
        return left + len(failed)

    async def flush_or_raise(self, timeout: float = 30.0) -> None:
        """`flush` off the event loop; RuntimeError if any event stays unacknowledged (a step
        must then not store its position)."""
        left = await asyncio.to_thread(self.flush, timeout)
        if left:
            raise RuntimeError(f"{left} model-usage events not acknowledged")
