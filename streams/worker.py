"""`auterity worker`: run the Faust processors until stopped (SIGTERM/SIGINT)."""

from __future__ import annotations

import logging

from streams.settings import Settings
from streams.topics import ensure_topics


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    """Create the topics if needed, then run every Faust agent in this process."""
    from faust import Worker

    from streams.app import create_app

    ensure_topics(settings)
    app = create_app(settings)
    logging.getLogger("auterity").setLevel(loglevel.upper())
    worker = Worker(app, loglevel=loglevel, quiet=True, override_logging=True)
    worker.execute_from_commandline()
