"""The sample conversation generator: deterministic, tenants as asked, ground truth that is
really in the text, VINs with valid check digits (a smoke generator, not evaluation data)."""

from __future__ import annotations

from connectors.samples.conversations import generate_conversations, sample_events
from schemas.vin import vin_check_digit_ok


def test_the_same_seed_gives_the_same_day_and_another_seed_another() -> None:
    a = [(m.conversation_id, m.text) for m in generate_conversations(120, 3, seed=5)]
    b = [(m.conversation_id, m.text) for m in generate_conversations(120, 3, seed=5)]
    c = [(m.conversation_id, m.text) for m in generate_conversations(120, 3, seed=6)]
    assert a == b and a != c and len(a) == 120


def test_tenants_conversations_and_ground_truth() -> None:
    msgs = list(generate_conversations(400, 4, seed=9))
    assert {m.tenant_id for m in msgs} == {f"dealer-{n:03d}" for n in range(1, 5)}
    by_conv: dict[str, set[str]] = {}
    for m in msgs:
        by_conv.setdefault(m.conversation_id, set()).add(m.tenant_id)
        for entity_type, value in m.pii:
            assert value in m.text, (entity_type, value, m.text)
            if entity_type == "VIN":
                assert vin_check_digit_ok(value), value
    assert all(len(t) == 1 for t in by_conv.values())  # a conversation has one dealership
    assert sum(len(m.pii) for m in msgs) > 200


def test_sample_events_have_stable_ids_per_seed() -> None:
    first = [e.event_id for e in sample_events(30, 2, seed=3)]
    assert first == [e.event_id for e in sample_events(30, 2, seed=3)]
    assert len(set(first)) == 30
