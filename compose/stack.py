"""The native local stack used where Docker is absent: Kafka (KRaft), Postgres+pgvector, chDB.

`up` is idempotent (a running service is left alone), `down` stops what `up` started,
`status` reports each service's health. All state lives under `Settings.home`.

The embedded broker authenticates every client (SASL/SCRAM on its client listener; the
controller listener is SASL/PLAIN with a per-start secret) and authorizes it with KRaft's
StandardAuthorizer, denying whatever no ACL allows. Its SCRAM users are the principals of
runtime/kafka_auth.py, created at storage format with the passwords of the credentials file
(written at the first start); the ACLs are created (idempotently) at every start.
An external service named by AUTERITY_KAFKA_BOOTSTRAP / DATABASE_URL / CLICKHOUSE_URL is
used as it is and never started or stopped here.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from compose import postgres_auth
from runtime import kafka_auth, kafka_clients
from runtime.kafka_auth import Principal
from runtime.postgres import scalar
from runtime.readiness import ServiceHealth, pid_alive, read_pid
from runtime.settings import Settings

KAFKA_VERSION = "4.1.1"
LOCAL_DIR = Path(__file__).resolve().parent / "local"
LIBS_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "auterity"


class StackError(RuntimeError):
    """A service of the local stack could not be installed or started."""


def kafka_libs_dir() -> Path:
    return LIBS_CACHE / f"kafka-{KAFKA_VERSION}-libs"


def install_kafka() -> Path:
    """Fetch the broker jars from Maven Central once (cached); return the libs directory."""
    libs = kafka_libs_dir()
    marker = libs / ".complete"
    if marker.exists():
        return libs
    libs.mkdir(parents=True, exist_ok=True)
    cmd = [
        "mvn", "-q", "-B", "-f", str(LOCAL_DIR / "kafka-pom.xml"),
        "dependency:copy-dependencies", f"-DoutputDirectory={libs}",
    ]
    print(f"installing Kafka {KAFKA_VERSION} jars from Maven Central into {libs} ...", flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise StackError(
            f"mvn failed ({proc.returncode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise StackError(f"mvn finished but no kafka_2.13 jar is in {libs}")
    marker.touch()
    return libs


def _jaas(module: str, **options: str) -> str:
    opts = " ".join(f'{k}="{v}"' for k, v in options.items())
    return f"org.apache.kafka.common.security.{module} required {opts};"


def _kafka_properties(settings: Settings) -> str:
    """server.properties (it holds secrets: written mode 0600). The controller's PLAIN secret
    is new at every start; both of its ends are in this one file."""
    data = settings.kafka_dir / "data"
    mechanism = settings.kafka_sasl_mechanism
    admin_user, admin_password = kafka_auth.credentials(settings, Principal.ADMIN)
    controller_secret = secrets.token_urlsafe(24)
    scram = _jaas("scram.ScramLoginModule", username=admin_user, password=admin_password)
    plain = _jaas("plain.PlainLoginModule", username="controller", password=controller_secret,
                  user_controller=controller_secret)
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{settings.kafka_controller_port}",
        f"listeners=CLIENT://127.0.0.1:{settings.kafka_port},"
        f"CONTROLLER://127.0.0.1:{settings.kafka_controller_port}",
        f"advertised.listeners=CLIENT://127.0.0.1:{settings.kafka_port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=CLIENT",
        "listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,CLIENT:SASL_PLAINTEXT",
        # clients: SCRAM users from the metadata log; the broker's own (inter-broker) login is
        # the admin's
        f"sasl.enabled.mechanisms={mechanism}",
        f"sasl.mechanism.inter.broker.protocol={mechanism}",
        f"listener.name.client.sasl.enabled.mechanisms={mechanism}",
        f"listener.name.client.{mechanism.lower()}.sasl.jaas.config={scram}",
        # the controller listener: PLAIN with one static user, the broker itself (SCRAM users
        # live in the metadata log the controller serves); unauthenticated, the broker would
        # be User:ANONYMOUS there, which would then have to be a super user
        "sasl.mechanism.controller.protocol=PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms=PLAIN",
        f"listener.name.controller.plain.sasl.jaas.config={plain}",
        "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        f"super.users=User:{admin_user};User:controller",
        "allow.everyone.if.no.acl.found=false",
        f"log.dirs={data}",
        "num.partitions=3",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=6",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "min.insync.replicas=1",
        "default.replication.factor=1",
        "group.initial.rebalance.delay.ms=0",
        f"message.max.bytes={settings.max_message_bytes + 65536}",
        f"replica.fetch.max.bytes={settings.max_message_bytes + 65536}",
        "auto.create.topics.enable=false",
        "log.retention.hours=168",
        "",
    ])


def _check_embedded_security(settings: Settings) -> None:
    if settings.kafka_security_protocol != "SASL_PLAINTEXT" or \
            settings.kafka_sasl_mechanism not in kafka_auth.EMBEDDED_MECHANISMS:
        raise StackError(
            f"the embedded broker takes SASL_PLAINTEXT with "
            f"{' or '.join(kafka_auth.EMBEDDED_MECHANISMS)}, not "
            f"{settings.kafka_security_protocol}/{settings.kafka_sasl_mechanism} "
            "(AUTERITY_KAFKA_SECURITY_PROTOCOL / AUTERITY_KAFKA_SASL_MECHANISM are for external "
            "brokers)")


def _scram_users(settings: Settings) -> list[str]:
    """`--add-scram` arguments of the storage format: every principal with its password."""
    args = []
    for p in Principal:
        username, password = kafka_auth.credentials(settings, p)
        args += ["--add-scram",
                 f"{settings.kafka_sasl_mechanism}=[name={username},password={password}]"]
    return args


def kafka_health(settings: Settings, timeout: float = 3.0) -> ServiceHealth:
    try:
        admin = kafka_clients.admin(settings, principal=Principal.ADMIN, quiet=True)
        md = admin.list_topics(timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - reported as unhealthy with the reason
        return ServiceHealth("kafka", False, f"{settings.kafka_servers}: {exc}")
    return ServiceHealth("kafka", True, f"{settings.kafka_servers}: {len(md.brokers)} broker(s), "
                                        f"{len(md.topics)} topic(s)")


def kafka_pid(settings: Settings) -> int | None:
    """The live pid of the embedded Kafka broker under `settings.home` (None if external)."""
    if settings.kafka_bootstrap:
        return None
    return read_pid(settings.kafka_dir / "kafka.pid")


def postgres_pid(settings: Settings) -> int | None:
    """The live postmaster pid of the embedded Postgres under `settings.home` (None if
    external): the first line of its postmaster.pid."""
    if settings.database_url:
        return None
    try:
        pid = int((settings.pg_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def _secured(settings: Settings, health: ServiceHealth) -> ServiceHealth:
    """The embedded broker's users and ACLs as the code wants them (both idempotent)."""
    kafka_clients.ensure_scram_users(settings)
    created = kafka_clients.ensure_acls(settings)
    health.detail += f", SASL/{settings.kafka_sasl_mechanism}, ACLs ok ({created} created)"
    return health


