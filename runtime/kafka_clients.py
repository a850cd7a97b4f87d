"""The one factory for confluent-kafka clients (producer, consumer, admin) and topic creation.

Every confluent-kafka client in the code, bench included, is built here, so broker address,
credentials, message-size limits, acks and idempotence are set in one place. (Faust builds
its own aiokafka clients from streams/app.py, with the same credentials.)

Invariants:
- every client names the principal it acts as (runtime/kafka_auth.py) and authenticates as
  it; the broker's ACLs decide what it may read and write (`ensure_acls` creates them);
- producers are idempotent with acks=all and the Java client's murmur2 partitioner, so a
  key lands in the partition Faust and the Java tools would pick;
- consumers never auto-commit: whoever consumes stores its own position (the projections
  with their rows, the redaction step in its progress topic);
- `ensure_topics` / `ensure_topic` are idempotent (an existing topic is left as it is).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import Consumer, Message, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from runtime.kafka_auth import Principal, acl_plan, client_config, credentials, reader_group_prefix
from runtime.settings import Settings
from schemas import topics

_QUIET = logging.getLogger("auterity.rdkafka")
_QUIET.setLevel(logging.CRITICAL)  # librdkafka logs connection refusals while a broker starts


def _base(settings: Settings, principal: Principal) -> dict[str, Any]:
    return {"bootstrap.servers": settings.kafka_servers, **client_config(settings, principal)}


def producer(settings: Settings, *, principal: Principal, **overrides: object) -> Producer:
    """An idempotent producer acting as `principal`, acks=all, Java-compatible partitioner
    (murmur2)."""
    conf: dict[str, object] = {
        **_base(settings, principal),
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "partitioner": "murmur2_random",
        "message.max.bytes": settings.max_message_bytes + 65536,
    }
    conf.update(overrides)
    return Producer(conf)


def consumer(settings: Settings, group_id: str | None = None, *, principal: Principal,
             **overrides: object) -> Consumer:
    """A consumer acting as `principal` that never auto-commits and fetches messages up to the
    size limit.

    `group_id` defaults to a throw-away group of the principal's (readers that only assign
    partitions).
    """
    conf: dict[str, object] = {
        **_base(settings, principal),
        "group.id": group_id or f"{reader_group_prefix(settings, principal)}{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "max.partition.fetch.bytes": settings.max_message_bytes + 65536,
    }
    conf.update(overrides)
    return Consumer(conf)


def admin(settings: Settings, *, principal: Principal, quiet: bool = False) -> AdminClient:
    """An admin client acting as `principal`; `quiet` silences librdkafka's connection errors
    (health probes)."""
    conf: dict[str, Any] = _base(settings, principal)
    if quiet:
        conf.update({"log_level": 0, "logger": _QUIET})
    return AdminClient(conf)


def ensure_topic(settings: Settings, name: str, partitions: int,
                 config: Mapping[str, str], timeout: float = 30.0, *,
                 principal: Principal) -> bool:
    """Create topic `name` unless it exists; True if this call created it."""
    client = admin(settings, principal=principal)
    if name in client.list_topics(timeout=timeout).topics:
        return False
    return bool(_create(client, [NewTopic(name, num_partitions=partitions, replication_factor=1,
                                          config=dict(config))], timeout))


def ensure_topics(settings: Settings, timeout: float = 30.0, *,
                  principal: Principal) -> list[str]:
    """Create every catalogued topic that does not exist yet; return the names created."""
    client = admin(settings, principal=principal)
    existing = set(client.list_topics(timeout=timeout).topics)
    prefix = settings.topic_prefix
    wanted = [
        NewTopic(spec.name(prefix), num_partitions=spec.partitions, replication_factor=1,
                 config=spec.config(settings.max_message_bytes))
        for spec in topics.CATALOG if spec.name(prefix) not in existing
    ]
    return _create(client, wanted, timeout) if wanted else []


def _create(client: AdminClient, wanted: list[NewTopic], timeout: float) -> list[str]:
    created = []
    for name, fut in client.create_topics(wanted, operation_timeout=timeout).items():
        try:
            fut.result()
            created.append(name)
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise
    return created


def _binding_key(b: AclBinding) -> tuple[Any, ...]:
    return (b.restype, b.name, b.resource_pattern_type, b.principal, b.host, b.operation,
            b.permission_type)


def ensure_acls(settings: Settings, timeout: float = 30.0) -> int:
    """Create the bindings of `kafka_auth.acl_plan` the broker does not hold yet (as the admin
    principal); return how many were created. Bindings of other deployments (topic prefixes)
    on the same broker are left as they are."""
    client = admin(settings, principal=Principal.ADMIN)
    anything: Any = None  # in a filter, None matches any name, principal and host
    everything = AclBindingFilter(ResourceType.ANY, anything, ResourcePatternType.ANY, anything,
                                  anything, AclOperation.ANY, AclPermissionType.ANY)
    held = {_binding_key(b) for b in client.describe_acls(everything,
                                                         request_timeout=timeout).result()}
    missing = [b for b in acl_plan(settings) if _binding_key(b) not in held]
    if missing:
        for fut in client.create_acls(missing, request_timeout=timeout).values():
            fut.result()
    return len(missing)


def remove_acls(settings: Settings, timeout: float = 30.0) -> int:
    """Delete this deployment's bindings of `kafka_auth.acl_plan` (a bench run's own prefix and
    app id, once its topics are gone); return how many were deleted."""
    client = admin(settings, principal=Principal.ADMIN)
    filters = [AclBindingFilter(*_binding_key(b)) for b in acl_plan(settings)]
    deleted = 0
    for fut in client.delete_acls(filters, request_timeout=timeout).values():
        deleted += len(fut.result())
    return deleted


def ensure_scram_users(settings: Settings, timeout: float = 30.0) -> int:
    """Set every principal's SCRAM credentials on the broker to the configured passwords (as
    the admin principal, idempotent): a principal added after the storage was formatted, or a
    password changed in the environment, authenticates afterwards. Returns how many users."""
    mechanism = ScramMechanism[settings.kafka_sasl_mechanism.replace("-", "_")]
    upserts: list[UserScramCredentialAlteration] = []
    for p in Principal:
        if p is Principal.ADMIN:
            continue  # the admin is who does this: it authenticated already
        username, password = credentials(settings, p)
        upserts.append(UserScramCredentialUpsertion(
            username, ScramCredentialInfo(mechanism, 4096), password.encode()))
    client = admin(settings, principal=Principal.ADMIN)
    for fut in client.alter_user_scram_credentials(upserts,
                                                   request_timeout=timeout).values():
        fut.result()
    return len(upserts)


def next_offsets(messages: Iterable[Message]) -> dict[tuple[str, int], int]:
    """The offset after the last of `messages` per (topic, partition)."""
    nxt: dict[tuple[str, int], int] = {}
    for m in messages:
        topic, partition, offset = position(m)
        nxt[(topic, partition)] = offset + 1
    return nxt


def position(m: Message) -> tuple[str, int, int]:
    """(topic, partition, offset) of a CONSUMED message (librdkafka sets all three on it)."""
    topic, partition, offset = m.topic(), m.partition(), m.offset()
    if topic is None or partition is None or offset is None:
        raise ValueError("a message without topic/partition/offset was not consumed")
    return topic, partition, offset
