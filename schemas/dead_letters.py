"""Dead-letter envelopes: what failed, why, where it came from, and the original bytes.

Invariant: a dead letter's event_id is uuid5(source topic, partition, offset, step), so a
redelivered bad record yields the same dead letter (projections count it once).
"""

from __future__ import annotations

from schemas.events import DeadLetter, utcnow
from schemas.ids import derived_id

UNKNOWN_TENANT = "unknown"


def dead_letter(
    *,
    error_kind: str,
    error: str,
    step: str,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    payload: bytes | None,
    tenant_id: str | None = None,
    max_payload: int,
) -> DeadLetter:
    payload = payload or b""
    truncated = len(payload) > max_payload
    return DeadLetter(
        event_id=derived_id(f"{topic}:{partition}:{offset}", f"dlq:{step}"),
        tenant_id=tenant_id if tenant_id and tenant_id.strip() else UNKNOWN_TENANT,
        occurred_at=utcnow(),
        error_kind=error_kind,
        error=error[:2000],
        step=step,
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        source_key=key,
        payload=payload[:max_payload],
        payload_size=len(payload),
        payload_truncated=truncated,
    )
