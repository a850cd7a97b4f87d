"""`auterity worker`: run the Faust processors until stopped (SIGTERM/SIGINT).

The process has ONE LLM gateway (`streams.app.ModelAccess`) shared by every AI step. At start
its spend ledger is seeded in the background from the recorded usage (`spend_source`, handed
in by the CLI: it reads ClickHouse), retrying while the store is unreachable (the worker runs
meanwhile, and says that budgets are unseeded), and its live state is published to
`<home>/run/llm-state.json` for `auterity models`.
"""

from __future__ import annotations

import atexit
import logging

from faust import Worker

from processors.llm.spend import SpendSource, start_seeding
from processors.llm.state import StatePublisher, state_path
from runtime.kafka_auth import Principal
from runtime.kafka_clients import ensure_topics
from runtime.settings import Settings
from streams.app import ModelAccess, create_app, model_access
from streams.builder_steps import WorkflowLookup

log = logging.getLogger("auterity.worker")


def start_model_services(settings: Settings, models: ModelAccess,
                         spend_source: SpendSource | None,
                         seed_retry_s: float = 5.0) -> StatePublisher:
    """Seed the gateway's ledger in the background and publish the gateway's state: at once,
    every few seconds and after every model call."""
    publisher = StatePublisher(models.gateway.state, state_path(settings.home))
    models.gateway.add_listener(publisher.notify)
    if spend_source is None:
        log.warning("LLM budgets NOT seeded: no spend source handed to the worker; budgets "
                    "count only this process's spend")
    else:
        start_seeding(models.gateway.ledger, spend_source, retry_s=seed_retry_s,
                      on_change=publisher.notify)
    return publisher.start()


def run_worker(settings: Settings, workflow_lookup: WorkflowLookup,
               spend_source: SpendSource | None = None, loglevel: str = "info") -> None:
    """Create the topics if needed, then run every Faust step in this process.

    `workflow_lookup` is handed to the builder steps (revisions of stored workflows);
    `spend_source(day, before)` (today's recorded spend per tenant) seeds the budgets.
    """
    ensure_topics(settings, principal=Principal.PII_STEP)
    logging.getLogger("auterity").setLevel(loglevel.upper())
    models = model_access(settings)
    app = create_app(settings, workflow_lookup, models)
    publisher = start_model_services(settings, models, spend_source)
    atexit.register(publisher.stop)
    worker = Worker(app, loglevel=loglevel, quiet=True, override_logging=True)
    worker.execute_from_commandline()
