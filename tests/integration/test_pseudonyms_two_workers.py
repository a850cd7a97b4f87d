"""Pseudonyms cannot collide: two workers, a producer mixing partitioners.

Each conversation's messages are produced half through librdkafka's default partitioner
(CRC32) and half through murmur2, so one conversation lands on partitions two different
workers own. Every message names exactly one person; afterwards, within each conversation,
no person may carry two tags and no tag may stand for two people.
"""

from __future__ import annotations

import random
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator

import pytest
from confluent_kafka import ConsumerGroupState

from compose import processes as supervisor
from connectors.kafka_io import read_topic
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import ConversationMessageRaw, ConversationMessageRedacted, utcnow
from tests.integration.conftest import wait_for

CONVERSATIONS = 40
PEOPLE = ("Dana Scully", "Alice Walker", "Marcus Holloway", "Priya Raman", "Tomasz Nowak",
          "Keiko Tanaka", "Gustavo Ferreira", "Ingrid Lindqvist", "Oluwaseun Adeyemi",
          "Fiona McAllister", "Rashid Karimi", "Helena Sokolova")
CARS = ("Outback", "Camry", "F-150", "Civic", "Tacoma", "Explorer")
TEMPLATES = ("Hi, this is {name}, calling about my {car}.",
             "Hello, my name is {name} and the {car} needs brakes.",
             "Thanks! {name} will pick up the {car} at 5.")
#: a person's tag; NER may call a name a place, which is still the one tag of that person
LABEL = re.compile(r"<(?:PERSON|LOCATION|NRP)_[0-9]+>")


def _members_with_partitions(settings: Settings) -> int:
    admin = kafka_clients.admin(settings, principal=Principal.ADMIN)
    group = admin.describe_consumer_groups([settings.app_id])[settings.app_id].result(10)
    if group.state != ConsumerGroupState.STABLE:
        return 0
    return sum(1 for m in group.members if m.assignment.topic_partitions)


@pytest.fixture()
def two_workers(pipeline: Settings) -> Iterator[Settings]:
    supervisor.start(pipeline, "worker-2")
    try:
        supervisor.wait_ready(pipeline, "worker-2")
        wait_for(lambda: _members_with_partitions(pipeline) == 2, 90,
                 "two workers sharing the partitions")
        yield pipeline
    finally:
        supervisor.stop(pipeline, "worker-2")


def test_no_shared_tags_and_no_person_with_two(two_workers: Settings) -> None:
    settings = two_workers
    prefix = f"pz{uuid.uuid4().hex[:6]}"
    rng = random.Random(11)
    raw = topics.CONVERSATIONS_RAW.name(settings.topic_prefix)
    murmur = kafka_clients.producer(settings, principal=Principal.INGEST)
    crc32 = kafka_clients.producer(settings, principal=Principal.INGEST,
                                   partitioner="consistent_random")
    truth: dict[str, str] = {}  # source event id -> the person it names
    sent = 0
    for c in range(CONVERSATIONS):
        conv = f"{prefix}-conv-{c}"
        people = rng.sample(PEOPLE, 3)
        for k in range(6):
            name = people[k % 3]
            event = ConversationMessageRaw(
                event_id=str(uuid.uuid4()), occurred_at=utcnow(),
                tenant_id=f"{prefix}-dealer", conversation_id=conv,
                text=rng.choice(TEMPLATES).format(name=name, car=rng.choice(CARS)))
            truth[event.event_id] = name
            (crc32 if k % 2 else murmur).produce(raw, key=conv.encode(),
                                                 value=serde.encode(event))
            sent += 1
    assert murmur.flush(30) == 0 and crc32.flush(30) == 0

    redacted_topic = topics.CONVERSATIONS_REDACTED.name(settings.topic_prefix)

    def redacted() -> dict[str, ConversationMessageRedacted]:
        out = {}
        for m in read_topic(settings, redacted_topic, principal=Principal.READER):
            ev = serde.decode(m.value(), ConversationMessageRedacted)
            if ev.tenant_id.startswith(prefix):
                out[ev.source_event_id] = ev
        return out if set(out) == set(truth) else {}

    got = wait_for(redacted, 180, f"{sent} redacted messages")
    assert isinstance(got, dict)
    tags_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    people_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for source_id, ev in got.items():
        labels = set(LABEL.findall(ev.redacted_text))
        assert len(labels) == 1, ev.redacted_text
        (label,) = labels
        tags_of[(ev.conversation_id, truth[source_id])].add(label)
        people_of[(ev.conversation_id, label)].add(truth[source_id])
    two_tags = {k: v for k, v in tags_of.items() if len(v) > 1}
    shared = {k: v for k, v in people_of.items() if len(v) > 1}
    assert two_tags == {} and shared == {}, (two_tags, shared)

    # the misplaced half really was misplaced, and re-routed: the raw topic holds copies
    copies = 0
    for m in read_topic(settings, raw, principal=Principal.ADMIN):
        try:
            copies += serde.decode(m.value(), ConversationMessageRaw).event_id in truth
        except serde.DecodeError:  # other tests' bad inputs share the topic
            continue
    assert copies > sent
