"""The native local stack used where Docker is absent: Kafka (KRaft), Postgres+pgvector, chDB.

`up` is idempotent (a running service is left alone), `down` stops what `up` started,
`status` reports each service's health. All state lives under `Settings.home`.
An external service named by AUTERITY_KAFKA_BOOTSTRAP / DATABASE_URL / CLICKHOUSE_URL is
used as it is and never started or stopped here.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from runtime import kafka_clients
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


def _kafka_properties(settings: Settings) -> str:
    data = settings.kafka_dir / "data"
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{settings.kafka_controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{settings.kafka_port},"
        f"CONTROLLER://127.0.0.1:{settings.kafka_controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{settings.kafka_port}",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
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


def kafka_health(settings: Settings, timeout: float = 3.0) -> ServiceHealth:
    admin = kafka_clients.admin(settings, quiet=True)
    try:
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


def start_kafka(settings: Settings, timeout: float = 90.0) -> ServiceHealth:
    if settings.kafka_bootstrap:
        return kafka_health(settings)
    pidfile = settings.kafka_dir / "kafka.pid"
    if kafka_pid(settings) is not None:
        health = kafka_health(settings)
        if health.healthy:
            return health
    libs = install_kafka()
    kdir = settings.kafka_dir
    kdir.mkdir(parents=True, exist_ok=True)
    props = kdir / "server.properties"
    props.write_text(_kafka_properties(settings))
    cluster_file = kdir / "cluster.id"
    if not cluster_file.exists():
        cluster_file.write_text(uuid.uuid4().hex[:22])
    java = shutil.which("java") or "java"
    classpath = f"{libs}/*"
    fmt = subprocess.run(
        [java, "-cp", classpath, "kafka.tools.StorageTool", "format", "--ignore-formatted",
         "-t", cluster_file.read_text().strip(), "-c", str(props)],
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
            return health
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
