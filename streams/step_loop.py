"""One AI step on the stream: the ONE batch loop every step (redaction included) runs in.

    take a batch -> admit it gap-free (StepProgress) -> run the batch handler
    -> send outputs (or a dead letter per failed record) -> await the broker's acks
    (and the model-usage events' acks) -> store the position

A step hands in either a per-record `handler` (run for each record, up to `concurrency` at
once) or a `batch_handler` that takes the whole batch and returns one outcome per record.
If a batch handler fails as a whole, the loop runs it again on each record alone, so only
the records that fail by themselves become dead letters (the whole-batch fallback).

Invariants:
- a record's outcome is its outputs OR one dead letter naming the reason (StepInputError /
  DecodeError kinds, or `step_failed` for an unexpected exception), which a StepRejected may
  accompany with outputs of its own (a failed result): nothing is dropped;
- outputs of a batch are sent in the order of its records, whatever order concurrent
  handlers finish in;
- the position is stored only after every output and dead letter of the batch is acked,
  and every table write the batch made (the changelog records, via the app's producer);
  if publishing fails the process exits uncommitted (Faust acks a take_events batch even
  when the body raises, so the body must never raise), and the batch is redelivered;
- a record whose handler raised `StoreUnavailable` (Postgres down or slow: nothing wrong
  with the record) is never dead-lettered: the loop waits (backing off up to
  STORE_RETRY_MAX_S) and runs those records again before anything of the batch is sent;
- a step reading a raw-PII topic never logs an error's text (it may quote the input): the
  dead letter, in the raw layer, carries it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from processors.errors import StepInputError
from runtime.postgres import StoreUnavailable
from runtime.settings import Settings
from schemas import serde, topics
from schemas.dead_letters import dead_letter
from streams.progress import StepProgress

log = logging.getLogger("auterity.steps")
#: the first and the longest wait before a batch whose store was unavailable runs again
STORE_RETRY_S = 0.5
STORE_RETRY_MAX_S = 30.0

#: (faust topic, key, value) or (faust topic, key, value, partition): an explicit partition
#: only where a step routes a record itself (the redaction step's re-routing)
Send = tuple[Any, bytes, bytes] | tuple[Any, bytes, bytes, int]
Handler = Callable[[Any], Awaitable[list[Send]]]


class StepRejected(Exception):
    """A step refused a record for a reason it names; dead-lettered as `kind`. `outputs` are
    sent as well, before the dead letter (a result that says the record failed, so a caller
    waiting on the result topic learns why)."""

    def __init__(self, kind: str, message: str, outputs: list[Send] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.outputs = outputs or []


def error_kind(exc: BaseException) -> str | None:
    """The dead-letter kind of an expected failure, or None for an unexpected one."""
    if isinstance(exc, serde.DecodeError | StepInputError | StepRejected):
        return exc.kind
    kind = getattr(exc, "kind", None)  # BlobError and builder rejections carry theirs
    return kind if isinstance(kind, str) else None


Outcome = list[Send] | BaseException
BatchHandler = Callable[[list[Any]], Awaitable[list[Outcome]]]


def step_agent(app: faust.App, settings: Settings, spec: topics.TopicSpec, step: str,
               handler: Handler | None = None, *, batch_handler: BatchHandler | None = None,
               batch: int, concurrency: int = 1,
               after_batch: Callable[[], Awaitable[None]] | None = None) -> Any:
    """Register a Faust agent running `handler` (per record) or `batch_handler` on `spec`.

    `concurrency` > 1 runs that many per-record handlers of a batch at once (e.g. one per
    process-pool worker); `after_batch` runs before the position is stored (e.g. flushing
    usage events).
    """
    if (handler is None) == (batch_handler is None):
        raise ValueError("step_agent needs exactly one of handler and batch_handler")
    source = app.topic(spec.name(settings.topic_prefix), key_type=bytes, value_type=bytes,
                       partitions=spec.partitions)
    dlq = app.topic(topics.DEAD_LETTERS.name(settings.topic_prefix), key_type=bytes,
                    value_type=bytes)
    progress = StepProgress(app, settings, spec.name(settings.topic_prefix))
    gate = asyncio.Semaphore(concurrency)
    quote_errors = not spec.raw_pii

    async def dead(ev: Any, exc: BaseException, kind: str) -> Any:
        m = ev.message
        dl = dead_letter(error_kind=kind, error=str(exc), step=step, topic=m.topic,
                         partition=m.partition, offset=m.offset, key=m.key, payload=m.value,
                         max_payload=settings.max_message_bytes, tenant_id=_tenant(m.value))
        log.warning("dead letter: %s at %s[%d]@%d: %s", kind, m.topic, m.partition, m.offset,
                    str(exc)[:200] if quote_errors else "see the dead-letter topic")
        return await dlq.send(key=m.topic.encode(), value=serde.encode(dl))

    def unexpected(ev: Any, exc: BaseException) -> None:
        m = ev.message
        if quote_errors:
            log.error("%s failed on %s[%d]@%d", step, m.topic, m.partition, m.offset,
                      exc_info=exc)
        else:
            log.error("%s failed on %s[%d]@%d: %s", step, m.topic, m.partition, m.offset,
                      type(exc).__name__)

    async def run_one(ev: Any) -> Outcome:
        assert handler is not None
        async with gate:
            try:
                return await handler(ev)
            except Exception as exc:  # noqa: BLE001 - becomes a dead letter, stream goes on
                if error_kind(exc) is None and not isinstance(exc, StoreUnavailable):
                    unexpected(ev, exc)
                return exc

    async def per_record(events: list[Any]) -> list[Outcome]:
        return list(await asyncio.gather(*(run_one(ev) for ev in events)))

    async def whole_batch(events: list[Any]) -> list[Outcome]:
        assert batch_handler is not None
        return await run_with_fallback(batch_handler, events, step, unexpected)

    run_once = per_record if handler is not None else whole_batch

    async def run_batch(events: list[Any]) -> list[Outcome]:
        return await until_stores_answer(run_once, events, step)

    async def agent(stream: Any) -> None:  # faust.Stream (StreamT lacks take_events)
        async for taken in stream.take_events(batch, 0.05):
            events = await progress.admitted(taken)
            if not events:
                continue
            try:
                outcomes = await run_batch(events)
                futures = []
                for ev, outcome in zip(events, outcomes, strict=True):
                    if isinstance(outcome, BaseException):
                        kind = error_kind(outcome) or "step_failed"
                        for out_topic, key, value, *partition in getattr(
                                outcome, "outputs", []) if isinstance(
                                outcome, StepRejected) else []:
                            futures.append(await out_topic.send(
                                key=key, value=value,
                                partition=partition[0] if partition else None))
                        futures.append(await dead(ev, outcome, kind))
                        continue
                    for out_topic, key, value, *partition in outcome:
                        futures.append(await out_topic.send(
                            key=key, value=value, partition=partition[0] if partition else None))
                await asyncio.gather(*futures)
                if after_batch is not None:
                    await after_batch()
                # the steps' table writes (pseudonym books, workflow versions) go to their
                # changelogs through the app's producer: acked before the position moves
                await app.producer.flush()
                await progress.store(events)
            except Exception:  # noqa: BLE001 - see the module docstring
                log.critical("%s cannot publish a batch; exiting uncommitted", step)
                os._exit(70)

    return app.agent(source, name=step.replace("_", "-"))(agent)


async def run_with_fallback(batch_handler: BatchHandler, events: list[Any], step: str,
                            unexpected: Callable[[Any, BaseException], None]
                            ) -> list[Outcome]:
    """One outcome per event, in order: the batch handler's, or, if it fails as a whole (or
    miscounts), its outcome on each event alone; an event that fails alone gets its
    exception as outcome (a dead letter). `unexpected` is told of failures without a kind."""
    try:
        outcomes = await batch_handler(events)
        if len(outcomes) != len(events):
            raise RuntimeError(f"{step}: {len(outcomes)} outcomes for {len(events)} records")
        return outcomes
    except Exception as exc:  # noqa: BLE001 - isolate the failing record(s) below
        log.error("%s: a batch of %d failed (%s); retrying record by record", step,
                  len(events), type(exc).__name__)
    alone: list[Outcome] = []
    for ev in events:
        try:
            one = await batch_handler([ev])
            if len(one) != 1:
                raise RuntimeError(f"{step}: {len(one)} outcomes for 1 record")
            alone.append(one[0])
        except Exception as exc:  # noqa: BLE001 - the record becomes a dead letter
            if error_kind(exc) is None and not isinstance(exc, StoreUnavailable):
                unexpected(ev, exc)
            alone.append(exc)
    return alone


async def until_stores_answer(run: BatchHandler, events: list[Any], step: str,
                              sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
                              ) -> list[Outcome]:
    """`run(events)`, with the records whose outcome is `StoreUnavailable` run again (after
    a backoff from STORE_RETRY_S doubling up to STORE_RETRY_MAX_S) until none is."""
    outcomes = await run(events)
    wait = STORE_RETRY_S
    while waiting := [i for i, o in enumerate(outcomes) if isinstance(o, StoreUnavailable)]:
        log.error("%s: %d record(s) wait for their store (%s); again in %.1f s", step,
                  len(waiting), outcomes[waiting[0]], wait)
        await sleep(wait)  # a backoff against an outage
        wait = min(wait * 2, STORE_RETRY_MAX_S)
        for i, outcome in zip(waiting, await run([events[i] for i in waiting]), strict=True):
            outcomes[i] = outcome
    return outcomes


def _tenant(payload: bytes | None) -> str | None:
    try:
        return serde.decode_any(payload or b"").tenant_id
    except serde.DecodeError:
        return None
