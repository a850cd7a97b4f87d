"""Session-scoped local stack and pipeline for integration tests.

The stack runs under a temporary AUTERITY_HOME on its own ports (so a demo stack on the
default ports is left alone) with a per-session topic prefix and app id. The settings are
exported as environment variables so the worker and projection processes see them too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from compose import processes as supervisor
from compose import stack
from connectors.samples.delivery_servers import LocalSmsGateway, LocalSmtpServer
from connectors.samples.enrichment_server import LocalEnrichmentServer
from runtime.kafka_auth import Principal
from runtime.kafka_clients import ensure_topics
from runtime.settings import Settings

SESSION = uuid.uuid4().hex[:8]


def wait_for(condition: Callable[[], object], timeout: float, what: str,
              interval: float = 0.2) -> object:
    """Poll `condition` until it returns a truthy value; fail naming `what` on timeout."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


SMTP_PORT = int(os.environ.get("AUTERITY_TEST_SMTP_PORT", "18025"))
SMS_PORT = int(os.environ.get("AUTERITY_TEST_SMS_PORT", "18026"))
ENRICH_PORT = int(os.environ.get("AUTERITY_TEST_ENRICH_PORT", "18027"))
#: a port nothing listens on: the second enrichment source is down
ENRICH_DOWN_PORT = int(os.environ.get("AUTERITY_TEST_ENRICH_DOWN_PORT", "18028"))
ENRICH_KEY = "test-enrichment-key"


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    # Not under pytest's basetemp: that is mode 0700, and pgserver runs pg_ctl as its own
    # `pgserver` user, which must be able to reach the data directory to stop the server.
    made = None if os.environ.get("AUTERITY_TEST_HOME") else Path(
        tempfile.mkdtemp(prefix="auterity-test-"))
    if made is not None:
        made.chmod(0o755)
    home = Path(os.environ.get("AUTERITY_TEST_HOME") or made)
    env = {
        "AUTERITY_HOME": str(home),
        "AUTERITY_KAFKA_PORT": os.environ.get("AUTERITY_TEST_KAFKA_PORT", "19092"),
        "AUTERITY_KAFKA_CONTROLLER_PORT": os.environ.get("AUTERITY_TEST_CONTROLLER_PORT", "19093"),
        "AUTERITY_METRICS_PORT": os.environ.get("AUTERITY_TEST_METRICS_PORT", "18124"),
        "AUTERITY_TOPIC_PREFIX": f"t{SESSION}.",
        "AUTERITY_APP_ID": f"auterity-test-{SESSION}",
        "AUTERITY_REDACTION_WORKERS": "2",
        # deliveries go to the real local receivers of the `deliveries` fixture
        "AUTERITY_SMTP_HOST": "127.0.0.1",
        "AUTERITY_SMTP_PORT": str(SMTP_PORT),
        "AUTERITY_SMS_GATEWAY_URL": f"http://127.0.0.1:{SMS_PORT}/sms",
        "AUTERITY_SMS_GATEWAY_TOKEN": "test-gateway-token",
        "AUTERITY_DELIVERY_TIMEOUT_S": "5",
        "AUTERITY_AGENT_PLUGINS": "tests.integration.agent_plugins:agents",
        "AUTERITY_ENRICHMENT_SOURCES": "vindecoder,firmographics",
        "AUTERITY_ENRICHMENT_VINDECODER_URL": f"http://127.0.0.1:{ENRICH_PORT}",
        "AUTERITY_ENRICHMENT_VINDECODER_KEY": ENRICH_KEY,
        "AUTERITY_ENRICHMENT_FIRMOGRAPHICS_URL": f"http://127.0.0.1:{ENRICH_DOWN_PORT}",
        "AUTERITY_ENRICHMENT_TIMEOUT_S": "2",
        # workflow runs live in the clock the tests move (<home>/clock.json, runtime/clock.py)
        "AUTERITY_CLOCK": "file",
    }
    os.environ.update(env)
    s = Settings()
    stack.up(s)  # raises StackError (the run fails) if a service will not start
    ensure_topics(s, principal=Principal.ADMIN)
    yield s
    for name in supervisor.PROCESSES:
        supervisor.stop(s, name)
    stack.down(s)
    if made is not None:
        shutil.rmtree(made, ignore_errors=True)


@pytest.fixture(scope="session")
def enrichment(settings: Settings) -> Iterator[LocalEnrichmentServer]:
    """The local enrichment provider the worker's `vindecoder` source asks (the
    `firmographics` source points at a port nothing listens on)."""
    with LocalEnrichmentServer(ENRICH_PORT, ENRICH_KEY) as server:
        yield server


@pytest.fixture(scope="session")
def deliveries(settings: Settings) -> Iterator[tuple[LocalSmtpServer, LocalSmsGateway]]:
    """A real SMTP server (aiosmtpd) and an HTTP SMS gateway the worker delivers to."""
    with LocalSmtpServer(SMTP_PORT) as smtp, LocalSmsGateway(SMS_PORT) as sms:
        yield smtp, sms


#: seconds each process took from start to ready when the pipeline fixture started it
STARTUP_S: dict[str, float] = {}


@pytest.fixture(scope="session")
def pipeline(settings: Settings) -> Iterator[Settings]:
    """The worker and the projections running in the background."""
    started = time.monotonic()
    for name in supervisor.PROCESSES:
        supervisor.start(settings, name)
    for name in supervisor.PROCESSES:
        supervisor.wait_ready(settings, name)
        STARTUP_S[name] = time.monotonic() - started
    yield settings


@pytest.fixture()
def pg(settings: Settings) -> Iterator[psycopg.Connection]:
    with psycopg.connect(settings.resolved_database_url(), autocommit=True) as conn:
        yield conn


def restart(settings: Settings, name: str) -> None:
    supervisor.start(settings, name)
    supervisor.wait_ready(settings, name)
