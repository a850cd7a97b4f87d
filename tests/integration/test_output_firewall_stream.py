"""The output firewall on the stream: PII in a result event never reaches its topic, and what
was masked is counted in ClickHouse `output_scans`."""

from __future__ import annotations

import uuid

from connectors.kafka_io import read_topic
from projections.metrics_reader import open_metrics_reader
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from schemas import serde, topics
from schemas.events import RequirementAnalysis, WorkflowRequest, utcnow

from .conftest import wait_for

PHONE = "512-555-0143"
EMAIL = "dana.scully@example.com"


def test_pii_copied_into_an_analysis_is_masked_and_counted(pipeline):
    settings = pipeline
    tenant = f"dealer-fw{uuid.uuid4().hex[:6]}"
    conv = f"conv-{uuid.uuid4().hex[:8]}"
    # a request produced unredacted by mistake: the analysis copies its text
    req = WorkflowRequest(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                          conversation_id=conv, user_id="manager-1",
                          redacted_text=f"Text Dana Scully at {PHONE} or email {EMAIL} three "
                                        "days before her service appointment")
    p = kafka_clients.producer(settings, principal=Principal.INGEST)
    p.produce(topics.WORKFLOW_REQUESTS.name(settings.topic_prefix), key=conv.encode(),
              value=serde.encode(req))
    assert p.flush(30) == 0

    def analysis() -> RequirementAnalysis | None:
        for m in read_topic(settings, topics.REQUIREMENTS_ANALYZED.name(settings.topic_prefix),
                            principal=Principal.READER):
            ev = serde.decode(m.value(), RequirementAnalysis)
            if ev.tenant_id == tenant:
                return ev
        return None

    an = wait_for(analysis, 300, "the analysis of the request")
    assert isinstance(an, RequirementAnalysis)
    published = an.model_dump_json()
    assert PHONE not in published and EMAIL not in published and "Scully" not in published
    assert an.output_redactions.get("PHONE_NUMBER", 0) >= 1
    assert an.output_redactions.get("EMAIL_ADDRESS", 0) >= 1

    def scanned() -> list[dict]:
        with open_metrics_reader(settings) as r:
            return r.query(f"SELECT step, entities FROM {r.database}.output_scans "
                           f"WHERE tenant_id = '{tenant}' AND step = 'analysis'")

    rows = wait_for(scanned, 120, "the output scan row in ClickHouse")
    assert isinstance(rows, list)
    assert rows[0]["entities"]["PHONE_NUMBER"] >= 1
