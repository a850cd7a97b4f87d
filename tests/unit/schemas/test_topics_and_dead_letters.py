"""Topic catalog invariants, dead-letter ids, ingest parsing (pure logic, no services)."""

from __future__ import annotations

import pytest

from connectors.ingest import parse_line, parse_lines
from processors.errors import StepInputError
from processors.pii.inputs import check_text
from runtime.settings import Settings
from schemas import topics
from schemas.dead_letters import dead_letter
from schemas.events import ConversationMessageRaw
from schemas.ids import derived_id


def test_only_the_pii_step_may_read_raw_conversations():
    topics.assert_raw_readers("pii_redaction", topics.CONVERSATIONS_RAW)
    with pytest.raises(PermissionError, match="raw-PII"):
        topics.assert_raw_readers("requirement_analysis", topics.CONVERSATIONS_RAW)
    raw = [s.suffix for s in topics.CATALOG if s.raw_pii]
    assert "conversations.redacted" not in raw and "conversations.raw" in raw


def test_catalog_names_are_unique_and_resolvable():
    s = Settings(topic_prefix="x.")
    names = [spec.name(s.topic_prefix) for spec in topics.CATALOG]
    assert len(set(names)) == len(names)
    assert topics.by_name("x.dlq", s.topic_prefix) is topics.DEAD_LETTERS
    assert topics.by_name("conversations.raw", s.topic_prefix) is topics.CONVERSATIONS_RAW
    with pytest.raises(KeyError, match="unknown topic"):
        topics.by_name("nope", s.topic_prefix)


def test_derived_ids_are_deterministic_and_step_specific():
    assert derived_id("a", "pii") == derived_id("a", "pii")
    assert derived_id("a", "pii") != derived_id("a", "ocr")
    assert derived_id("a", "pii") != derived_id("b", "pii")


def test_dead_letter_keeps_source_and_truncates_payload():
    dl = dead_letter(error_kind="oversized", error="too big", step="pii_redaction", topic="t",
                     partition=2, offset=41, key=b"k", payload=b"x" * 100, tenant_id=" ",
                     max_payload=10)
    assert (dl.source_topic, dl.source_partition, dl.source_offset) == ("t", 2, 41)
    assert dl.tenant_id == "unknown" and dl.payload == b"x" * 10
    assert dl.payload_truncated and dl.payload_size == 100
    again = dead_letter(error_kind="oversized", error="too big", step="pii_redaction",
                        topic="t", partition=2, offset=41, key=b"k", payload=b"",
                        max_payload=10)
    assert again.event_id == dl.event_id


def test_parse_line_fills_ids_and_names_problems():
    ev = parse_line('{"tenant_id": "d1", "conversation_id": "c", "text": "hi"}',
                    ConversationMessageRaw)
    assert ev.event_id and ev.occurred_at.tzinfo is not None and ev.ingested_at is not None
    results = list(parse_lines(["", "{bad", '{"conversation_id": "c", "text": "x"}'],
                               ConversationMessageRaw))
    assert [str(r).split(":")[0] for r in results] == ["line 2", "line 3"]
    assert "not JSON" in str(results[0]) and "tenant_id" in str(results[1])


def test_check_text_rejects_empty_and_oversized():
    check_text("hello", 10)
    with pytest.raises(StepInputError) as e:
        check_text("  \n", 10)
    assert e.value.kind == "empty_text"
    with pytest.raises(StepInputError) as e:
        check_text("x" * 11, 10)
    assert e.value.kind == "oversized"


def test_every_topic_key_names_an_attribute_of_its_event() -> None:
    """Ingest keys a record by `getattr(event, spec.key)`: a key that is not an attribute of
    the topic's model would crash produce (or key every record alike)."""
    for spec in topics.CATALOG:
        assert spec.key in spec.model.model_fields or isinstance(
            getattr(spec.model, spec.key, None), property), (spec.suffix, spec.key)


def test_analyses_of_one_workflow_share_a_key() -> None:
    from schemas.events import RequirementAnalysis, utcnow
    from schemas.ids import NEW_WORKFLOW, derived_id

    def analysis(event_id: str, intent: str, workflow_id: str | None) -> RequirementAnalysis:
        return RequirementAnalysis(event_id=event_id, tenant_id="t", occurred_at=utcnow(),
                                   request_event_id="r", intent=intent, domain="service",
                                   workflow_id=workflow_id)

    a = analysis("a1", "modify_workflow", "wf-1")
    b = analysis("a2", "optimize_workflow", "wf-1")
    assert a.target_workflow_id == b.target_workflow_id == "wf-1"
    created = analysis("a3", "create_workflow", None)
    assert created.target_workflow_id == derived_id("a3", NEW_WORKFLOW)
