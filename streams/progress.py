"""A step's own record of how far it got in its input topic, kept beside its outputs.

Faust's committed offsets are not trusted as the resume point: in a kill -9 + restart test
faust-streaming 0.15.3 resumed two partitions past ~800 records it had never processed
(its rebalance/gap handling marked them done). So, like the projections, the step stores
its position itself: after a batch's outputs and dead letters are acknowledged by Kafka, it
writes `next offset` per raw partition to a compacted topic; when partitions are assigned,
the consumer is seeked to those positions instead of Faust's. Invariant: a stored position
never passes a record whose outputs are not in Kafka, so nothing is lost; records between a
stored position and Faust's are re-processed, which only repeats deterministic event ids.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from runtime import kafka_clients
from runtime.kafka_auth import Principal, progress_group
from runtime.settings import Settings

log = logging.getLogger("auterity.progress")


def progress_topic(settings: Settings) -> str:
    return f"{settings.app_id}-redaction-progress"


def ensure_progress_topic(settings: Settings) -> str:
    name = progress_topic(settings)
    kafka_clients.ensure_topic(settings, name, 1, {
        "cleanup.policy": "compact", "segment.ms": "600000", "min.cleanable.dirty.ratio": "0.1"},
        principal=Principal.PII_STEP)
    return name


def progress_key(topic: str, partition: int) -> bytes:
    return f"{topic}:{partition}".encode()


def read_positions(settings: Settings) -> dict[tuple[str, int], int]:
    """The last stored next-offset per (raw topic, partition)."""
    name = progress_topic(settings)
    consumer = kafka_clients.consumer(settings, progress_group(settings),
                                      principal=Principal.PII_STEP)
    try:
        tp = TopicPartition(name, 0)
        _, high = consumer.get_watermark_offsets(tp, timeout=10)
        consumer.assign([TopicPartition(name, 0, OFFSET_BEGINNING)])
        positions: dict[tuple[str, int], int] = {}
        while high > 0:
            msg = consumer.poll(5.0)
            if msg is None:
                raise TimeoutError(f"could not read {name} to offset {high}")
            if msg.error():
                continue
            topic, _, part = (msg.key() or b"").decode().rpartition(":")
            positions[(topic, int(part))] = int(msg.value() or b"0")
            if kafka_clients.position(msg)[2] + 1 >= high:
                break
        return positions
    finally:
        consumer.close()


def low_watermarks(settings: Settings, topic: str) -> dict[tuple[str, int], int]:
    consumer = kafka_clients.consumer(settings, progress_group(settings),
                                      principal=Principal.PII_STEP)
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return {(topic, p): consumer.get_watermark_offsets(TopicPartition(topic, p),
                                                           timeout=10)[0] for p in parts}
    finally:
        consumer.close()


class PartitionCursor:
    """Per raw partition, the next offset the step must process — and gap repair.

    Faust can hand the agent a record past a gap (records it dropped around a rebalance and
    marked done). The cursor notices (`offset > expected`), seeks the consumer back to the
    expected offset and ignores that partition's records until the expected one arrives;
    records below it were processed already and are ignored too.
    """

    def __init__(self) -> None:
        self.expected: dict[tuple[str, int], int] = {}
        self.rewinding: set[tuple[str, int]] = set()

    def reset(self, positions: dict[tuple[str, int], int]) -> None:
        self.expected = dict(positions)
        self.rewinding.clear()

    def admit(self, topic: str, partition: int, offset: int) -> bool | None:
        """True: process it. False: ignore it. None: a gap; seek back to `expected`."""
        key = (topic, partition)
        exp = self.expected.get(key)
        if exp is None or offset == exp:
            self.expected[key] = offset + 1
            self.rewinding.discard(key)
            return True
        if offset < exp or key in self.rewinding:
            return False
        self.rewinding.add(key)
        return None


def resume_from_stored_positions(app: Any, settings: Settings, raw_topic: str,
                                 cursor: PartitionCursor) -> None:
    """Make the consumer's "seek to committed" seek `raw_topic`'s partitions to the stored
    positions (where none is stored yet: Faust's committed offset, else the log start) and
    start `cursor` there. Several steps of one app register their topics here; the
    consumer is patched once and serves them all."""
    registry: dict[str, PartitionCursor] | None = getattr(app, "_auterity_cursors", None)
    if registry is not None:
        registry[raw_topic] = cursor
        return
    registry = {raw_topic: cursor}
    app._auterity_cursors = registry

    @app.on_partitions_assigned.connect
    async def _patch(sender: Any, assigned: Any, **kwargs: Any) -> None:
        consumer = app.consumer
        if getattr(consumer, "_auterity_patched", False):
            return
        original = consumer.seek_to_committed

        async def seek_to_stored() -> dict:
            committed = dict(await original())
            loop = asyncio.get_running_loop()
            stored = await loop.run_in_executor(None, read_positions, settings)
            positions: dict[str, dict[tuple[str, int], int]] = {t: {} for t in registry}
            starts: dict[tuple[str, int], int] = {}
            for topic in registry:
                starts.update(await loop.run_in_executor(None, low_watermarks, settings, topic))
            for tp in consumer.assignment():
                if tp.topic not in registry:
                    continue
                key = (tp.topic, tp.partition)
                faust_pos = committed.get(tp)
                # nothing stored yet (first run of this app id): Faust's position, else the start
                fallback = faust_pos if isinstance(faust_pos, int) and faust_pos >= 0 else 0
                pos = max(stored.get(key, fallback), starts.get(key, 0))
                positions[tp.topic][key] = pos
                if committed.get(tp) != pos:
                    log.info("resuming %s[%d] at stored position %d (Faust had %s)",
                             tp.topic, tp.partition, pos, committed.get(tp))
                await consumer._seek(tp, pos)
                committed[tp] = pos
            for topic, cur in registry.items():
                cur.reset(positions[topic])
            return committed

        consumer.seek_to_committed = seek_to_stored
        consumer._auterity_patched = True


class StepProgress:
    """Gap-free admission and stored progress for one step reading one topic.

        progress = StepProgress(app, settings, topic_name)
        batch = await progress.admitted(taken)     # in order, no gaps, no repeats
        ... process, await the outputs' acks ...
        await progress.store(batch)                # only then record the position
    """

    def __init__(self, app: Any, settings: Settings, topic: str) -> None:
        self.app = app
        self.cursor = PartitionCursor()
        self.out = app.topic(ensure_progress_topic(settings), key_type=bytes,
                             value_type=bytes)
        resume_from_stored_positions(app, settings, topic, self.cursor)

    async def admitted(self, batch: list[Any]) -> list[Any]:
        """The batch's records in partition order, without gaps (see PartitionCursor)."""
        keep = []
        for ev in batch:
            m = ev.message
            verdict = self.cursor.admit(m.topic, m.partition, m.offset)
            if verdict is None:
                exp = self.cursor.expected[(m.topic, m.partition)]
                log.warning("gap in %s[%d]: got offset %d, expected %d; seeking back",
                            m.topic, m.partition, m.offset, exp)
                await self.app.consumer.seek(m.tp, exp)
            elif verdict:
                keep.append(ev)
        return keep

    async def store(self, batch: list[Any]) -> None:
        """After the batch's outputs are acked: record where each partition got to."""
        parts = {(ev.message.topic, ev.message.partition) for ev in batch}
        await asyncio.gather(*[await self.out.send(
            key=progress_key(t, p), value=str(self.cursor.expected[(t, p)]).encode())
            for t, p in parts])
