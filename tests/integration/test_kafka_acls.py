"""Kafka authentication and ACLs on the real broker the suite starts (runtime/kafka_auth.py).

Every principal but the one the catalog names is refused the raw layer (the raw topics,
pii.restricted, the DLQ) and the worker's internal topics (the pseudonym books' changelog,
the progress topic); a client without credentials, or with wrong ones, is refused at login.
Denials are asserted on the broker's error codes; a positive control shows the allowed
principal fetching the same topic (a record, or the end of the partition).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from compose import stack
from runtime import kafka_auth, kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import ConversationMessageRaw, utcnow
from streams.progress import progress_topic

from .conftest import wait_for

pytestmark = pytest.mark.integration

DENIED = KafkaError.TOPIC_AUTHORIZATION_FAILED
RAW = (topics.CONVERSATIONS_RAW, topics.DOCUMENTS_UPLOADED, topics.CALLS_RECORDED)
OTHERS = [p for p in Principal if p not in (Principal.ADMIN, Principal.PII_STEP)]


def _first_fetch_outcome(settings: Settings, principal: Principal, topic: str,
                         timeout: float = 60.0) -> KafkaError | bytes:
    """Subscribe as `principal` and return the first thing the broker says: an error (e.g.
    TOPIC_AUTHORIZATION_FAILED), the end of a partition (_PARTITION_EOF: the fetch was
    allowed), or the value of a record."""
    consumer = kafka_clients.consumer(settings, principal=principal, **{
        "auto.offset.reset": "latest", "enable.partition.eof": True, "log_level": 0})
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            err = msg.error()
            return err if err is not None else (msg.value() or b"")
        raise AssertionError(f"{principal} got no answer about {topic} within {timeout:.0f}s")
    finally:
        consumer.close()


def _assert_denied(settings: Settings, principal: Principal, topic: str) -> None:
    outcome = _first_fetch_outcome(settings, principal, topic)
    assert isinstance(outcome, KafkaError), f"{principal} read a record of {topic}"
    assert outcome.code() == DENIED, f"{principal} on {topic}: {outcome}"


def _assert_allowed(settings: Settings, principal: Principal, topic: str) -> None:
    outcome = _first_fetch_outcome(settings, principal, topic)
    if isinstance(outcome, KafkaError):
        assert outcome.code() == KafkaError._PARTITION_EOF, f"{principal} on {topic}: {outcome}"


@pytest.mark.parametrize("principal", OTHERS)
@pytest.mark.parametrize("spec", RAW, ids=[s.suffix for s in RAW])
def test_only_the_pii_step_reads_the_raw_topics(settings: Settings, spec: topics.TopicSpec,
                                                 principal: Principal) -> None:
    _assert_denied(settings, principal, spec.name(settings.topic_prefix))


@pytest.mark.parametrize("spec", RAW, ids=[s.suffix for s in RAW])
def test_the_pii_step_fetches_the_raw_topics(settings: Settings, spec: topics.TopicSpec) -> None:
    _assert_allowed(settings, Principal.PII_STEP, spec.name(settings.topic_prefix))


@pytest.mark.parametrize("principal", [p for p in OTHERS if p is not Principal.RESTRICTED]
                         + [Principal.PII_STEP])
def test_only_the_restricted_projection_reads_pii_restricted(settings: Settings,
                                                            principal: Principal) -> None:
    name = topics.RESTRICTED_FIELDS.name(settings.topic_prefix)
    _assert_denied(settings, principal, name)


def test_the_restricted_projection_fetches_pii_restricted(settings: Settings) -> None:
    _assert_allowed(settings, Principal.RESTRICTED,
                    topics.RESTRICTED_FIELDS.name(settings.topic_prefix))


@pytest.mark.parametrize("principal", [p for p in OTHERS if p is not Principal.STEP_METRICS]
                         + [Principal.PII_STEP])
def test_the_dlq_is_read_only_by_the_operator_and_the_step_metrics(settings: Settings,
                                                                  principal: Principal) -> None:
    _assert_denied(settings, principal, topics.DEAD_LETTERS.name(settings.topic_prefix))


def test_the_step_metrics_projection_fetches_the_dlq(settings: Settings) -> None:
    _assert_allowed(settings, Principal.STEP_METRICS,
                    topics.DEAD_LETTERS.name(settings.topic_prefix))


@pytest.mark.parametrize("principal", [Principal.PROJECTIONS, Principal.READER,
                                       Principal.STEP_METRICS])
def test_projections_and_readers_read_the_redacted_topics(settings: Settings,
                                                          principal: Principal) -> None:
    _assert_allowed(settings, principal, topics.CONVERSATIONS_REDACTED.name(settings.topic_prefix))


def _worker_topics(settings: Settings) -> list[str]:
    """The worker's internal topics once it runs: its tables' changelogs and its progress."""
    admin = kafka_clients.admin(settings, principal=Principal.ADMIN)
    names = set(admin.list_topics(timeout=10).topics)
    wanted = [f"{settings.app_id}-pseudonym-books-changelog",
              f"{settings.app_id}-workflow-versions-changelog", progress_topic(settings)]
    return wanted if all(n in names for n in wanted) else []


@pytest.mark.parametrize("principal", OTHERS)
def test_the_worker_internal_topics_are_the_worker_s_alone(pipeline: Settings,
                                                           principal: Principal) -> None:
    internal = wait_for(lambda: _worker_topics(pipeline), 120,
                        "the worker's changelog and progress topics")
    assert isinstance(internal, list)
    for name in internal:
        _assert_denied(pipeline, principal, name)


def _raw_event(tenant: str) -> ConversationMessageRaw:
    return ConversationMessageRaw(event_id=str(uuid.uuid4()), tenant_id=tenant,
                                  occurred_at=utcnow(), conversation_id=f"{tenant}-c1",
                                  text="Hi, is the 2021 Civic still available?",
                                  ingested_at=utcnow())


def _produce(settings: Settings, principal: Principal, topic: str,
             value: bytes) -> tuple[KafkaError | None, Any]:
    """Produce one record; (delivery error, message). Not idempotent: a principal that may
    write no topic at all would be refused its producer id (CLUSTER_AUTHORIZATION_FAILED)
    before the topic is even asked about."""
    producer = kafka_clients.producer(settings, principal=principal, **{
        "log_level": 0, "enable.idempotence": False})
    outcome: list[tuple[KafkaError | None, Any]] = []
    producer.produce(topic, key=b"acl-test", value=value,
                     on_delivery=lambda err, msg: outcome.append((err, msg)))
    producer.flush(30)
    assert outcome, f"no delivery report for {topic}"
    return outcome[0]


def test_ingest_writes_raw_but_reads_nothing_and_the_pii_step_reads_its_record(
        settings: Settings) -> None:
    raw = topics.CONVERSATIONS_RAW.name(settings.topic_prefix)
    value = serde.encode(_raw_event(f"acl-{uuid.uuid4().hex[:6]}"))
    err, msg = _produce(settings, Principal.INGEST, raw, value)
    assert err is None, err
    _assert_denied(settings, Principal.INGEST, raw)
    # the pii-step reads exactly that record
    consumer = kafka_clients.consumer(settings, principal=Principal.PII_STEP)
    try:
        consumer.assign([TopicPartition(raw, msg.partition(), msg.offset())])
        got = wait_for(lambda: consumer.poll(0.5), 30, "the pii-step reading the raw record")
        assert got.error() is None and got.value() == value  # type: ignore[attr-defined]
    finally:
        consumer.close()


@pytest.mark.parametrize("principal", [Principal.INGEST, Principal.PROJECTIONS,
                                       Principal.READER])
def test_only_the_worker_publishes_redacted_events(settings: Settings,
                                                   principal: Principal) -> None:
    err, _ = _produce(settings, principal,
                      topics.CONVERSATIONS_REDACTED.name(settings.topic_prefix), b"forged")
    assert err is not None and err.code() == DENIED, err


def test_readers_cannot_write_raw(settings: Settings) -> None:
    err, _ = _produce(settings, Principal.READER,
                      topics.CONVERSATIONS_RAW.name(settings.topic_prefix), b"forged")
    assert err is not None and err.code() == DENIED, err


def test_a_principal_cannot_grant_itself_the_raw_layer(settings: Settings) -> None:
    admin = kafka_clients.admin(settings, principal=Principal.PROJECTIONS)
    grant = AclBinding(ResourceType.TOPIC, topics.CONVERSATIONS_RAW.name(settings.topic_prefix),
                       ResourcePatternType.LITERAL, "User:projections", "*", AclOperation.READ,
                       AclPermissionType.ALLOW)
    [fut] = admin.create_acls([grant], request_timeout=30).values()
    with pytest.raises(KafkaException) as refused:
        fut.result()
    assert refused.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    _assert_denied(settings, Principal.PROJECTIONS,
                   topics.CONVERSATIONS_RAW.name(settings.topic_prefix))


@pytest.fixture()
def errors_of() -> Iterator[Callable[[dict[str, Any]], tuple[Consumer, list[KafkaError]]]]:
    """A consumer with the given security settings and the errors librdkafka reports for it."""
    made: list[Consumer] = []

    def make(conf: dict[str, Any]) -> tuple[Consumer, list[KafkaError]]:
        errors: list[KafkaError] = []
        consumer = Consumer({"group.id": f"acl-test-{uuid.uuid4().hex[:6]}", "log_level": 0,
                             "error_cb": errors.append, **conf})
        made.append(consumer)
        return consumer, errors

    yield make
    for c in made:
        c.close()


def _poll_raw(consumer: Consumer, settings: Settings) -> None:
    consumer.assign([TopicPartition(topics.CONVERSATIONS_RAW.name(settings.topic_prefix), 0,
                                    OFFSET_BEGINNING)])


@pytest.mark.parametrize("who", ["wrong password", "unknown user"])
def test_a_wrong_login_is_refused(settings: Settings, errors_of: Any, who: str) -> None:
    user, password = kafka_auth.credentials(settings, Principal.PII_STEP)
    conf = {"bootstrap.servers": settings.kafka_servers, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": settings.kafka_sasl_mechanism,
            "sasl.username": user if who == "wrong password" else "mallory",
            "sasl.password": password + "x"}
    consumer, errors = errors_of(conf)
    _poll_raw(consumer, settings)
    records: list[Any] = []

    def refused() -> bool:
        msg = consumer.poll(0.2)
        if msg is not None and msg.error() is None:
            records.append(msg)
        return any(e.code() == KafkaError._AUTHENTICATION for e in errors)

    wait_for(refused, 30, "the broker refusing the login")
    assert not records
    assert "Authentication failed" in next(
        e.str() for e in errors if e.code() == KafkaError._AUTHENTICATION)


def test_an_unauthenticated_client_is_refused(settings: Settings) -> None:
    admin = AdminClient({"bootstrap.servers": settings.kafka_servers, "log_level": 0})
    with pytest.raises(KafkaException) as refused:
        admin.list_topics(timeout=10)
    # the broker closes a connection that skips the SASL handshake
    assert refused.value.args[0].code() in (KafkaError._TRANSPORT, KafkaError._TIMED_OUT,
                                            KafkaError._ALL_BROKERS_DOWN)


#: A Java Admin client talking to the controller listener directly (bootstrap.controllers,
#: which librdkafka lacks): it lists the ACLs, optionally logging in with a PLAIN JAAS line.
CONTROLLER_PROBE = """
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AclBindingFilter;

