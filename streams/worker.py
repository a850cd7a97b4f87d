"""`auterity worker`: run the Faust processors until stopped (SIGTERM/SIGINT)."""

from __future__ import annotations

import logging

from faust import Worker

from runtime.kafka_clients import ensure_topics
from runtime.settings import Settings
from streams.app import create_app
from streams.builder_steps import WorkflowLookup


def run_worker(settings: Settings, workflow_lookup: WorkflowLookup,
               loglevel: str = "info") -> None:
    """Create the topics if needed, then run every Faust step in this process.

    `workflow_lookup` is handed to the builder steps (revisions of stored workflows).
    """
    ensure_topics(settings)
    app = create_app(settings, workflow_lookup)
    logging.getLogger("auterity").setLevel(loglevel.upper())
    worker = Worker(app, loglevel=loglevel, quiet=True, override_logging=True)
    worker.execute_from_commandline()
