"""The projection `Sink` contract (projections/runner.py), run against EVERY sink:

1. offsets are stored only with their rows: after a write the stored position is the offset
   after the batch and every record's row is there; a write that fails midway stores neither
   rows nor position;
2. redelivering a batch changes nothing: same rows (counted as stored, without FINAL in
   ClickHouse), same position;
3. a refused record (undecodable bytes) becomes exactly one dead letter naming its source
   (the metric sinks, which read the dead-letter topic themselves, record it as one error row
   instead), the records around it are projected, and the position moves past it.

Each sink writes to its own Postgres database and chDB directory, and reads topics of its own
prefix, so the running pipeline's data and stored positions are never touched.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Message, TopicPartition

from connectors.dead_letters import list_dead_letters
from projections.agent_memory import PostgresAgentMemorySink
from projections.agent_metrics_sink import AgentMetricsSink
from projections.agent_sink import PostgresAgentSink
from projections.builder_sink import PostgresBuilderSink
from projections.clickhouse_sink import ClickHouseMetricsSink
from projections.delivery_outcomes_sink import PostgresDeliveryOutcomeSink
from projections.media_metrics_sink import MediaMetricsSink
from projections.media_sink import PostgresMediaSink, PostgresRestrictedSink
from projections.metrics_store import ChdbStore, MetricsStore
from projections.output_scan_sink import OutputScanSink
from projections.postgres_sink import PostgresConversationSink
from projections.run_metrics_sink import RunMetricsSink
from projections.usage_sink import ModelUsageSink
from projections.workflow_runs_sink import PostgresWorkflowRunSink
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import (
    AgentTaskCompleted,
    ConversationMessageRedacted,
    DeliveryOutcome,
    DocumentExtracted,
    Event,
    GeneratedWorkflow,
    ModelUsage,
    RestrictedFields,
    WorkflowRequest,
    WorkflowRunEvent,
    utcnow,
)
from tests.integration.conftest import wait_for

GARBAGE = b"\x00\x00 not an Avro event"


def _redacted(tenant: str, i: int) -> Event:
    return ConversationMessageRedacted(
        event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
        source_event_id=str(uuid.uuid4()), conversation_id=f"{tenant}-c{i % 3}",
        redacted_text=f"message {i} from <PERSON_1>", redacted_at=utcnow())


def _request(tenant: str, i: int) -> Event:
    return WorkflowRequest(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                           conversation_id=f"{tenant}-c{i}",
                           redacted_text=f"text customers {i} days before service")


def _document(tenant: str, i: int) -> Event:
    return DocumentExtracted(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                             document_id=f"{tenant}-d{i}", source_event_id=str(uuid.uuid4()),
                             redacted_text=f"RO {i} for <PERSON_1>", confidence=0.9, pages=1)


def _workflow(tenant: str, i: int) -> Event:
    return GeneratedWorkflow(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                             workflow_id=f"{tenant}-w{i}", name=f"workflow {i}", valid=True,
                             definition_json="{}", output_redactions={"PERSON": i % 3})


def _restricted(tenant: str, i: int) -> Event:
    return RestrictedFields(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                            subject_kind="document", subject_id=f"{tenant}-d{i}",
                            source_event_id=str(uuid.uuid4()), fields={"vin": f"VIN{i}"})


def _usage(tenant: str, i: int) -> Event:
    return ModelUsage(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                      operation="analyze", model="local", provider="auterity-local",
                      input_tokens=10 + i, output_tokens=5, cost_usd=0.0)


def _task_done(tenant: str, i: int) -> Event:
    return AgentTaskCompleted(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                              task_id=f"{tenant}-t{i}", agent_type="generic",
                              task_type="llm_generate", status="completed", agent_id="a-1",
                              output_json='{"text": "ok"}', memory_text=f"task {i} -> ok",
                              confidence=0.5)


def _run_event(tenant: str, i: int) -> Event:
    return WorkflowRunEvent(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                            run_id=f"{tenant}-run{i}", workflow_id="wf-1", kind="step_completed",
                            step_id="send_reminder", attempt=1, customer_ref=f"CRM-{i}",
                            output_json='{"delivery_id": "d-1"}')


def _outcome(tenant: str, i: int) -> Event:
    return DeliveryOutcome(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                           delivery_id=f"{tenant}-dl{i}", outcome="replied")


@dataclass
class Backend:
    name: str
    spec: topics.TopicSpec
    event: Callable[[str, int], Event]
    table: str  # where the rows go; each has tenant_id and event_id columns
    store: str  # "postgres" | "clickhouse"
    make: Callable[[Settings, MetricsStore], Any]
    dead_letters: bool  # a refused record -> a dead letter (else an error row)
    id_column: str = "event_id"
    error_column: str = "error_kind"  # metric sinks: the column naming the refusal


BACKENDS = [
    Backend("postgres", topics.CONVERSATIONS_REDACTED, _redacted, "ai_conversations",
            "postgres", lambda s, _: PostgresConversationSink(s), True, id_column="id"),
    Backend("postgres_builder", topics.WORKFLOW_REQUESTS, _request, "ai_conversations",
            "postgres", lambda s, _: PostgresBuilderSink(s), True, id_column="id"),
    Backend("postgres_media", topics.DOCUMENTS_EXTRACTED, _document, "document_extractions",
            "postgres", lambda s, _: PostgresMediaSink(s), True),
    Backend("postgres_restricted", topics.RESTRICTED_FIELDS, _restricted,
            "restricted_pii_fields", "postgres", lambda s, _: PostgresRestrictedSink(s), True),
    Backend("clickhouse", topics.CONVERSATIONS_REDACTED, _redacted, "step_metrics",
            "clickhouse", lambda _, st: ClickHouseMetricsSink(st), False),
    Backend("clickhouse_usage", topics.MODEL_USAGE, _usage, "ai_model_usage", "clickhouse",
            lambda s, st: ModelUsageSink(st, s), True),
    Backend("clickhouse_media", topics.DOCUMENTS_EXTRACTED, _document, "media_metrics",
            "clickhouse", lambda _, st: MediaMetricsSink(st), False, error_column="kind"),
    Backend("clickhouse_output_scans", topics.WORKFLOWS_GENERATED, _workflow, "output_scans",
            "clickhouse", lambda _, st: OutputScanSink(st), False, error_column="kind"),
    Backend("postgres_agents", topics.AGENT_TASKS_COMPLETED, _task_done, "agent_tasks",
            "postgres", lambda s, _: PostgresAgentSink(s), True),
    Backend("postgres_agent_memory", topics.AGENT_TASKS_COMPLETED, _task_done, "agent_memory",
            "postgres", lambda s, _: PostgresAgentMemorySink(s), True),
    Backend("postgres_delivery_outcomes", topics.DELIVERIES_OUTCOMES, _outcome,
            "delivery_outcomes", "postgres", lambda s, _: PostgresDeliveryOutcomeSink(s), True),
    Backend("postgres_workflow_runs", topics.WORKFLOW_RUNS, _run_event, "workflow_run_events",
            "postgres", lambda s, _: PostgresWorkflowRunSink(s), True),
    Backend("clickhouse_agents", topics.AGENT_TASKS_COMPLETED, _task_done, "agent_metrics",
            "clickhouse", lambda _, st: AgentMetricsSink(st), False, error_column="status"),
    Backend("clickhouse_runs", topics.WORKFLOW_RUNS, _run_event, "run_metrics", "clickhouse",
            lambda _, st: RunMetricsSink(st), False, error_column="kind"),
]


@pytest.fixture(scope="module")
def contract_settings(settings: Settings) -> Iterator[Settings]:
    """The session's Kafka and Postgres server, with a topic prefix and a database of its own."""
    db = f"contract_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(settings.resolved_database_url(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {db}")
    url = settings.resolved_database_url().replace("/postgres?", f"/{db}?")
    s = Settings(topic_prefix=f"c{uuid.uuid4().hex[:6]}.", **{"DATABASE_URL": url})
    kafka_clients.ensure_topics(s, principal=Principal.ADMIN)
    kafka_clients.ensure_acls(s)  # the sinks' dead-letter producers act as their principals
    yield s
    with psycopg.connect(settings.resolved_database_url(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


@pytest.fixture(params=BACKENDS, ids=[b.name for b in BACKENDS])
def backend(request: pytest.FixtureRequest) -> Backend:
    return request.param


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[MetricsStore]:
    s = ChdbStore(tmp_path / "chdb", f"contract_{uuid.uuid4().hex[:8]}")
    s.ensure_schema()
    yield s
    s.close()


@pytest.fixture()
def sink(backend: Backend, contract_settings: Settings, store: MetricsStore) -> Iterator[Any]:
    made = backend.make(contract_settings, store)
    yield made
    if hasattr(made, "close"):
        made.close()


def consumed(settings: Settings, topic: str, values: list[bytes]) -> list[Message]:
    """Produce `values` to partition 0 of `topic`, then consume them back: real Messages."""
    producer = kafka_clients.producer(settings, principal=Principal.ADMIN)
    offsets: list[int] = []
    for v in values:
        producer.produce(topic, value=v, key=b"k", partition=0,
                         on_delivery=lambda err, m: offsets.append(m.offset()))
    assert producer.flush(30) == 0 and len(offsets) == len(values)
    consumer = kafka_clients.consumer(settings, principal=Principal.ADMIN)
    consumer.assign([TopicPartition(topic, 0, min(offsets))])
    out: list[Message] = []
    try:
        wait_for(lambda: out.extend(m for m in consumer.consume(len(values), 1.0)
                                    if m.error() is None) or len(out) >= len(values),
                 30, f"{len(values)} records of {topic}")
    finally:
        consumer.close()
    return out[:len(values)]


def rows_of(backend: Backend, settings: Settings, store: MetricsStore,
            tenant: str) -> list[dict[str, Any]]:
    """The rows of `tenant` as physically stored (ClickHouse without FINAL), minus the
    columns a re-write may legitimately refresh (projection timestamps)."""
    if backend.store == "postgres":
        with psycopg.connect(settings.resolved_database_url()) as conn:
            found = conn.execute(
                f"SELECT to_jsonb(t) - 'projected_at' - 'updated_at' FROM {backend.table} t "
                f"WHERE tenant_id = %s ORDER BY {backend.id_column}", (tenant,)).fetchall()
        return [r[0] for r in found]
    return store.query(f"SELECT * FROM {store.database}.{backend.table} "
                       f"WHERE tenant_id = '{tenant}' ORDER BY event_id")


def ids_of(backend: Backend, rows: list[dict[str, Any]]) -> set[str]:
    return {str(r[backend.id_column]) for r in rows}


def test_offsets_are_stored_only_with_their_rows(backend: Backend, sink: Any,
                                                 contract_settings: Settings,
                                                 store: MetricsStore,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = f"ct-{uuid.uuid4().hex[:6]}"
    topic = backend.spec.name(contract_settings.topic_prefix)
    events = [backend.event(tenant, i) for i in range(5)]
    batch = consumed(contract_settings, topic, [serde.encode(e) for e in events])
    before = sink.stored_offsets([topic]).get((topic, 0), 0)
    assert before <= batch[0].offset()

    sink.write(batch)
    assert sink.stored_offsets([topic])[(topic, 0)] == batch[-1].offset() + 1
    rows = rows_of(backend, contract_settings, store, tenant)
    assert ids_of(backend, rows) == {e.event_id for e in events}

    # a write that fails midway leaves rows AND position as they were
    more = [backend.event(tenant, i) for i in range(5, 8)]
    second = consumed(contract_settings, topic, [serde.encode(e) for e in more])
    _break_midway(backend, sink, monkeypatch)
    with pytest.raises(RuntimeError, match="injected"):
        sink.write(second)
    assert sink.stored_offsets([topic])[(topic, 0)] == batch[-1].offset() + 1
    assert rows_of(backend, contract_settings, store, tenant) == rows


def test_redelivering_a_batch_changes_nothing(backend: Backend, sink: Any,
                                              contract_settings: Settings,
                                              store: MetricsStore) -> None:
    tenant = f"ct-{uuid.uuid4().hex[:6]}"
    topic = backend.spec.name(contract_settings.topic_prefix)
    batch = consumed(contract_settings, topic,
                     [serde.encode(backend.event(tenant, i)) for i in range(6)])
    sink.write(batch)
    rows, position = rows_of(backend, contract_settings, store, tenant), \
        sink.stored_offsets([topic])
    sink.write(batch)  # at-least-once: the same records again
    sink.write(batch[2:])  # and a redelivery that starts mid-batch
    assert rows_of(backend, contract_settings, store, tenant) == rows
    assert len(rows) == len(batch)
    assert sink.stored_offsets([topic]) == position


def test_a_refused_record_becomes_one_dead_letter(backend: Backend, sink: Any,
                                                  contract_settings: Settings,
                                                  store: MetricsStore) -> None:
    tenant = f"ct-{uuid.uuid4().hex[:6]}"
    topic = backend.spec.name(contract_settings.topic_prefix)
    good = [backend.event(tenant, i) for i in range(2)]
    batch = consumed(contract_settings, topic,
                     [serde.encode(good[0]), GARBAGE, serde.encode(good[1])])
    bad = batch[1]
    sink.write(batch)
    sink.write(batch)  # a redelivery must not add a second dead letter / error row
    assert sink.stored_offsets([topic])[(topic, 0)] == batch[-1].offset() + 1
    assert ids_of(backend, rows_of(backend, contract_settings, store, tenant)) == \
        {e.event_id for e in good}
    if backend.dead_letters:
        def mine() -> list[Any]:
            return [d for d in list_dead_letters(contract_settings)
                    if d.event.source_topic == topic and d.event.source_offset == bad.offset()
                    and d.event.step == sink.step]
        found = wait_for(mine, 30, "the refused record's dead letter")
        assert len({d.event.event_id for d in found}) == 1
        assert found[0].event.error_kind == "undecodable"
        assert found[0].event.payload == GARBAGE
    else:
        errors = store.query(
            f"SELECT event_id, {backend.error_column} AS error FROM "
            f"{store.database}.{backend.table} WHERE topic = '{topic}' "
            f"AND offset = {bad.offset()}")
        assert [(e["event_id"], e["error"]) for e in errors] == \
            [(f"{topic}:0:{bad.offset()}", "undecodable")]


def _break_midway(backend: Backend, sink: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the sink's store fail after part of the batch's write has happened."""
    if backend.store == "postgres":
        apply = sink._apply

        def apply_then_fail(rows: Any) -> None:
            apply(rows)  # the rows are written inside the transaction ...
            raise RuntimeError("injected failure after the rows were written")

        monkeypatch.setattr(sink, "_apply", apply_then_fail)
        return
    # ClickHouse sinks: rows and position are one insert per topic-partition range
    def insert_fails(table: str, rows: Any, token: str) -> None:
        raise RuntimeError("injected failure of the insert")

    monkeypatch.setattr(sink.store, "insert_rows", insert_fails)
