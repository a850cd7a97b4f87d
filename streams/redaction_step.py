"""The PII redaction step on the stream: conversations.raw -> conversations.redacted.

Wiring only. Per batch of raw records, through the one step loop (streams/step_loop.py):
1. decode each record; an undecodable one becomes a dead letter and the batch goes on;
2. group the batch by conversation and hand the groups, with their pseudonym books (a Faust
   table keyed by conversation id holding HMAC digests only), to the step's process pool:
   the step's entry `processors.pii.redaction.redaction_job` checks, analyses and redacts
   there and returns the redacted events (presidio and spaCy are CPU-bound: the event loop
   never runs them), a conversation's messages in order with its one book, so `<PERSON_1>`
   stays the same person across messages and workers;
3. store the updated books and return the events; the loop publishes them, waits for the
   broker's acks (the books' changelog too) and only then stores the position (ids are
   uuid5(source id, step), so a redelivery yields the same events and projections upsert
   them once).
Invariant: no raw text is logged or leaves this module except inside dead letters (raw layer).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import faust

from processors.errors import StepInputError
from processors.pii.redaction import BookStates, redaction_job
from processors.pii.redaction import warm_up as warm_up_analyzer
from runtime.readiness import mark_ready
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import ConversationMessageRaw
from streams.process_pool import StepPool, shut_down_with
from streams.step_loop import Outcome, step_agent

log = logging.getLogger("auterity.redaction")
STEP = topics.PII_STEP


def split_by_subject(subjects: list[str], parts: int) -> list[list[int]]:
    """Indices of `subjects` in at most `parts` groups of similar size, each subject wholly in
    one group and in input order (so one worker labels a conversation's messages in order)."""
    by_subject: dict[str, list[int]] = {}
    for i, s in enumerate(subjects):
        by_subject.setdefault(s, []).append(i)
    groups: list[list[int]] = [[] for _ in range(max(1, parts))]
    for idx in sorted(by_subject.values(), key=len, reverse=True):
        min(groups, key=len).extend(idx)
    return [sorted(g) for g in groups if g]


def wire(app: faust.App, settings: Settings) -> None:
    """Register the redaction step and its pseudonym table on `app`."""
    topics.assert_raw_readers(STEP, topics.CONVERSATIONS_RAW)
    out_topic = app.topic(topics.CONVERSATIONS_REDACTED.name(settings.topic_prefix),
                          key_type=bytes, value_type=bytes)
    # Keyed by the raw record's key bytes and placed by the producer's murmur2 partitioner,
    # so a conversation's book lives in the changelog partition numbered like its raw
    # partition (the co-partitioning Faust's recovery assumes). Values are JSON bytes.
    books = app.Table("pseudonym-books", default=bytes, key_type=bytes, value_type=bytes,
                      partitions=topics.CONVERSATIONS_RAW.partitions, use_partitioner=True)
    key = settings.resolved_pseudonym_key()
    pool = StepPool("redaction", settings.redaction_workers, settings.redaction_timeout_s,
                    timeout_setting="(AUTERITY_REDACTION_TIMEOUT_S)")
    shut_down_with(app, pool)

    @app.task
    async def _warm_up() -> None:
        await pool.warm_up(warm_up_analyzer, settings.redaction_batch)
        log.info("redaction pool ready: %d process(es)", pool.workers)
        mark_ready(settings, "worker")

    async def redact_batch(batch: list[Any]) -> list[Outcome]:
        started = time.perf_counter()
        outcomes: list[Outcome | None] = [None] * len(batch)
        raws: dict[int, ConversationMessageRaw] = {}
        for i, ev in enumerate(batch):
            try:
                raws[i] = serde.decode(ev.message.value, ConversationMessageRaw)
            except serde.DecodeError as exc:
                outcomes[i] = exc
        good = sorted(raws)
        subjects = [raws[i].conversation_id for i in good]
        groups = split_by_subject(subjects, min(pool.workers, max(1, len(good) // 4)))
        states: BookStates = {}
        for s in set(subjects):
            stored = books[s.encode()]
            if stored:
                states[s] = json.loads(stored)
        jobs = []
        for g in groups:
            mine = [good[j] for j in g]
            jobs.append(pool.run(
                redaction_job, [raws[i] for i in mine],
                [raws[i].ingested_at or datetime.fromtimestamp(batch[i].message.timestamp, UTC)
                 for i in mine],
                {subjects[j]: states[subjects[j]] for j in g if subjects[j] in states},
                key, settings.max_text_chars))
        done = await asyncio.gather(*jobs)
        # stamped per batch, as the metrics always were: when the batch was done, and its
        # wall time (decode, books, pool) per record
        stamp = {"redacted_at": datetime.now(UTC), "redaction_ms": round(
            (time.perf_counter() - started) * 1000.0 / max(1, len(batch)), 3)}
        for g, (part, new_states) in zip(groups, done, strict=True):
            for j, r in zip(g, part, strict=True):
                i = good[j]
                outcomes[i] = r if isinstance(r, StepInputError) else [
                    (out_topic, r.conversation_id.encode(),
                     serde.encode(r.model_copy(update=stamp)))]
            for s, state in new_states.items():
                books[s.encode()] = json.dumps(state, separators=(",", ":")).encode()
        return [o if o is not None else RuntimeError("no outcome") for o in outcomes]

    step_agent(app, settings, topics.CONVERSATIONS_RAW, STEP, batch_handler=redact_batch,
               batch=settings.redaction_batch * pool.workers)
