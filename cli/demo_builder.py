"""The demo's workflow-builder part: managers' requests -> workflows, interfaces, usage."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg

from projections.metrics_reader import open_metrics_reader
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import WorkflowRequest, utcnow

REQUESTS = (
    "Text customers 3 days before their service appointment and email a coupon if they "
    "don't confirm",
    "When a new internet lead comes in, text them within 5 minutes and assign a salesperson",
    "Email lease customers 90 days before their lease ends with upgrade options",
)


def run_builder_demo(settings: Settings, tenants: int, say: Callable[[str], None],
                     timeout_s: float = 900.0) -> list[tuple[str, str, dict[str, Any]]]:
    """Send one request per dealership and wait until its workflow and interface exist;
    the valid workflows (tenant, workflow id, definition), for the runs part."""
    run = uuid.uuid4().hex[:8]
    producer = kafka_clients.producer(settings, principal=Principal.INGEST)
    sent = []
    for i, text in enumerate(REQUESTS):
        tenant = f"dealer-{(i % tenants) + 1}"
        req = WorkflowRequest(event_id=str(uuid.uuid4()), tenant_id=tenant,
                              occurred_at=utcnow(), conversation_id=f"builder-{run}-{i}",
                              user_id="manager-demo", redacted_text=text)
        producer.produce(topics.WORKFLOW_REQUESTS.name(settings.topic_prefix),
                         key=req.conversation_id.encode(), value=serde.encode(req))
        sent.append(req.conversation_id)
    if producer.flush(30):
        raise RuntimeError("workflow requests were not acknowledged by Kafka")
    say(f"    sent {len(sent)} managers' requests; the local model answers each in ~30 s")
    deadline = time.monotonic() + timeout_s
    rows: list[tuple] = []
    with psycopg.connect(settings.resolved_database_url(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            rows = conn.execute(
                "SELECT w.conversation_id, w.tenant_id, w.name, "
                "jsonb_array_length(w.workflow_definition->'steps'), "
                "w.generation_metadata->>'template_id', w.valid, "
                "(SELECT count(*) FROM generated_interfaces i "
                " WHERE i.workflow_id = w.workflow_id), w.workflow_id, w.workflow_definition "
                "FROM generated_workflows w WHERE w.conversation_id = ANY(%s)",
                (sent,)).fetchall()
            if len(rows) == len(sent) and all(r[6] for r in rows):
                break
            time.sleep(1.0)
    for _conv, tenant, name, steps, template, valid, ui, *_ in sorted(rows):
        say(f"      {tenant:<10} {name[:48]:<48} {steps:>2} steps  template {template}  "
            f"valid={valid}  interface={'yes' if ui else 'no'}")
    if len(rows) < len(sent):
        say(f"    only {len(rows)}/{len(sent)} workflows arrived in {timeout_s:.0f}s: see "
            "`auterity dlq list --step workflow_build` and the worker log")
    with open_metrics_reader(settings) as reader:
        usage = reader.query(
            "SELECT operation_type, count() AS calls, sum(input_tokens + output_tokens) AS "
            "tokens, round(quantile(0.5)(processing_time_ms)) AS p50_ms, sum(cache_hit) AS "
            f"hits FROM {settings.clickhouse_database}.ai_model_usage FINAL "
            "GROUP BY operation_type ORDER BY operation_type")
    say("    model usage (clickhouse ai_model_usage):")
    for u in usage:
        say(f"      {u['operation_type']:<22} {int(u['calls']):>4} calls "
            f"{int(u['tokens']):>7} tokens  p50 {float(u['p50_ms']):.0f} ms  "
            f"{int(u['hits'])} cache hits")
    return [(r[1], r[7], r[8] if isinstance(r[8], dict) else json.loads(r[8]))
            for r in sorted(rows) if r[5]]
