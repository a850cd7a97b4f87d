"""The Faust app: settings -> app with every AI step wired to its topics.

Invariant: one `ModelAccess` per worker process — one LLM gateway (one LiteLLM Router, one
spend ledger, one response cache) and one `KafkaUsageSink` — shared by every AI step, so
budgets, cooldowns and the cache are the process's whole view, not one per step module.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from processors.llm.gateway import LlmGateway
from processors.llm.spend import SpendLedger
from runtime.settings import Settings
from streams import builder_steps, media_steps, redaction_step
from streams.builder_steps import WorkflowLookup
from streams.usage_sink import KafkaUsageSink


@dataclass(frozen=True)
class ModelAccess:
    """The worker's one LLM gateway and the usage sink its events go to."""

    gateway: LlmGateway
    usage: KafkaUsageSink


def model_access(settings: Settings) -> ModelAccess:
    """A gateway with a fresh (unseeded) ledger, reporting usage to Kafka."""
    usage = KafkaUsageSink(settings)
    return ModelAccess(LlmGateway(sink=usage, ledger=SpendLedger()), usage)


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
        # Static membership + a short session: a worker restarted after a crash (kill -9)
        # rejoins as the same member and resumes its partitions at once; a worker that is
        # gone for good hands them over after the session timeout, not Faust's 60 s default.
        consumer_group_instance_id=settings.worker_instance,
        broker_session_timeout=settings.worker_session_timeout_s,
        broker_heartbeat_interval=max(1.0, settings.worker_session_timeout_s / 4),
        broker_commit_interval=1.0,
        stream_buffer_maxsize=4096,
        datadir=str(settings.home / "faust" / settings.app_id),
    )
    return app


def create_app(settings: Settings, workflow_lookup: WorkflowLookup,
               models: ModelAccess | None = None) -> faust.App:
    """Build the Faust app and register its steps (the worker entry runs it). Every AI step
    uses `models` (default: a new `model_access(settings)`)."""
    models = models or model_access(settings)
    app = new_faust_app(settings)
    redaction_step.wire(app, settings)
    builder_steps.wire(app, settings, workflow_lookup, models.gateway, models.usage)
    media_steps.wire(app, settings, models.gateway, models.usage)
    return app