def start_kafka(settings: Settings, timeout: float = 90.0) -> ServiceHealth:
    if settings.kafka_bootstrap:
        return kafka_health(settings)
    pidfile = settings.kafka_dir / "kafka.pid"
    if kafka_pid(settings) is not None:
        health = kafka_health(settings)
        if health.healthy:
            return _secured(settings, health)
    _check_embedded_security(settings)
    libs = install_kafka()
    kdir = settings.kafka_dir
    kdir.mkdir(parents=True, exist_ok=True)
    formatted = (kdir / "data" / "meta.properties").exists()
    if formatted and not settings.kafka_credentials_path.exists():
        raise StackError(
            f"{kdir / 'data'} was formatted before Kafka authentication was enabled (no "
            f"{settings.kafka_credentials_path}): its broker has no SCRAM users. Remove "
            f"{kdir} to format it again (its topics are lost).")
    kafka_auth.ensure_credentials_file(settings)
    props = kdir / "server.properties"
    props.unlink(missing_ok=True)
    fd = os.open(props, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(_kafka_properties(settings))
    cluster_file = kdir / "cluster.id"
    if not cluster_file.exists():
        cluster_file.write_text(uuid.uuid4().hex[:22])
    java = shutil.which("java") or "java"
    classpath = f"{libs}/*"
    fmt = subprocess.run(
        [java, "-cp", classpath, "kafka.tools.StorageTool", "format", "--ignore-formatted",
         "-t", cluster_file.read_text().strip(), "-c", str(props), *_scram_users(settings)],
        capture_output=True, text=True,
    )
    if fmt.returncode != 0:
        raise StackError(f"kafka storage format failed: {fmt.stdout[-1500:]}{fmt.stderr[-1500:]}")
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    log = open(settings.logs_dir / "kafka.log", "ab")
    env = dict(os.environ, KAFKA_HEAP_OPTS=f"-Xmx{settings.kafka_heap} -Xms{settings.kafka_heap}")
    log4j = LOCAL_DIR / "log4j2.properties"
    proc = subprocess.Popen(
        [java, f"-Xmx{settings.kafka_heap}", f"-Xms{settings.kafka_heap}",
         f"-Dlog4j2.configurationFile={log4j}", f"-Dkafka.logs.dir={settings.logs_dir}",
         "-cp", classpath, "kafka.Kafka", str(props)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, env=env,
    )
    pidfile.write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (settings.logs_dir / "kafka.log").read_text(errors="replace")[-3000:]
            raise StackError(f"Kafka exited with {proc.returncode} at start; log tail:\n{tail}")
        health = kafka_health(settings, timeout=1.0)
        if health.healthy:
            return _secured(settings, health)
        time.sleep(0.5)
    raise StackError(f"Kafka did not answer on {settings.kafka_servers} within {timeout:.0f}s; "
                     f"see {settings.logs_dir / 'kafka.log'}")


def stop_kafka(settings: Settings, timeout: float = 30.0) -> str:
    if settings.kafka_bootstrap:
        return "external Kafka: left alone"
    pid = kafka_pid(settings)
    if pid is None:
        return "kafka: not running"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
        return "kafka: killed after a clean stop timed out"
    return "kafka: stopped"


def postgres_health(settings: Settings) -> ServiceHealth:
    import psycopg

    url = settings.resolved_database_url()
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            version = scalar(conn, "show server_version")
            vec = conn.execute(
                "select default_version from pg_available_extensions where name='vector'"
            ).fetchone()
    except Exception as exc:  # noqa: BLE001 - reported as unhealthy with the reason
        return ServiceHealth("postgres", False, f"{exc}".strip())
    where = "external" if settings.database_url else str(settings.pg_dir)
    return ServiceHealth("postgres", True,
                         f"{where}: PostgreSQL {version}, pgvector {vec[0] if vec else 'MISSING'}")


def start_postgres(settings: Settings) -> ServiceHealth:
    if not settings.database_url:
        import pgserver

        settings.pg_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            pgserver.get_server(settings.pg_dir, cleanup_mode=None)
            postgres_auth.require_passwords(settings)  # pgserver's initdb trusts every login
        except Exception as exc:
            raise StackError(
                f"embedded Postgres failed to start in {settings.pg_dir}: {exc}") from exc
    health = postgres_health(settings)
    if not health.healthy:
        raise StackError(f"Postgres is not healthy: {health.detail}")
    return health


def stop_postgres(settings: Settings) -> str:
    if settings.database_url:
        return "external Postgres: left alone"
    if not (settings.pg_dir / "postmaster.pid").exists():
        return "postgres: not running"
    from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # made at import

    pg_ctl(["-w", "stop", "-m", "fast"], pgdata=settings.pg_dir,
           user="pgserver" if os.geteuid() == 0 else None)
    return "postgres: stopped"


def up(settings: Settings) -> list[ServiceHealth]:
    """Start Kafka and Postgres (the embedded ones unless external URLs are set).

    ClickHouse needs no start here: chDB is a library opened by the projections process, and
    its health is probed through the projections' reader (cli/stack_health.py).
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    return [start_kafka(settings), start_postgres(settings)]


def down(settings: Settings) -> list[str]:
    return [stop_kafka(settings), stop_postgres(settings)]


def status(settings: Settings) -> list[ServiceHealth]:
    return [kafka_health(settings), postgres_health(settings)]
