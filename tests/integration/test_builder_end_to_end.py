"""The workflow builder through Kafka into Postgres and ClickHouse, on the real local model:
request -> analysis -> workflow -> interface; a modification; rejects to the DLQ; every
published workflow validates; model usage lands in ai_model_usage."""

from __future__ import annotations

import json
import uuid

from compose import processes as supervisor
from connectors.kafka_io import read_topic
from processors.workflows.validator import validate_workflow
from projections.metrics_reader import open_metrics_reader
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from schemas import serde, topics
from schemas.events import DeadLetter, GeneratedWorkflow, WorkflowRequest, utcnow

from .conftest import restart, wait_for


def _send(settings, req: WorkflowRequest | bytes, key: str) -> None:
    p = kafka_clients.producer(settings, principal=Principal.INGEST)
    value = req if isinstance(req, bytes) else serde.encode(req)
    p.produce(topics.WORKFLOW_REQUESTS.name(settings.topic_prefix), key=key.encode(), value=value)
    assert p.flush(30) == 0


def _request(tenant: str, conv: str, text: str, **kw) -> WorkflowRequest:
    return WorkflowRequest(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                           conversation_id=conv, user_id="manager-1", redacted_text=text, **kw)


def _workflow(pg, tenant: str):
    return pg.execute("SELECT workflow_id, version, workflow_definition, valid FROM "
                      "generated_workflows WHERE tenant_id = %s", (tenant,)).fetchall()


def _dead_letters(settings, step: str, tenant: str) -> list[DeadLetter]:
    out = []
    for m in read_topic(settings, topics.DEAD_LETTERS.name(settings.topic_prefix),
                        principal=Principal.ADMIN):
        dl = serde.decode(m.value(), DeadLetter)
        if dl.step == step and dl.tenant_id == tenant:
            out.append(dl)
    return out


def test_request_to_workflow_interface_and_usage(pipeline, pg):
    settings = pipeline
    tenant = f"dealer-b{uuid.uuid4().hex[:6]}"
    conv = f"conv-{uuid.uuid4().hex[:8]}"
    _send(settings, _request(tenant, conv, "Text customers 3 days before their service "
                             "appointment and email a coupon if they don't confirm"), conv)
    _send(settings, _request(tenant, conv, "Thanks, that's all for today"), conv)

    rows = wait_for(lambda: _workflow(pg, tenant), 300, "a generated workflow in Postgres")
    [(workflow_id, version, definition, valid)] = rows
    assert valid and version == 1 and validate_workflow(definition).valid
    waits = [s for s in definition["steps"] if s["type"] == "wait" and "offset" in s["params"]]
    assert waits and waits[0]["params"]["offset"] == "-P3D"
    assert {"send_sms", "send_email"} <= {s["type"] for s in definition["steps"]}

    ui = wait_for(lambda: pg.execute(
        "SELECT interface_definition FROM generated_interfaces WHERE tenant_id = %s AND "
        "workflow_id = %s", (tenant, workflow_id)).fetchall(), 120, "the interface")
    kinds = [c["type"] for c in ui[0][0]["components"]]
    assert {"form", "dashboard", "table"} <= set(kinds)

    history = wait_for(lambda: (lambda r: r if len(r) >= 4 else None)(pg.execute(
        "SELECT message_type, content FROM ai_conversations WHERE tenant_id = %s AND "
        "session_id = %s ORDER BY created_at", (tenant, conv)).fetchall()), 120,
        "requests and analyses in the conversation history")
    assert [t for t, _ in history].count("user") == 2
    assert [t for t, _ in history].count("assistant") == 2

    # a change request on the workflow: version 2 with the new timing and a diff
    _send(settings, _request(tenant, conv, "Change the reminder to go out 5 days before "
                             "instead", workflow_id=workflow_id), conv)
    v2 = wait_for(lambda: [r for r in _workflow(pg, tenant) if r[1] == 2], 300, "version 2")
    new_def = v2[0][2]
    assert validate_workflow(new_def).valid
    assert any(s["params"].get("offset") == "-P5D" for s in new_def["steps"])
    diff = pg.execute("SELECT diff FROM generated_workflow_versions WHERE tenant_id = %s AND "
                      "workflow_id = %s AND version = 2", (tenant, workflow_id)).fetchone()[0]
    assert any(op["op"] == "replace" and op["value"] == "-P5D" for op in diff)

    def usage():
        with open_metrics_reader(settings) as reader:
            rows = reader.query(
                "SELECT operation_type, count() AS n, sum(input_tokens) AS tokens FROM "
                f"{settings.clickhouse_database}.ai_model_usage FINAL WHERE tenant_id = "
                f"'{tenant}' GROUP BY operation_type")
        return {r["operation_type"]: r for r in rows} if len(rows) >= 2 else None

    ops = wait_for(usage, 120, "model usage rows in ClickHouse")
    assert int(ops["analyze_requirements"]["n"]) >= 2  # the `none` message needs no model
    assert int(ops["customize_workflow"]["tokens"]) > 0

    # every workflow published for this tenant validates
    assert all(validate_workflow(d).valid and v for _, _, d, v in _workflow(pg, tenant))


