"""The Faust app: settings -> app with every AI step wired to its topics.

Invariant: one `ModelAccess` per worker process — one LLM gateway (one LiteLLM Router, one
spend ledger, one response cache) and one `KafkaUsageSink` — shared by every AI step, so
budgets, cooldowns and the cache are the process's whole view, not one per step module.
"""

from __future__ import annotations

from dataclasses import dataclass

import faust

from connectors.delivery.service import may_contact
from connectors.enrichment.enricher import SourcesEnricher
from connectors.enrichment.sources import configured_sources
from processors.ai_agents.builtin import worker_agents
from processors.ai_agents.leads import parse_team
from processors.llm.gateway import LlmGateway
from processors.llm.spend import SpendLedger
from projections.agent_memory import PgMemoryRecall
from projections.customer_facts import PgCustomerFacts
from projections.learned_patterns import PgVariantStats, recorded_performance
from runtime import kafka_auth
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from streams import (
    agent_steps,
    builder_steps,
    delivery_steps,
    media_steps,
    redaction_step,
    run_steps,
)
from streams.agent_plugins import load_plugins
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


def broker_credentials(settings: Settings, principal: Principal) -> faust.SASLCredentials | None:
    """Faust's (aiokafka's) login as `principal`: the same credentials and protocol as the
    confluent-kafka clients of runtime/kafka_clients.py; None with PLAINTEXT."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return None
    username, password = kafka_auth.credentials(settings, principal)
    ssl_context = None
    if settings.kafka_security_protocol == "SASL_SSL":
        from aiokafka.helpers import create_ssl_context

        cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        ssl_context = create_ssl_context(cafile=cafile)
    return faust.SASLCredentials(username=username, password=password,
                                 mechanism=settings.kafka_sasl_mechanism,
                                 ssl_context=ssl_context)


def new_faust_app(settings: Settings, *, principal: Principal) -> faust.App:
    """The Faust app with the pipeline's broker, serialisation and commit settings, no agents;
    its clients act as `principal` (the pipeline's: `pii-step`)."""
    (settings.home / "faust").mkdir(parents=True, exist_ok=True)
    # one data directory per worker process (Faust's mkdir does not create parents)
    datadir = settings.home / "faust" / settings.app_id / settings.worker_name
    datadir.parent.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_servers}",
        broker_credentials=broker_credentials(settings, principal),
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
        datadir=str(datadir),
    )
    return app


def create_app(settings: Settings, workflow_lookup: WorkflowLookup,
               models: ModelAccess | None = None) -> faust.App:
    """Build the Faust app and register its steps (the worker entry runs it). Every AI step
    uses `models` (default: a new `model_access(settings)`)."""
    models = models or model_access(settings)
    app = new_faust_app(settings, principal=Principal.PII_STEP)
    pii_pool = redaction_step.wire(app, settings)
    builder_steps.wire(app, settings, workflow_lookup, models.gateway, models.usage, pii_pool)
    media_steps.wire(app, settings, models.gateway, models.usage)
    agents = worker_agents(models.gateway, PgVariantStats(settings),
                           extra=load_plugins(settings.agent_plugins, models.gateway),
                           facts=PgCustomerFacts(settings),
                           enricher=SourcesEnricher(configured_sources(settings)),
                           sales_team=parse_team(settings.sales_team))
    agent_steps.wire(app, settings, agents, models.usage, pii_pool,
                     memory=PgMemoryRecall(settings),
                     recorded=lambda: recorded_performance(settings))
    delivery_steps.wire(app, settings)
    consent_ledger = delivery_steps.open_ledger(settings)
    run_steps.wire(app, settings, lambda tenant, customer, channel: may_contact(
        consent_ledger, tenant, customer, channel))
    return app
