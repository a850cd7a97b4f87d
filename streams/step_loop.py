"""One AI step on the stream: the batch loop every per-record step agent shares.

    take a batch -> admit it gap-free (StepProgress) -> run the handler per record
    -> send outputs (or a dead letter per failed record) -> await the broker's acks
    (and the model-usage events' acks) -> store the position

Invariants:
- a record's outcome is its outputs OR one dead letter naming the reason (StepInputError /
  DecodeError kinds, or `step_failed` for an unexpected exception): nothing is dropped;
- outputs of a batch are sent in the order of its records, whatever order concurrent
  handlers finish in;
- the position is stored only after every output and dead letter of the batch is acked;
  if publishing fails the process exits uncommitted (Faust acks a take_events batch even
  when the body raises, so the body must never raise), and the batch is redelivered.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from processors.errors import StepInputError
from schemas import serde
from streams import topics
from streams.dlq import dead_letter
from streams.progress import StepProgress
from streams.settings import Settings

log = logging.getLogger("auterity.steps")

Send = tuple[Any, bytes, bytes]  # (faust topic, key, value)
Handler = Callable[[Any], Awaitable[list[Send]]]


class StepRejected(Exception):
    """A step refused a record for a reason it names; dead-lettered as `kind`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def error_kind(exc: BaseException) -> str | None:
    """The dead-letter kind of an expected failure, or None for an unexpected one."""
    if isinstance(exc, serde.DecodeError | StepInputError | StepRejected):
        return exc.kind
    kind = getattr(exc, "kind", None)  # BlobError and builder rejections carry theirs
    return kind if isinstance(kind, str) else None


def step_agent(app: faust.App, settings: Settings, spec: topics.TopicSpec, step: str,
               handler: Handler, *, batch: int, concurrency: int = 1,
               after_batch: Callable[[], Awaitable[None]] | None = None) -> Any:
    """Register a Faust agent running `handler` on each record of `spec`'s topic.

    `concurrency` > 1 runs that many handlers of a batch at once (e.g. one per process-pool
    worker); `after_batch` runs before the position is stored (e.g. flushing usage events).
    """
    source = app.topic(spec.name(settings), key_type=bytes, value_type=bytes,
                       partitions=spec.partitions)
    dlq = app.topic(topics.DEAD_LETTERS.name(settings), key_type=bytes, value_type=bytes)
    progress = StepProgress(app, settings, spec.name(settings))
    gate = asyncio.Semaphore(concurrency)

    async def dead(ev: Any, exc: BaseException, kind: str) -> Any:
        m = ev.message
        dl = dead_letter(error_kind=kind, error=str(exc), step=step, topic=m.topic,
                         partition=m.partition, offset=m.offset, key=m.key, payload=m.value,
                         max_payload=settings.max_message_bytes, tenant_id=_tenant(m.value))
        log.warning("dead letter: %s at %s[%d]@%d: %s", kind, m.topic, m.partition, m.offset,
                    str(exc)[:200])
        return await dlq.send(key=m.topic.encode(), value=serde.encode(dl))

    async def run_one(ev: Any) -> list[Send] | BaseException:
        async with gate:
            try:
                return await handler(ev)
            except Exception as exc:  # noqa: BLE001 - becomes a dead letter, stream goes on
                if error_kind(exc) is None:
                    log.exception("%s failed on %s[%d]@%d", step, ev.message.topic,
                                  ev.message.partition, ev.message.offset)
                return exc

    async def agent(stream: faust.StreamT) -> None:
        async for taken in stream.take_events(batch, 0.05):
            events = await progress.admitted(taken)
            if not events:
                continue
            try:
                outcomes = await asyncio.gather(*(run_one(ev) for ev in events))
                futures = []
                for ev, outcome in zip(events, outcomes, strict=True):
                    if isinstance(outcome, BaseException):
                        kind = error_kind(outcome) or "step_failed"
                        futures.append(await dead(ev, outcome, kind))
                        continue
                    for out_topic, key, value in outcome:
                        futures.append(await out_topic.send(key=key, value=value))
                await asyncio.gather(*futures)
                if after_batch is not None:
                    await after_batch()
                await progress.store(events)
            except Exception:  # noqa: BLE001 - see the module docstring
                log.critical("%s cannot publish a batch; exiting uncommitted", step)
                os._exit(70)

    return app.agent(source, name=step.replace("_", "-"))(agent)


def _tenant(payload: bytes | None) -> str | None:
    try:
        return serde.decode_any(payload or b"").tenant_id
    except serde.DecodeError:
        return None