def test_rejections_go_to_the_dead_letter_topic(pipeline, pg):
    settings = pipeline
    tenant = f"dealer-r{uuid.uuid4().hex[:6]}"
    conv = f"conv-{uuid.uuid4().hex[:8]}"
    _send(settings, b"\x00\x00\x00\x00\x07not avro", conv)
    _send(settings, _request(tenant, conv, "The reminder texts keep failing with error 21610",
                             workflow_id="no-such-workflow"), conv)
    dead = wait_for(lambda: _dead_letters(settings, "workflow_build", tenant), 300,
                    "the unknown-workflow debug request in the DLQ")
    assert dead[0].error_kind == "build_rejected" and "workflow" in dead[0].error
    undecodable = wait_for(lambda: [
        dl for m in read_topic(settings, topics.DEAD_LETTERS.name(settings.topic_prefix),
                               principal=Principal.ADMIN)
        if (dl := serde.decode(m.value(), DeadLetter)).step == "requirement_analysis"
        and dl.error_kind != "build_rejected" and dl.source_key == conv.encode()], 120,
        "the undecodable request in the DLQ")
    assert undecodable[0].payload.endswith(b"not avro")
    assert not _workflow(pg, tenant)
    assert undecodable[0].error_kind == "undecodable" and undecodable[0].error


def _published(settings, tenant: str) -> list[GeneratedWorkflow]:
    """The workflows the build step published for `tenant`, in topic order."""
    return [ev for m in read_topic(settings, topics.WORKFLOWS_GENERATED.name(
        settings.topic_prefix), principal=Principal.READER)
        if (ev := serde.decode(m.value(), GeneratedWorkflow)).tenant_id == tenant]


def test_two_edits_right_after_the_create_each_get_a_version(pipeline, pg):
    """The defect: two modify requests for one workflow in one batch both read v1 and both
    emitted v2 (the projection kept the first: an edit lost silently), and a modify that
    arrived before the Postgres projection had caught up was rejected as unknown. With the
    projections stopped, Postgres cannot know the workflow at all."""
    settings = pipeline
    tenant = f"dealer-v{uuid.uuid4().hex[:6]}"
    conv = f"conv-{uuid.uuid4().hex[:8]}"
    print(supervisor.stop(settings, "projections"))
    try:
        _send(settings, _request(tenant, conv, "Text customers 3 days before their service "
                                 "appointment and email a coupon if they don't confirm"), conv)
        [created] = wait_for(lambda: _published(settings, tenant), 300, "the created workflow")
        assert created.version == 1
        wf_id = created.workflow_id
        _send(settings, _request(tenant, conv, "Change the reminder to go out 5 days before "
                                 "instead", workflow_id=wf_id), conv)
        _send(settings, _request(tenant, conv, "Also notify the service manager if they "
                                 "don't confirm", workflow_id=wf_id), conv)
        found = wait_for(lambda: (lambda w: w if len(w) >= 3 else None)(
            _published(settings, tenant)), 300, "both edits published")
    finally:
        restart(settings, "projections")
    assert [w.version for w in found] == [1, 2, 3]
    assert {w.workflow_id for w in found} == {wf_id}
    assert not _dead_letters(settings, "workflow_build", tenant)
    v3 = json.loads(found[2].definition_json)
    assert any(s["params"].get("offset") == "-P5D" for s in v3["steps"])  # edit 1 kept
    assert "notify_staff" in {s["type"] for s in v3["steps"]}  # edit 2 on top of it
    rows = wait_for(lambda: [r for r in _workflow(pg, tenant) if r[1] == 3], 120,
                    "version 3 in Postgres")
    assert rows[0][2] == v3
    versions = pg.execute("SELECT version FROM generated_workflow_versions WHERE tenant_id = %s "
                          "ORDER BY version", (tenant,)).fetchall()
    assert [v for (v,) in versions] == [1, 2, 3]
