"""Who a Kafka client is, and what each principal may do (README "Kafka authentication and ACLs").

Every Kafka client authenticates (SASL/SCRAM) as one `Principal`; the broker's authorizer
(KRaft's StandardAuthorizer, `allow.everyone.if.no.acl.found=false`) grants each principal
only what `acl_plan` lists. `admin` is the broker's super user. The others:

- `ingest` (connectors, the demo's producers): write the input topics (`INGEST_TOPICS`);
  read nothing;
- `pii-step` (the worker, every Faust step): read the raw topics and every redacted topic,
  write every pipeline topic, own its consumer group and its internal topics (`<app_id>-*`:
  the tables' changelogs, the progress topic);
- `projections` (the projections): read the redacted topics, write the DLQ;
- `restricted` (the restricted projection): read pii.restricted, write the DLQ;
- `step-metrics` (the ClickHouse step-metrics projection): read the redacted topics and the
  DLQ, write the DLQ;
- `reader` (`auterity tail`, downstream apps): read the redacted topics.

"Redacted topics" are the catalog's topics not marked `raw_pii`; a `raw_pii` topic is read only
by the principals its catalogued reader roles map to (`ROLE_PRINCIPALS`). The service
principals (`pii-step`, `projections`, `restricted`, `step-metrics`) may also see every
pipeline topic's metadata and create catalogued topics (each process ensures its topics at
start); that reads no record.

Credentials: `AUTERITY_KAFKA_<PRINCIPAL>_USERNAME`/`_PASSWORD`, else the credentials file
(`Settings.kafka_credentials_path`, mode 0600), which the embedded broker writes with random
passwords at its first start (`ensure_credentials_file`).
"""

from __future__ import annotations

import json
import os
import secrets
from enum import StrEnum

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from runtime.settings import Settings
from schemas import topics


class KafkaAuthError(RuntimeError):
    """No credentials for a principal, or settings the security setup cannot take."""


class Principal(StrEnum):
    ADMIN = "admin"
    INGEST = "ingest"
    PII_STEP = "pii-step"
    PROJECTIONS = "projections"
    RESTRICTED = "restricted"
    STEP_METRICS = "step-metrics"
    READER = "reader"


#: catalog reader roles of raw-PII topics (schemas/topics.py `readers`) -> the principal each
#: runs as. `admin` (the DLQ CLI) is a super user and needs no ACL.
ROLE_PRINCIPALS: dict[str, Principal] = {
    topics.PII_STEP: Principal.PII_STEP,
    "ocr": Principal.PII_STEP,
    "voice": Principal.PII_STEP,
    "restricted_projection": Principal.RESTRICTED,
    "metrics_projection": Principal.STEP_METRICS,
    "dlq_cli": Principal.ADMIN,
}

#: the topics connectors produce to (events entering the pipeline)
INGEST_TOPICS: tuple[topics.TopicSpec, ...] = (
    topics.CONVERSATIONS_RAW, topics.DOCUMENTS_UPLOADED, topics.CALLS_RECORDED,
    topics.WORKFLOW_REQUESTS, topics.AGENT_TASKS_REQUESTED, topics.CUSTOMERS_RAW,
    topics.DELIVERIES_OUTCOMES,
    topics.DEALERSHIP_EVENTS,
)

#: principals that read every redacted topic
REDACTED_READERS = (Principal.PII_STEP, Principal.PROJECTIONS, Principal.STEP_METRICS,
                    Principal.READER)
#: principals of the pipeline's long-running processes (topic metadata + creation)
SERVICES = (Principal.PII_STEP, Principal.PROJECTIONS, Principal.RESTRICTED,
            Principal.STEP_METRICS)
#: principals of the projections process (their groups, the DLQ for refused records)
PROJECTION_PRINCIPALS = (Principal.PROJECTIONS, Principal.RESTRICTED, Principal.STEP_METRICS)

EMBEDDED_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


# --- groups ------------------------------------------------------------------------------

def projection_group(settings: Settings, name: str) -> str:
    """The consumer group of projection `name`."""
    return f"{settings.app_id}-projection-{name}"


def progress_group(settings: Settings) -> str:
    """The group the worker reads its progress topic with (streams/progress.py)."""
    return f"{settings.app_id}-progress-reader"


def reader_group_prefix(settings: Settings, principal: Principal) -> str:
    """Throw-away groups of `principal`'s assign-only readers start with this."""
    return f"{settings.app_id}-reader-{principal}-"


# --- credentials -------------------------------------------------------------------------

def _env_name(principal: Principal) -> str:
    return principal.value.replace("-", "_")


