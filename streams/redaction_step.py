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
Invariants:
- no raw text is logged or leaves this module except inside dead letters (raw layer);
- a conversation is redacted only on partition murmur2(conversation id) of the raw topic
  (`conversation_partition`), so its ONE book is read and written by ONE worker whichever
  partitioner the producer used: a record found on another partition is re-routed there (its
  bytes re-produced with the conversation id as key, acked before the position moves) and
  redacted when that partition's worker reads it. A redelivery re-routes again: the copy
  redacts to the same event id, which the projections upsert once. A text the redactor
  refuses (empty, oversized) is dead-lettered where it was found, never re-routed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

import faust
from aiokafka.partitioner import murmur2

from processors.errors import StepInputError
from processors.pii.inputs import check_text
from processors.pii.redaction import BookStates, redaction_job
from processors.pii.redaction import warm_up as warm_up_analyzer
from runtime.kafka_auth import Principal
from runtime.kafka_clients import admin
from runtime.readiness import mark_ready
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import ConversationMessageRaw
from streams.process_pool import StepPool, shut_down_with
from streams.step_loop import Outcome, step_agent

log = logging.getLogger("auterity.redaction")
STEP = topics.PII_STEP


def conversation_partition(conversation_id: str, partitions: int) -> int:
    """The partition murmur2 (the Java client's and librdkafka's `murmur2_random`) gives the
    key `conversation_id`: where the conversation's book lives."""
    return (murmur2(conversation_id.encode()) & 0x7FFFFFFF) % partitions


def _partition_count(settings: Settings, topic: str) -> int | None:
    """The broker's partition count of `topic` (None if it does not exist)."""
    md = admin(settings, principal=Principal.PII_STEP).list_topics(topic, timeout=30)
    found = md.topics.get(topic)
    return None if found is None or found.error is not None else len(found.partitions)


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


def wire(app: faust.App, settings: Settings) -> StepPool:
    """Register the redaction step and its pseudonym table on `app`; return its process pool
    (the builder steps run the output firewall in it: its workers hold the analyzer)."""
    topics.assert_raw_readers(STEP, topics.CONVERSATIONS_RAW)
    out_topic = app.topic(topics.CONVERSATIONS_REDACTED.name(settings.topic_prefix),
                          key_type=bytes, value_type=bytes)
    raw_topic = app.topic(topics.CONVERSATIONS_RAW.name(settings.topic_prefix),
                          key_type=bytes, value_type=bytes)
    partitions = topics.CONVERSATIONS_RAW.partitions
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
        found = await asyncio.to_thread(_partition_count, settings, raw_topic.get_topic_name())
        if found != partitions:  # re-routing and the books assume the catalog's count
            log.critical("%s has %s partitions, the topic catalog says %d: the redaction step "
                         "cannot place conversations; recreate the topic with %d partitions",
                         raw_topic.get_topic_name(), found, partitions, partitions)
            os._exit(78)
        await pool.warm_up(warm_up_analyzer, settings.redaction_batch)
        log.info("redaction pool ready: %d process(es)", pool.workers)
        mark_ready(settings, settings.worker_name)

    async def redact_batch(batch: list[Any]) -> list[Outcome]:
        started = time.perf_counter()
        outcomes: list[Outcome | None] = [None] * len(batch)
        raws: dict[int, ConversationMessageRaw] = {}
        for i, ev in enumerate(batch):
            try:
                raws[i] = serde.decode(ev.message.value, ConversationMessageRaw)
            except serde.DecodeError as exc:
                outcomes[i] = exc
        rerouted = 0
        for i, raw in list(raws.items()):
            try:  # a text the redactor refuses is dead-lettered from where it was produced
                check_text(raw.text, settings.max_text_chars)
            except StepInputError as exc:
                outcomes[i] = exc
                del raws[i]
                continue
            want = conversation_partition(raw.conversation_id, partitions)
            if batch[i].message.partition != want:
                outcomes[i] = [(raw_topic, raw.conversation_id.encode(), batch[i].message.value,
                                want)]
                del raws[i]
                rerouted += 1
        if rerouted:
            log.warning("re-routed %d record(s) to their conversation's partition (a producer "
                        "that does not partition by murmur2 of the conversation id)", rerouted)
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
    return pool
