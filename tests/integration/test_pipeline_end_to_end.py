"""(a) N events redacted end to end with exact counts; (d) no raw PII past the raw layer."""

from __future__ import annotations

import json
import re
import uuid

from connectors.ingest import produce
from connectors.kafka_io import read_topic
from projections.metrics_reader import open_metrics_reader
from runtime.kafka_auth import Principal
from schemas import serde, topics
from schemas.events import ConversationMessageRaw, ConversationMessageRedacted, utcnow
from tests.integration.conftest import wait_for
from tests.integration.helpers import (
    ch_rows,
    expected_redacted_ids,
    pg_count,
    pg_ids,
    tenant_reader,
    tenant_samples,
)

N = 400


def _leaks(haystack: str, pii: set[tuple[str, str]]) -> list[tuple[str, str]]:
    """PII values present in `haystack` as whole words (so "Jo" does not hit "Joined")."""
    return [(t, v) for t, v in pii if re.search(rf"(?<!\w){re.escape(v)}(?!\w)", haystack)]


def test_events_are_redacted_and_projected_exactly_once(pipeline, pg):
    prefix = f"e2e{uuid.uuid4().hex[:6]}"
    events, samples = tenant_samples(prefix, N, tenants=3)
    report = produce(pipeline, topics.CONVERSATIONS_RAW, events)
    assert report.sent == N and not report.rejected

    expected = expected_redacted_ids(events)
    wait_for(lambda: pg_ids(pipeline, prefix) == expected, 180, "every Postgres row")
    wait_for(lambda: ch_rows(pipeline, prefix)[2] == expected, 60, "every ClickHouse row")
    rows_stored, records, _ = ch_rows(pipeline, prefix)
    assert rows_stored == records == N, f"{rows_stored} ClickHouse rows (no FINAL), " \
        f"{records} records, for {N} events"

    # every source event is in Postgres exactly once, tenant and conversation preserved
    rows = pg.execute(
        "SELECT metadata->>'source_event_id', tenant_id, session_id, content, message_type "
        "FROM ai_conversations WHERE tenant_id LIKE %s", (f"{prefix}-%",)).fetchall()
    by_source = {r[0]: r for r in rows}
    assert set(by_source) == {e.event_id for e in events}
    for e in events:
        r = by_source[e.event_id]
        assert (r[1], r[2]) == (e.tenant_id, e.conversation_id)
        assert r[4] == ("user" if e.sender_role == "customer" else "assistant")

    # pseudonyms: PII replaced by <TYPE_n> labels; structured PII never leaks anywhere
    pii = {(t, v) for s in samples for t, v in s.pii}
    structured = {(t, v) for t, v in pii if t != "PERSON"}
    persons = {(t, v) for t, v in pii if t == "PERSON"}
    contents = "\n".join(r[3] for r in rows)
    assert re.search(r"<PERSON_\d+>", contents) and re.search(r"<PHONE_NUMBER_\d+>", contents)
    assert _leaks(contents, structured) == []
    # spaCy's small NER misses some bare first names; the recall test bounds that rate
    assert len(_leaks(contents, persons)) <= 0.1 * len(persons)

    redacted = [serde.decode(m.value(), ConversationMessageRedacted)
                for m in read_topic(
                    pipeline, topics.CONVERSATIONS_REDACTED.name(pipeline.topic_prefix),
                    principal=Principal.READER)]
    mine = "\n".join(r.redacted_text for r in redacted if r.tenant_id.startswith(prefix))
    assert _leaks(mine, structured) == []

    with open_metrics_reader(pipeline) as r:
        metric_rows = r.query(f"SELECT * FROM {r.database}.step_metrics "
                          f"WHERE tenant_id LIKE '{prefix}-%'")
    ch_text = json.dumps(metric_rows)
    assert sum(sum(row["entities"].values()) for row in metric_rows) > N  # entity counts recorded
    assert _leaks(ch_text, pii) == []

    logs = "".join(p.read_text(errors="replace") for p in pipeline.logs_dir.glob("*.log"))
    assert _leaks(logs, pii) == []


def test_tenant_isolation_by_row_level_security(pipeline):
    prefix = f"rls{uuid.uuid4().hex[:6]}"
    events, _ = tenant_samples(prefix, 60, tenants=2, seed=3)
    produce(pipeline, topics.CONVERSATIONS_RAW, events)
    wait_for(lambda: pg_count(pipeline, prefix) >= 60, 120, "Postgres rows")
    # each dealership's reader login sees its own rows, whatever it asks for; a login of a
    # tenant without rows sees none (the attacks: projections/test_tenant_isolation_attacks)
    for tenant in sorted({e.tenant_id for e in events}):
        expected = sum(1 for e in events if e.tenant_id == tenant)
        with tenant_reader(pipeline, tenant) as reader:
            seen = reader.execute("SELECT DISTINCT tenant_id FROM ai_conversations").fetchall()
            count = reader.execute("SELECT count(*) FROM ai_conversations "
                                   "WHERE tenant_id LIKE %s", (f"{prefix}-%",)).fetchone()[0]
        assert seen == [(tenant,)]
        assert count == expected
    with tenant_reader(pipeline, f"{prefix}-nobody") as reader:
        assert reader.execute("SELECT count(*) FROM ai_conversations").fetchone()[0] == 0


def test_pseudonyms_are_consistent_within_a_conversation_across_messages(pipeline, pg):
    prefix = f"pse{uuid.uuid4().hex[:6]}"
    tenant = f"{prefix}-dealer"
    texts = ["Hi, this is Maria Lopez, call me at 512-555-0142 about my 2019 Toyota Camry.",
             "Maria Lopez again. My wife Jane Smith will drop the Camry off; her cell is "
             "512-555-0199.",
             "Thanks Maria Lopez, Jane Smith can use 512-555-0142 too."]
    events = [ConversationMessageRaw(event_id=str(uuid.uuid4()), tenant_id=tenant,
                                     occurred_at=utcnow(), conversation_id=f"{prefix}-c",
                                     text=t) for t in texts]
    other = ConversationMessageRaw(event_id=str(uuid.uuid4()), tenant_id=tenant,
                                   occurred_at=utcnow(), conversation_id=f"{prefix}-other",
                                   text="This is Jane Smith, 512-555-0199.")
    produce(pipeline, topics.CONVERSATIONS_RAW, [*events, other])
    wait_for(lambda: pg_count(pipeline, prefix) >= 4, 120, "Postgres rows")
    rows = dict(pg.execute(
        "SELECT metadata->>'source_event_id', content FROM ai_conversations "
        "WHERE tenant_id = %s", (tenant,)).fetchall())
    first, second, third = (rows[e.event_id] for e in events)
    assert first.startswith("Hi, this is <PERSON_1>, call me at <PHONE_NUMBER_1>")
    assert "2019 Toyota Camry" in first
    assert "<PERSON_1> again" in second and "<PERSON_2>" in second
    assert "<PHONE_NUMBER_2>" in second
    assert third == "Thanks <PERSON_1>, <PERSON_2> can use <PHONE_NUMBER_1> too."
    # another conversation starts its own numbering
    assert rows[other.event_id] == "This is <PERSON_1>, <PHONE_NUMBER_1>."
