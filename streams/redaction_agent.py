"""The PII redaction step on the stream: conversations.raw -> conversations.redacted.

Per batch of raw records (Faust `take_events`):
1. decode and check each record; a bad one becomes a dead letter (reason, source
   topic/partition/offset, step) and the batch goes on;
2. analyse all texts at once in a process pool (presidio + spaCy are CPU-bound: the event
   loop never runs them), split across the pool's processes;
3. pseudonymise with the conversation's book (a Faust table keyed by conversation id, so
   `<PERSON_1>` stays the same person across messages; the table holds HMAC digests only);
4. produce redacted events and dead letters and wait for the broker's acks before the batch's
   offsets can be committed (at least once; ids are uuid5(source id, step) so a redelivery
   yields the same event and projections upsert it once).
Invariant: no raw text is logged or leaves this module except inside dead letters (raw layer).
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import faust

from processors.errors import StepInputError
from processors.pii.engine import Finding, analyze_in_worker, init_worker
from processors.pii.inputs import check_text
from processors.pii.pseudonyms import PseudonymBook
from processors.pii.redact import redact
from schemas import serde
from schemas.events import ConversationMessageRaw, ConversationMessageRedacted, EntityFinding
from streams import topics
from streams.dlq import dead_letter, derived_id
from streams.progress import StepProgress
from streams.settings import Settings
from streams.supervisor import mark_ready

log = logging.getLogger("auterity.redaction")
STEP = topics.PII_STEP


@dataclass
class _Item:
    event: Any  # faust EventT
    raw: ConversationMessageRaw


class AnalyzerPool:
    """A spawn-context process pool that analyses texts; rebuilt if a child dies."""

    def __init__(self, workers: int, batch_size: int) -> None:
        self.workers = workers
        self.batch_size = batch_size
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker, initargs=(self.batch_size,))

    async def warm_up(self) -> None:
        """Load the models in every child before the first batch arrives."""
        await asyncio.gather(*(self.analyze(["warm-up"]) for _ in range(self.workers)))

    async def analyze(self, texts: list[str]) -> list[list[Finding]]:
        loop = asyncio.get_running_loop()
        chunks = max(1, min(self.workers, len(texts) // 4 or 1))
        size = -(-len(texts) // chunks)
        parts = [texts[i:i + size] for i in range(0, len(texts), size)]
        try:
            results = await asyncio.gather(
                *(loop.run_in_executor(self._pool, analyze_in_worker, p) for p in parts))
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            raise
        return [[Finding(*f) for f in found] for part in results for found in part]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _ms(dt: datetime) -> float:
    return dt.timestamp() * 1000.0


def wire(app: faust.App, settings: Settings) -> None:
    """Register the redaction agent and its pseudonym table on `app`."""
    topics.assert_raw_readers(STEP, topics.CONVERSATIONS_RAW)
    raw_name = topics.CONVERSATIONS_RAW.name(settings)
    raw_topic = app.topic(raw_name, key_type=bytes, value_type=bytes,
                          partitions=topics.CONVERSATIONS_RAW.partitions)
    out_topic = app.topic(topics.CONVERSATIONS_REDACTED.name(settings), key_type=bytes,
                          value_type=bytes)
    dlq_topic = app.topic(topics.DEAD_LETTERS.name(settings), key_type=bytes, value_type=bytes)
    # Keyed by the raw record's key bytes and placed by the producer's murmur2 partitioner,
    # so a conversation's book lives in the changelog partition numbered like its raw
    # partition (the co-partitioning Faust's recovery assumes). Values are JSON bytes.
    books = app.Table("pseudonym-books", default=bytes, key_type=bytes, value_type=bytes,
                      partitions=topics.CONVERSATIONS_RAW.partitions, use_partitioner=True)
    key = settings.resolved_pseudonym_key()
    pool = AnalyzerPool(settings.redaction_workers, settings.redaction_batch)
    progress = StepProgress(app, settings, raw_name)

    @app.task
    async def _warm_up() -> None:
        await pool.warm_up()
        log.info("redaction pool ready: %d process(es)", pool.workers)
        mark_ready(settings, "worker")

    def to_dlq(ev: Any, exc: Exception, kind: str, tenant: str | None = None) -> Any:
        msg = ev.message
        return dead_letter(
            error_kind=kind, error=str(exc), step=STEP, topic=msg.topic,
            partition=msg.partition, offset=msg.offset, key=msg.key, payload=msg.value,
            tenant_id=tenant, max_payload=settings.max_message_bytes)

    async def process(batch: list[Any]) -> list[Any]:
        """Redact one batch; return the pending sends (redacted events and dead letters)."""
        started = time.perf_counter()
        good: list[_Item] = []
        dead: list[Any] = []
        for ev in batch:
            try:
                raw = serde.decode(ev.message.value, ConversationMessageRaw)
                check_text(raw.text, settings.max_text_chars)
            except serde.DecodeError as exc:
                dead.append(to_dlq(ev, exc, exc.kind))
                continue
            except StepInputError as exc:
                dead.append(to_dlq(ev, exc, exc.kind, raw.tenant_id))
                continue
            good.append(_Item(ev, raw))
        findings = await _analyze_each_or_dlq(pool, good, dead, to_dlq)
        now = datetime.now(UTC)
        per_event_ms = (time.perf_counter() - started) * 1000.0 / max(1, len(batch))
        futures = []
        for item, found in zip(good, findings, strict=True):
            if found is None:
                continue
            raw = item.raw
            conv_key = raw.conversation_id.encode()
            stored = books[conv_key]
            book = PseudonymBook(key, json.loads(stored) if stored else None)
            text = redact(raw.text, found, book)
            books[conv_key] = json.dumps(book.state(), separators=(",", ":")).encode()
            ingested = raw.ingested_at or datetime.fromtimestamp(
                item.event.message.timestamp, UTC)
            out = ConversationMessageRedacted(
                event_id=derived_id(raw.event_id, STEP), tenant_id=raw.tenant_id,
                occurred_at=raw.occurred_at, source_event_id=raw.event_id,
                conversation_id=raw.conversation_id, channel=raw.channel,
                sender_role=raw.sender_role, user_id=raw.user_id,
                source_system=raw.source_system, redacted_text=text,
                entities=[EntityFinding(entity_type=f.entity_type, start=f.start, end=f.end,
                                        score=round(f.score, 3)) for f in found],
                ingested_at=ingested, redacted_at=now, redaction_ms=round(per_event_ms, 3))
            futures.append(await out_topic.send(key=conv_key, value=serde.encode(out)))
        futures.extend([await send_dead(dl) for dl in dead])
        return futures

    async def send_dead(dl: Any) -> Any:
        log.warning("dead letter: %s at %s[%d]@%d: %s", dl.error_kind, dl.source_topic,
                    dl.source_partition, dl.source_offset,
                    "see the DLQ" if dl.error_kind == "step_failed" else dl.error[:200])
        return await dlq_topic.send(key=dl.source_topic.encode(), value=serde.encode(dl))

    @app.agent(raw_topic, name="pii-redaction")
    async def redact_conversations(stream: faust.StreamT) -> None:
        # Faust acks a take_events() batch even when the loop body raises, so this body
        # must not raise: a batch that fails unexpectedly is dead-lettered whole (replayable
        # with `auterity dlq replay`), and if even that fails the process exits without
        # committing, so the batch is redelivered.
        async for taken in stream.take_events(settings.redaction_batch * pool.workers, 0.05):
            batch = await progress.admitted(taken)
            if not batch:
                continue
            try:
                futures = await process(batch)
                if futures:
                    await asyncio.gather(*futures)
                await progress.store(batch)
            except Exception as exc:  # noqa: BLE001 - see above
                log.exception("batch of %d failed; dead-lettering it", len(batch))
                try:
                    await asyncio.gather(*[await send_dead(to_dlq(ev, exc, "step_failed"))
                                           for ev in batch])
                    await progress.store(batch)
                except Exception:  # noqa: BLE001
                    log.critical("cannot dead-letter a failed batch; exiting uncommitted")
                    os._exit(70)


async def _analyze_each_or_dlq(
    pool: AnalyzerPool, good: list[_Item], dead: list[Any], to_dlq: Any
) -> list[list[Finding] | None]:
    """Analyse the batch; if the batch fails, retry one by one and dead-letter the failures."""
    if not good:
        return []
    texts = [i.raw.text for i in good]
    try:
        return list(await pool.analyze(texts))
    except Exception:  # noqa: BLE001 - isolate the failing record(s) below
        log.exception("batch analysis failed; retrying record by record")
    results: list[list[Finding] | None] = []
    for item in good:
        try:
            results.append((await pool.analyze([item.raw.text]))[0])
        except Exception as exc:  # noqa: BLE001 - the record goes to the DLQ, the stream goes on
            dead.append(to_dlq(item.event, exc, "step_failed", item.raw.tenant_id))
            results.append(None)
    return results
