"""The Faust app: settings -> app with every AI step wired to its topics."""

from __future__ import annotations

import faust

from runtime.settings import Settings
from streams import builder_steps, media_steps, redaction_step
from streams.builder_steps import WorkflowLookup


def new_faust_app(settings: Settings) -> faust.App:
    """The Faust app with the pipeline's broker, serialisation and commit settings, no agents."""
    (settings.home / "faust").mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_servers}",
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=3,
        topic_replication_factor=1,
        topic_allow_declare=True,
        web_enabled=False,
        producer_acks=-1,
        producer_linger=0.005,
        producer_max_request_size=settings.max_message_bytes + 65536,
        consumer_max_fetch_size=settings.max_message_bytes + 65536,
        broker_commit_every=200,
        broker_commit_interval=1.0,
        stream_buffer_maxsize=4096,
        datadir=str(settings.home / "faust" / settings.app_id),
    )
    return app


def create_app(settings: Settings, workflow_lookup: WorkflowLookup) -> faust.App:
    """Build the Faust app and register its steps (the worker entry runs it)."""
    app = new_faust_app(settings)
    redaction_step.wire(app, settings)
    builder_steps.wire(app, settings, workflow_lookup)
    media_steps.wire(app, settings)
    return app