public class Probe {
    public static void main(String[] args) throws Exception {
        Properties p = new Properties();
        p.put("bootstrap.controllers", args[0]);
        p.put("request.timeout.ms", "4000");
        p.put("default.api.timeout.ms", "6000");
        if (args.length > 1) {
            p.put("security.protocol", "SASL_PLAINTEXT");
            p.put("sasl.mechanism", "PLAIN");
            p.put("sasl.jaas.config", args[1]);
        }
        try (Admin admin = Admin.create(p)) {
            admin.describeAcls(AclBindingFilter.ANY).values().get();
            System.out.println("ALLOWED");
        } catch (Exception e) {
            System.out.println("REFUSED " + e.getCause());
        }
    }
}
"""


def test_the_controller_port_takes_only_the_broker_s_own_login(settings: Settings,
                                                               tmp_path: Path) -> None:
    """Unauthenticated, a client on the controller listener would be User:ANONYMOUS, which the
    broker-to-controller channel would need as a super user; it logs in with a PLAIN secret
    instead (new at every start, in the 0600 server.properties), so a client without it is
    refused and ACLs cannot be changed behind the broker's back."""
    probe = tmp_path / "Probe.java"
    probe.write_text(CONTROLLER_PROBE)
    props = (settings.kafka_dir / "server.properties").read_text()
    assert oct((settings.kafka_dir / "server.properties").stat().st_mode & 0o777) == "0o600"
    jaas = next(line.split("=", 1)[1] for line in props.splitlines()
                if line.startswith("listener.name.controller.plain.sasl.jaas.config="))
    client_jaas = re.sub(r' user_controller="[^"]*"', "", jaas)

    def run(*args: str) -> str:
        proc = subprocess.run(
            [shutil.which("java") or "java", "-cp", f"{stack.kafka_libs_dir()}/*", str(probe),
             f"127.0.0.1:{settings.kafka_controller_port}", *args],
            capture_output=True, text=True, timeout=120)
        return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr

    assert run().startswith("REFUSED")
    assert run(client_jaas.replace('password="', 'password="x')).startswith("REFUSED")
    assert run(client_jaas) == "ALLOWED"  # the probe works: the refusals are the login's
