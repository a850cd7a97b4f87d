"""The workflow builder's topics -> Postgres, model usage -> ClickHouse: versions never go
back, redelivery doubles nothing, tenants see only their rows, bad records are dead-lettered
while the projections go on."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from decimal import Decimal

import psycopg
from confluent_kafka import Producer

from connectors.dead_letters import list_dead_letters
from projections.metrics_reader import open_metrics_reader
from projections.metrics_store import stored_offsets
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import (
    Event,
    GeneratedInterface,
    GeneratedWorkflow,
    ModelUsage,
    RequirementAnalysis,
    WorkflowRequest,
    utcnow,
)
from tests.integration.conftest import wait_for
from tests.integration.helpers import tenant_reader

Record = tuple[str, bytes, bytes]  # topic, key, value
Position = tuple[str, int, int]  # topic, partition, offset


def _send(settings: Settings, records: list[Record]) -> list[Position]:
    """Produce `records` in order (as the worker, which publishes them); return where each
    landed."""
    producer: Producer = kafka_clients.producer(settings, principal=Principal.PII_STEP)
    landed: dict[int, Position] = {}
    errors: list[str] = []

    def on_delivery(i: int):
        def cb(err, msg):
            if err is not None:
                errors.append(str(err))
            else:
                landed[i] = (msg.topic(), msg.partition(), msg.offset())
        return cb

    for i, (topic, key, value) in enumerate(records):
        producer.produce(topic, key=key, value=value, on_delivery=on_delivery(i))
    assert producer.flush(30) == 0 and not errors, errors
    return [landed[i] for i in range(len(records))]


def _rec(settings: Settings, spec: topics.TopicSpec, ev: Event) -> Record:
    return spec.name(settings.topic_prefix), str(getattr(ev, spec.key)).encode(), serde.encode(ev)


def _pg_position(settings: Settings) -> dict[tuple[str, int], int]:
    with psycopg.connect(settings.resolved_database_url()) as conn:
        rows = conn.execute("SELECT topic, partition, next_offset FROM projection_offsets "
                            "WHERE projection = 'postgres_builder'").fetchall()
    return {(t, p): o for t, p, o in rows}


def _ch_position(settings: Settings) -> dict[tuple[str, int], int]:
    topic = [topics.MODEL_USAGE.name(settings.topic_prefix)]
    with open_metrics_reader(settings) as r:
        pos = stored_offsets(r, "ai_model_usage", topic)
        for tp, o in stored_offsets(r, "ai_model_usage_skipped", topic).items():
            pos[tp] = max(pos.get(tp, 0), o)
    return pos


def _past(position: dict[tuple[str, int], int], landed: list[Position]) -> bool:
    return all(position.get((t, p), 0) > o for t, p, o in landed)


def _wait_projected(settings: Settings, landed: list[Position], what: str) -> None:
    usage = topics.MODEL_USAGE.name(settings.topic_prefix)
    pg = [x for x in landed if x[0] != usage]
    ch = [x for x in landed if x[0] == usage]
    if pg:
        wait_for(lambda: _past(_pg_position(settings), pg), 120, f"Postgres past {what}")
    if ch:
        wait_for(lambda: _past(_ch_position(settings), ch), 120, f"ClickHouse past {what}")


def _workflow(tenant: str, workflow_id: str, version: int, **kw) -> GeneratedWorkflow:
    definition = {"id": workflow_id, "version": version,
                  "steps": [{"id": f"s{i}", "type": "send_sms"} for i in range(version)]}
    fields = dict(event_id=str(uuid.uuid4()), tenant_id=tenant,
                  occurred_at=utcnow() + timedelta(seconds=version), workflow_id=workflow_id,
                  user_id="u1", conversation_id=f"{tenant}-conv", name=f"Reminder v{version}",
                  description="service reminder", requirements_json='{"channels": ["sms"]}',
                  definition_json=json.dumps(definition),
                  generation_metadata_json='{"model": "local"}', valid=True,
                  version=version, operation="create" if version == 1 else "modify",
                  diff_json=json.dumps([] if version == 1 else
                                       [{"op": "add", "path": "/steps/-", "value": {}}]))
    fields.update(kw)
    return GeneratedWorkflow(**fields)


def _usage(tenant: str, **kw) -> ModelUsage:
    fields = dict(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                  user_id="u1", operation="workflow_generation", model="qwen2.5-0.5b",
                  provider="local")
    return ModelUsage(**{**fields, **kw})


def _usage_totals(settings: Settings, tenant: str, event_ids: list[str]) -> dict:
    """Calls, distinct ids, token and cost sums, cache hits and failures of these events."""
    ids = ", ".join(f"'{i}'" for i in event_ids)
    with open_metrics_reader(settings) as r:
        (row,) = r.query(
            f"SELECT count() AS calls, uniqExact(event_id) AS ids, "
            f"sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, "
            f"toString(sum(cost_usd)) AS cost, sum(cache_hit) AS cache_hits, "
            f"countIf(success = 0) AS failures, groupUniqArray(error_class) AS error_classes "
            f"FROM {r.database}.ai_model_usage FINAL "
            f"WHERE tenant_id = '{tenant}' AND event_id IN ({ids})")
    totals: dict = {k: int(v) for k, v in row.items() if k not in ("cost", "error_classes")}
    totals["cost"] = Decimal(row["cost"])
    totals["error_classes"] = sorted(row["error_classes"])
    return totals


def _workflow_rows(pg: psycopg.Connection, tenant: str, ids: list[str]) -> dict[str, tuple]:
    rows = pg.execute("SELECT workflow_id, version, name, event_id, operation, "
                      "workflow_definition, valid FROM generated_workflows "
                      "WHERE tenant_id = %s AND workflow_id = ANY(%s)", (tenant, ids)).fetchall()
    return {r[0]: r[1:] for r in rows}


def _counts(pg: psycopg.Connection, tenant: str, conversation_ids: list[str],
            workflow_ids: list[str], interface_ids: list[str]) -> dict[str, int]:
    """Rows of these ids (the running worker's builder agents add rows of their own)."""
    where = {"ai_conversations": ("id::text", conversation_ids),
             "generated_workflows": ("workflow_id", workflow_ids),
             "generated_workflow_versions": ("workflow_id", workflow_ids),
             "generated_interfaces": ("interface_id", interface_ids)}
    return {t: pg.execute(f"SELECT count(*) FROM {t} WHERE tenant_id = %s AND {col} = ANY(%s)",
                          (tenant, ids)).fetchone()[0]
            for t, (col, ids) in where.items()}


def _dead_letters(settings: Settings, landed: list[Position],
                  steps: tuple[str, ...]) -> dict[Position, object]:
    """Dead letters of the records at `landed` written by the projections' steps."""
    wanted = set(landed)
    return {(d.event.source_topic, d.event.source_partition, d.event.source_offset): d.event
            for d in list_dead_letters(settings)
            if (d.event.source_topic, d.event.source_partition, d.event.source_offset) in wanted
            and d.event.step in steps}


def test_builder_and_usage_projections(pipeline, pg):
    """Every assertion is about the rows of the events this test produces: the worker's
    builder agents consume the same topics and add analyses, workflows, interfaces and
    model usage of their own."""
    s = pipeline
    prefix = f"bld{uuid.uuid4().hex[:6]}"
    tenant, other = f"{prefix}-dealer", f"{prefix}-other"
    wf_a, wf_b, wf_c = f"{prefix}-wf-a", f"{prefix}-wf-b", f"{prefix}-wf-c"

    request = WorkflowRequest(
        event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
        conversation_id=f"{tenant}-conv", user_id="u1",
        redacted_text="Text and email <PERSON_1> 3 days before the service appointment",
        error_context=None)
    analysis = RequirementAnalysis(
        event_id=str(uuid.uuid4()), tenant_id=tenant,
        occurred_at=request.occurred_at + timedelta(milliseconds=5),
        request_event_id=request.event_id, conversation_id=request.conversation_id,
        intent="create_workflow", domain="service", channels=["sms", "email"],
        timing="3 days before", timing_offset="-P3D", requirements=["remind"], confidence=0.9,
        user_id="u1", redacted_text=request.redacted_text)
    a1, a2 = _workflow(tenant, wf_a, 1), _workflow(tenant, wf_a, 2)
    b1, b2 = _workflow(tenant, wf_b, 1), _workflow(tenant, wf_b, 2)
    other_wf = _workflow(other, f"{prefix}-wf-other", 1)
    interface = GeneratedInterface(
        event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
        interface_id=f"{prefix}-ui-a", workflow_id=wf_a, workflow_version=2,
        definition_json='{"layout": "form", "components": [{"id": "c1", "type": "text"}]}',
        component_metadata_json='{"components": 1}')
    usages = [
        _usage(tenant, input_tokens=100, output_tokens=50, cost_usd=0.0012, latency_ms=800.0),
        _usage(tenant, input_tokens=100, output_tokens=50, cost_usd=0.0, cache_hit=True),
        _usage(tenant, success=False, error_class="Timeout", latency_ms=30000.0),
        _usage(tenant, input_tokens=200, output_tokens=80, cost_usd=0.0034, latency_ms=1500.0,
               model="gpt-4o-mini", provider="openai"),
    ]
    other_usage = _usage(other, input_tokens=7, output_tokens=7, cost_usd=0.5)
    conversation_ids = [request.event_id, analysis.event_id]
    workflow_ids, interface_ids = [wf_a, wf_b], [interface.interface_id]
    usage_ids = [u.event_id for u in usages]

    WF, UI, USAGE = topics.WORKFLOWS_GENERATED, topics.INTERFACES_GENERATED, topics.MODEL_USAGE
    first = [_rec(s, topics.WORKFLOW_REQUESTS, request),
             _rec(s, topics.REQUIREMENTS_ANALYZED, analysis),
             _rec(s, WF, a1), _rec(s, WF, a2), _rec(s, WF, other_wf), _rec(s, UI, interface),
             # b: v1, v2 and a redelivered v1, most likely in one batch
             _rec(s, WF, b1), _rec(s, WF, b2), _rec(s, WF, b1),
             *[_rec(s, USAGE, u) for u in [*usages, other_usage]]]
    _wait_projected(s, _send(s, first), "the first records")

    # a late, redelivered v1 of workflow a, in a batch of its own, changes nothing
    _wait_projected(s, _send(s, [_rec(s, WF, a1)]), "the late v1")

    rows = _workflow_rows(pg, tenant, workflow_ids)
    assert set(rows) == {wf_a, wf_b}
    for wf, v2 in ((wf_a, a2), (wf_b, b2)):
        version, name, event_id, operation, definition, valid = rows[wf]
        assert (version, name, event_id, operation, valid) == (2, "Reminder v2", v2.event_id,
                                                               "modify", True)
        assert definition == json.loads(v2.definition_json)
    versions = pg.execute(
        "SELECT workflow_id, version, event_id, diff, operation FROM generated_workflow_versions "
        "WHERE tenant_id = %s AND workflow_id = ANY(%s) ORDER BY workflow_id, version",
        (tenant, workflow_ids)).fetchall()
    assert [(w, v, e) for w, v, e, _, _ in versions] == [
        (wf_a, 1, a1.event_id), (wf_a, 2, a2.event_id),
        (wf_b, 1, b1.event_id), (wf_b, 2, b2.event_id)]
    assert versions[1][3] == json.loads(a2.diff_json) and versions[1][4] == "modify"

    (iface,) = pg.execute(
        "SELECT interface_id, workflow_id, workflow_version, interface_definition, "
        "component_metadata, event_id FROM generated_interfaces "
        "WHERE tenant_id = %s AND interface_id = ANY(%s)", (tenant, interface_ids)).fetchall()
    assert iface == (interface.interface_id, wf_a, 2, json.loads(interface.definition_json),
                     {"components": 1}, interface.event_id)

    history = pg.execute(
        "SELECT id::text, message_type, session_id, content, metadata FROM ai_conversations "
        "WHERE tenant_id = %s AND id::text = ANY(%s) ORDER BY created_at",
        (tenant, conversation_ids)).fetchall()
    assert [h[:4] for h in history] == [
        (request.event_id, "user", request.conversation_id, request.redacted_text),
        (analysis.event_id, "assistant", request.conversation_id,
         "create_workflow (service): sms, email; 3 days before")]
    assert history[0][4]["kind"] == "workflow_request"
    assert history[1][4]["kind"] == "requirement_analysis"
    assert history[1][4]["timing_offset"] == "-P3D"
    assert history[1][4]["request_event_id"] == request.event_id

    expected_usage = {"calls": 4, "ids": 4, "input_tokens": 400, "output_tokens": 180,
                      "cost": Decimal("0.0046"), "cache_hits": 1, "failures": 1,
                      "error_classes": ["", "Timeout"]}
    assert _usage_totals(s, tenant, usage_ids) == expected_usage
    assert _usage_totals(s, tenant, [other_usage.event_id])["calls"] == 0
    assert _usage_totals(s, other, [other_usage.event_id])["calls"] == 1

    # row-level security: a reader sees its own tenant's rows only, and none without a tenant
    tables = ("ai_conversations", "generated_workflows", "generated_workflow_versions",
              "generated_interfaces")
    with tenant_reader(s, f"{tenant}-nobody") as reader:
        for t in tables:
            assert reader.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == 0, t
    for who, mine, theirs in ((other, [other_wf.workflow_id], workflow_ids),
                              (tenant, workflow_ids, [other_wf.workflow_id])):
        with tenant_reader(s, who) as reader:
            for t in tables:
                seen = reader.execute(f"SELECT DISTINCT tenant_id FROM {t}").fetchall()
                assert set(seen) <= {(who,)}, (who, t, seen)
            visible = {w for (w,) in reader.execute(
                "SELECT workflow_id FROM generated_workflows")}
        assert set(mine) <= visible and not set(theirs) & visible, (who, visible)

    # redelivering everything doubles nothing and moves nothing back
    before = _counts(pg, tenant, conversation_ids, workflow_ids, interface_ids)
    assert before == {"ai_conversations": 2, "generated_workflows": 2,
                      "generated_workflow_versions": 4, "generated_interfaces": 1}
    _wait_projected(s, _send(s, first), "the redelivered records")
    assert _counts(pg, tenant, conversation_ids, workflow_ids, interface_ids) == before
    assert {w: r[:3] for w, r in _workflow_rows(pg, tenant, workflow_ids).items()} == {
        wf_a: (2, "Reminder v2", a2.event_id), wf_b: (2, "Reminder v2", b2.event_id)}
    assert _usage_totals(s, tenant, usage_ids) == expected_usage

    # bad records are dead-lettered; the records after them are still projected
    c1 = _workflow(tenant, wf_c, 1)
    one_more = _usage(tenant, input_tokens=1, output_tokens=1)
    bad = [(WF.name(s.topic_prefix), wf_c.encode(), b"\x89PNG definitely not avro"),
           _rec(s, WF, _workflow(tenant, wf_c, 1, valid=False, errors=["step s0: no channel"])),
           (USAGE.name(s.topic_prefix), tenant.encode(), b"not avro either")]
    landed = _send(s, [*bad, _rec(s, WF, c1), _rec(s, USAGE, one_more)])
    _wait_projected(s, landed, "the bad records and the good ones after them")
    assert _workflow_rows(pg, tenant, [wf_c])[wf_c][:3] == (1, "Reminder v1", c1.event_id)
    assert _usage_totals(s, tenant, [*usage_ids, one_more.event_id])["calls"] == 5
    # dead letters are acknowledged before the position moves past them
    found = _dead_letters(s, landed[:3], ("postgres_builder_projection", "usage_projection"))
    kinds = [(found[p].step, found[p].error_kind) for p in landed[:3]]
    assert kinds == [("postgres_builder_projection", "undecodable"),
                     ("postgres_builder_projection", "invalid_workflow"),
                     ("usage_projection", "undecodable")]
    assert found[landed[1]].tenant_id == tenant
    assert found[landed[0]].payload == bad[0][2]