def _read_file(settings: Settings) -> dict[str, dict[str, str]]:
    path = settings.kafka_credentials_path
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise KafkaAuthError(f"cannot read the Kafka credentials file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise KafkaAuthError(f"{path} must hold a JSON object {{principal: {{username, "
                             "password}}}}")
    return data


def credentials(settings: Settings, principal: Principal) -> tuple[str, str]:
    """(username, password) of `principal`: the environment first, then the credentials file."""
    field = _env_name(principal)
    entry = _read_file(settings).get(principal.value, {})
    username = getattr(settings, f"kafka_{field}_username") or entry.get("username") \
        or principal.value
    secret = getattr(settings, f"kafka_{field}_password")
    password = secret.get_secret_value() if secret is not None else entry.get("password")
    if not password:
        raise KafkaAuthError(
            f"no password for Kafka principal {principal.value!r}: set "
            f"AUTERITY_KAFKA_{field.upper()}_PASSWORD, or start the embedded broker "
            f"(`auterity stack up`), which writes {settings.kafka_credentials_path}")
    return username, password


def ensure_credentials_file(settings: Settings) -> None:
    """Give every principal without a password in the file a random one (mode 0600, atomic).

    The embedded broker calls this before it formats its storage with those users."""
    path = settings.kafka_credentials_path
    data = _read_file(settings)
    missing = [p for p in Principal if not data.get(p.value, {}).get("password")]
    if not missing:
        return
    for p in missing:
        data[p.value] = {"username": p.value, "password": secrets.token_urlsafe(24)}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=2)
    os.replace(tmp, path)


def client_config(settings: Settings, principal: Principal) -> dict[str, str]:
    """librdkafka security settings for a client acting as `principal`."""
    protocol: str = settings.kafka_security_protocol
    conf: dict[str, str] = {"security.protocol": protocol}
    if protocol == "PLAINTEXT":
        return conf
    username, password = credentials(settings, principal)
    conf.update({"sasl.mechanism": settings.kafka_sasl_mechanism,
                 "sasl.username": username, "sasl.password": password})
    if protocol == "SASL_SSL" and settings.kafka_ssl_cafile:
        conf["ssl.ca.location"] = str(settings.kafka_ssl_cafile)
    return conf


# --- ACLs --------------------------------------------------------------------------------

def user_names(settings: Settings) -> dict[Principal, str]:
    """The broker user name each principal authenticates as."""
    out = {}
    for p in Principal:
        configured = getattr(settings, f"kafka_{_env_name(p)}_username")
        out[p] = configured or _read_file(settings).get(p.value, {}).get("username") or p.value
    return out


def acl_plan(settings: Settings) -> list[AclBinding]:
    """Every ALLOW binding the pipeline's principals need under this deployment's topic prefix
    and app id (everything else is denied: there are no DENY bindings to keep)."""
    prefix, app = settings.topic_prefix, settings.app_id
    if prefix.startswith(app) or app.startswith(prefix):
        raise KafkaAuthError(f"topic prefix {prefix!r} and app id {app!r} overlap: the worker's "
                             "internal topics could not be told from the pipeline's")
    names = user_names(settings)

    def _allow(principal: Principal, kind: ResourceType, name: str,
               pattern: ResourcePatternType, operation: AclOperation) -> AclBinding:
        return AclBinding(kind, name, pattern, f"User:{names[principal]}", "*", operation,
                          AclPermissionType.ALLOW)

    topic, group = ResourceType.TOPIC, ResourceType.GROUP
    literal, prefixed = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED
    read, write = AclOperation.READ, AclOperation.WRITE
    plan: list[AclBinding] = []
    for spec in topics.CATALOG:
        name = spec.name(prefix)
        if spec.raw_pii:
            unknown = [r for r in spec.readers if r not in ROLE_PRINCIPALS]
            if unknown:
                raise KafkaAuthError(f"reader role(s) {unknown} of {spec.suffix} map to no Kafka "
                                     "principal (runtime/kafka_auth.py ROLE_PRINCIPALS)")
            readers = sorted({ROLE_PRINCIPALS[r] for r in spec.readers} - {Principal.ADMIN})
        else:
            readers = list(REDACTED_READERS)
        plan += [_allow(p, topic, name, literal, read) for p in readers]
    plan += [_allow(Principal.INGEST, topic, spec.name(prefix), literal, write)
             for spec in INGEST_TOPICS]
    plan += [_allow(p, topic, topics.DEAD_LETTERS.name(prefix), literal, write)
             for p in PROJECTION_PRINCIPALS]
    for p in SERVICES:
        plan += [_allow(p, topic, prefix, prefixed, op)
                 for op in (AclOperation.DESCRIBE, AclOperation.CREATE)]
    # the worker: writes every pipeline topic; owns its internal topics and groups
    plan.append(_allow(Principal.PII_STEP, topic, prefix, prefixed, write))
    # `<app id>-`, not `<app id>`: another deployment's "auterity-pipeline2-..." is not ours
    plan += [_allow(Principal.PII_STEP, topic, f"{app}-", prefixed, op)
             for op in (read, write, AclOperation.CREATE, AclOperation.DESCRIBE)]
    plan += [_allow(Principal.PII_STEP, group, name, literal, read)
             for name in (app, progress_group(settings))]
    plan += [_allow(p, group, projection_group(settings, ""), prefixed, read)
             for p in PROJECTION_PRINCIPALS]
    plan += [_allow(p, group, reader_group_prefix(settings, p), prefixed, read)
             for p in Principal if p is not Principal.ADMIN]
    return plan
