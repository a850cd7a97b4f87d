"""The ACL plan and the credentials of runtime/kafka_auth.py, without a broker.

`_may` evaluates the plan the way StandardAuthorizer does for ALLOW-only bindings (a literal
name matches exactly, a prefixed one by prefix; READ/WRITE imply DESCRIBE), so each rule of
the README's table is checked for every catalogued topic and every principal."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from confluent_kafka.admin import AclBinding, AclOperation, ResourcePatternType, ResourceType

from runtime import kafka_auth
from runtime.kafka_auth import Principal, acl_plan, client_config, credentials
from runtime.settings import Settings
from schemas import topics

IMPLIES = {AclOperation.DESCRIBE: {AclOperation.DESCRIBE, AclOperation.READ,
                                   AclOperation.WRITE, AclOperation.DELETE,
                                   AclOperation.ALTER}}


def _may(plan: list[AclBinding], who: Principal, kind: ResourceType, name: str,
         op: AclOperation) -> bool:
    ops = IMPLIES.get(op, {op})
    for b in plan:
        if b.principal != f"User:{who.value}" or b.restype != kind or b.operation not in ops:
            continue
        if b.resource_pattern_type == ResourcePatternType.LITERAL and b.name == name:
            return True
        if b.resource_pattern_type == ResourcePatternType.PREFIXED and name.startswith(b.name):
            return True
    return False


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, topic_prefix="p.", app_id="app")


def _readers(settings: Settings, name: str) -> set[Principal]:
    plan = acl_plan(settings)
    return {p for p in Principal if _may(plan, p, ResourceType.TOPIC, name, AclOperation.READ)}


def test_raw_topics_are_read_by_the_pii_step_alone(settings: Settings) -> None:
    for spec in (topics.CONVERSATIONS_RAW, topics.DOCUMENTS_UPLOADED, topics.CALLS_RECORDED):
        assert _readers(settings, spec.name("p.")) == {Principal.PII_STEP}, spec.suffix


def test_restricted_fields_and_dlq_have_their_catalogued_readers_only(settings: Settings) -> None:
    assert _readers(settings, "p.pii.restricted") == {Principal.RESTRICTED}
    assert _readers(settings, "p.dlq") == {Principal.STEP_METRICS}  # + admin, a super user


def test_every_raw_pii_topic_maps_its_readers_and_nobody_else(settings: Settings) -> None:
    for spec in topics.CATALOG:
        readers = _readers(settings, spec.name("p."))
        if spec.raw_pii:
            expected = {kafka_auth.ROLE_PRINCIPALS[r] for r in spec.readers} - {Principal.ADMIN}
            assert readers == expected, spec.suffix
        else:
            assert readers == set(kafka_auth.REDACTED_READERS), spec.suffix
            assert Principal.INGEST not in readers and Principal.RESTRICTED not in readers


def test_internal_topics_of_the_worker_are_its_alone(settings: Settings) -> None:
    for name in ("app-pseudonym-books-changelog", "app-redaction-progress",
                 "app-__assignor-__leader"):
        assert _readers(settings, name) == {Principal.PII_STEP}, name
    plan = acl_plan(settings)
    assert not _may(plan, Principal.PROJECTIONS, ResourceType.TOPIC,
                    "app-pseudonym-books-changelog", AclOperation.DESCRIBE)


def test_who_writes_what(settings: Settings) -> None:
    plan = acl_plan(settings)

    def writers(name: str) -> set[Principal]:
        return {p for p in Principal
                if _may(plan, p, ResourceType.TOPIC, name, AclOperation.WRITE)}

    assert writers("p.conversations.raw") == {Principal.INGEST, Principal.PII_STEP}
    assert writers("p.conversations.redacted") == {Principal.PII_STEP}
    assert writers("p.dlq") == {Principal.PII_STEP, Principal.PROJECTIONS, Principal.RESTRICTED,
                                Principal.STEP_METRICS}
    assert not {b for b in plan if b.principal == "User:reader"
                and b.operation != AclOperation.READ}


def test_groups(settings: Settings) -> None:
    plan = acl_plan(settings)
    group = ResourceType.GROUP
    assert _may(plan, Principal.PII_STEP, group, "app", AclOperation.READ)
    assert _may(plan, Principal.RESTRICTED, group, "app-projection-postgres_restricted",
                AclOperation.READ)
    assert not _may(plan, Principal.PROJECTIONS, group, "app", AclOperation.READ)
    assert not _may(plan, Principal.INGEST, group, "app-projection-postgres", AclOperation.READ)
    for p in Principal:
        if p is not Principal.ADMIN:
            throwaway = f"{kafka_auth.reader_group_prefix(settings, p)}1234"
            assert _may(plan, p, group, throwaway, AclOperation.READ), p


def test_configured_user_names_are_the_ones_granted(settings: Settings) -> None:
    s = settings.model_copy(update={"kafka_projections_username": "svc-proj"})
    assert any(b.principal == "User:svc-proj" for b in acl_plan(s))
    assert not any(b.principal == "User:projections" for b in acl_plan(s))


def test_overlapping_prefix_and_app_id_are_refused(tmp_path: Path) -> None:
    with pytest.raises(kafka_auth.KafkaAuthError, match="overlap"):
        acl_plan(Settings(home=tmp_path, topic_prefix="app", app_id="app-x"))


def test_an_unmapped_reader_role_is_refused(settings: Settings,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(kafka_auth.ROLE_PRINCIPALS, "voice")
    with pytest.raises(kafka_auth.KafkaAuthError, match="voice"):
        acl_plan(settings)


def test_credentials_file_is_private_stable_and_complete(settings: Settings) -> None:
    kafka_auth.ensure_credentials_file(settings)
    path = settings.kafka_credentials_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = json.loads(path.read_text())
    assert set(first) == {p.value for p in Principal}
    kafka_auth.ensure_credentials_file(settings)
    assert json.loads(path.read_text()) == first
    user, password = credentials(settings, Principal.PII_STEP)
    assert (user, password) == ("pii-step", first["pii-step"]["password"])


def test_environment_wins_over_the_file(settings: Settings,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    kafka_auth.ensure_credentials_file(settings)
    monkeypatch.setenv("AUTERITY_KAFKA_PII_STEP_USERNAME", "worker-svc")
    monkeypatch.setenv("AUTERITY_KAFKA_PII_STEP_PASSWORD", "s3cret")
    s = Settings(home=settings.home)
    assert credentials(s, Principal.PII_STEP) == ("worker-svc", "s3cret")
    assert "s3cret" not in repr(s)
    conf = client_config(s, Principal.PII_STEP)
    assert conf == {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "SCRAM-SHA-256",
                    "sasl.username": "worker-svc", "sasl.password": "s3cret"}


def test_no_password_says_how_to_get_one(settings: Settings) -> None:
    with pytest.raises(kafka_auth.KafkaAuthError, match="AUTERITY_KAFKA_READER_PASSWORD"):
        credentials(settings, Principal.READER)


def test_plaintext_needs_no_credentials(settings: Settings) -> None:
    s = settings.model_copy(update={"kafka_security_protocol": "PLAINTEXT"})
    assert client_config(s, Principal.READER) == {"security.protocol": "PLAINTEXT"}


def test_sasl_ssl_takes_the_ca_file(settings: Settings,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTERITY_KAFKA_INGEST_PASSWORD", "pw")
    s = Settings(home=settings.home, kafka_security_protocol="SASL_SSL",
                 kafka_sasl_mechanism="SCRAM-SHA-512", kafka_ssl_cafile=Path("/etc/ca.pem"))
    conf = client_config(s, Principal.INGEST)
    assert conf["security.protocol"] == "SASL_SSL" and conf["ssl.ca.location"] == "/etc/ca.pem"
    assert conf["sasl.mechanism"] == "SCRAM-SHA-512"


def test_another_deployment_whose_app_id_extends_ours_is_not_ours(settings: Settings) -> None:
    """app id "app" must not grant "app2-..." (another pipeline on a shared broker)."""
    assert _readers(settings, "app2-pseudonym-books-changelog") == set()
    assert _readers(settings, "app-pseudonym-books-changelog") == {Principal.PII_STEP}
