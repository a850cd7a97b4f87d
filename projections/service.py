"""`auterity projections`: run the Postgres and ClickHouse projections in one process.

Postgres: conversations (`postgres`), the workflow builder's topics (`postgres_builder`),
document extractions and call analyses (`postgres_media`), the restricted PII fields
(`postgres_restricted`), AI agents and their tasks (`postgres_agents`), their memory
(`postgres_agent_memory`, pgvector) and what they learn from deliveries
(`postgres_delivery_outcomes`), workflow run histories (`postgres_workflow_runs`);
ClickHouse: step metrics (`clickhouse`), model usage (`clickhouse_usage`), media metrics
(`clickhouse_media`), agent task metrics (`clickhouse_agents`) and workflow run metrics
(`clickhouse_runs`). Each runs in its own thread with its own consumer group and stored
positions, and waits on its own for its store: with Postgres down, the ClickHouse
projections and the metrics endpoint go on, and the Postgres projections catch up from their
stored positions once it answers.

With the embedded chDB this process owns the chDB directory and serves read-only queries
to other processes (see metrics_http).
"""

from __future__ import annotations

import logging
from functools import partial

from projections import metrics_http
from projections.agent_memory import PostgresAgentMemorySink
from projections.agent_metrics_sink import AgentMetricsSink
from projections.agent_sink import PostgresAgentSink
from projections.builder_sink import PostgresBuilderSink
from projections.clickhouse_sink import ClickHouseMetricsSink
from projections.delivery_outcomes_sink import PostgresDeliveryOutcomeSink
from projections.media_metrics_sink import MEDIA_TOPICS, MediaMetricsSink
from projections.media_sink import PostgresMediaSink, PostgresRestrictedSink
from projections.metrics_reader import read_limits
from projections.metrics_store import ChdbStore, MetricsStore, ServerStore
from projections.output_scan_sink import SCANNED_TOPICS, OutputScanSink
from projections.postgres_sink import PostgresConversationSink, PostgresProjection
from projections.postgres_targets import TargetedProjection
from projections.run_metrics_sink import RunMetricsSink
from projections.runner import ProjectionRunner, run_until_signalled
from projections.usage_sink import ModelUsageSink
from projections.workflow_runs_sink import PostgresWorkflowRunSink
from runtime.kafka_auth import Principal
from runtime.kafka_clients import ensure_topics
from runtime.readiness import mark_ready
from runtime.settings import Settings
from schemas import topics

log = logging.getLogger("auterity.projections")


def open_store(settings: Settings) -> MetricsStore:
    """The metrics store this process writes: a ClickHouse server if configured, else chDB."""
    limits = read_limits(settings)
    if settings.clickhouse_url:
        return ServerStore(settings.clickhouse_url, settings.clickhouse_database, limits)
    return ChdbStore(settings.chdb_dir, settings.clickhouse_database, limits=limits)


def build_runners(settings: Settings, store: MetricsStore) -> list[ProjectionRunner]:
    """The projections of this process. No sink is opened here: each runner opens its own
    in its thread and waits for its store if it is down (projections/runner.py)."""
    topics.assert_raw_readers("metrics_projection", topics.DEAD_LETTERS)
    topics.assert_raw_readers("restricted_projection", topics.RESTRICTED_FIELDS)
    prefix = settings.topic_prefix
    redacted = topics.CONVERSATIONS_REDACTED.name(prefix)
    dlq = topics.DEAD_LETTERS.name(prefix)
    clickhouse = "ClickHouse"

    def postgres(sink: type[PostgresProjection], names: list[str]) -> ProjectionRunner:
        return ProjectionRunner(settings, partial(sink, settings), names, name=sink.name,
                                principal=sink.principal, store="Postgres")

    def targeted(sink: type[TargetedProjection]) -> ProjectionRunner:
        return postgres(sink, [spec.name(prefix) for spec in sink.specs])

    return [
        postgres(PostgresConversationSink, [redacted]),
        ProjectionRunner(settings, partial(ClickHouseMetricsSink, store), [redacted, dlq],
                         name=ClickHouseMetricsSink.name,
                         principal=ClickHouseMetricsSink.principal, store=clickhouse),
        targeted(PostgresBuilderSink),
        ProjectionRunner(settings, partial(ModelUsageSink, store, settings),
                         [topics.MODEL_USAGE.name(prefix)], name=ModelUsageSink.name,
                         principal=ModelUsageSink.principal, store=clickhouse),
        targeted(PostgresMediaSink),
        targeted(PostgresRestrictedSink),
        targeted(PostgresAgentSink),
        postgres(PostgresAgentMemorySink, [topics.AGENT_TASKS_COMPLETED.name(prefix)]),
        targeted(PostgresDeliveryOutcomeSink),
        targeted(PostgresWorkflowRunSink),
        ProjectionRunner(settings, partial(OutputScanSink, store),
                         [spec.name(prefix) for spec in SCANNED_TOPICS],
                         name=OutputScanSink.name, principal=OutputScanSink.principal,
                         store=clickhouse),
        ProjectionRunner(settings, partial(AgentMetricsSink, store),
                         [topics.AGENT_TASKS_COMPLETED.name(prefix)], name=AgentMetricsSink.name,
                         principal=AgentMetricsSink.principal, store=clickhouse),
        ProjectionRunner(settings, partial(RunMetricsSink, store),
                         [topics.WORKFLOW_RUNS.name(prefix)], name=RunMetricsSink.name,
                         principal=RunMetricsSink.principal, store=clickhouse),
        ProjectionRunner(settings, partial(MediaMetricsSink, store),
                         [spec.name(prefix) for spec in MEDIA_TOPICS],
                         name=MediaMetricsSink.name, principal=MediaMetricsSink.principal,
                         store=clickhouse),
    ]


def run_projections(settings: Settings) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    ensure_topics(settings, principal=Principal.PROJECTIONS)
    store = open_store(settings)
    server = None if settings.clickhouse_url else metrics_http.serve(
        store, settings.metrics_port, settings.resolved_metrics_endpoint_key(),
        settings.metrics_query_concurrency)
    runners = build_runners(settings, store)
    try:
        run_until_signalled(runners, on_ready=lambda: mark_ready(settings, "projections"))
    finally:
        if server:
            server.shutdown()
        store.close()
