"""Dealership facts at the edge: each fact's contract is enforced with the field named, no
contact detail gets in, and an event survives the wire format unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from processors.workflows.templates import load_templates
from schemas import serde, topics
from schemas.dealership_facts import ATTRIBUTES, FACT_VARIABLES, FACTS
from schemas.events import DealershipEvent


def _event(**fields: Any) -> DealershipEvent:
    base: dict[str, Any] = {"event_id": "e-1", "tenant_id": "dealer-1",
                            "occurred_at": datetime(2026, 12, 3, 9, tzinfo=UTC),
                            "fact": "service.appointment_scheduled", "customer_ref": "CRM-1",
                            "appointment_id": "apt-9",
                            "appointment_at": "2026-12-10T09:30:00-06:00",
                            "vehicle": "2021 Ford F-150"}
    return DealershipEvent.model_validate({**base, **fields})


def test_a_fact_round_trips_and_is_keyed_by_its_customer() -> None:
    ev = _event()
    assert serde.decode(serde.encode(ev), DealershipEvent) == ev
    assert ev.subject() == "apt-9" and topics.DEALERSHIP_EVENTS.key == "customer_ref"
    assert ev.attributes() == {"appointment_id": "apt-9", "vehicle": "2021 Ford F-150",
                               "appointment_at": "2026-12-10T09:30:00-06:00"}


@pytest.mark.parametrize("fields, named", [
    ({"fact": "service.appointment_booked"}, "unknown fact 'service.appointment_booked'"),
    ({"appointment_at": None}, "appointment_at: required for service.appointment_scheduled"),
    ({"appointment_id": None}, "appointment_id: required"),
    ({"called_at": "2026-12-03T10:00:00Z"}, "called_at: not an attribute of service.appoint"),
    ({"customer_phone": "+15125550143"}, "customer_phone"),  # contact details: never here
    ({"first_name": "Ana"}, "first_name"),
    ({"customer_ref": "ana@example.com"}, "customer_ref"),
    ({"appointment_at": "next tuesday"}, "appointment_at"),
    ({"appointment_at": "2026-12-10T09:30:00"}, "appointment_at"),  # no zone: ambiguous
    ({"fact": "repair_order.closed", "appointment_id": None, "appointment_at": None,
      "repair_order_id": "ro-1", "booking_url": "http://x.test/book"}, "booking_url"),
    ({"fact": "repair_order.closed", "appointment_id": None, "appointment_at": None,
      "repair_order_id": "ro-1", "total_amount": -5}, "total_amount"),
])
def test_what_breaks_a_facts_contract_is_named(fields: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        _event(**fields)


def test_every_fact_and_variable_is_consistent() -> None:
    assert set(ATTRIBUTES) <= set(DealershipEvent.model_fields)
    for name, spec in FACTS.items():
        assert spec.allowed() <= set(ATTRIBUTES), name
    for variable, facts in FACT_VARIABLES.items():
        assert facts and set(facts) <= set(FACTS), variable


def test_every_templates_trigger_is_a_fact() -> None:
    events = {t.workflow["trigger"].get("event") for t in load_templates()} - {None}
    assert events and events <= set(FACTS)


def test_trigger_filters_match_on_fields_or_their_presence() -> None:
    from schemas.dealership_facts import matches_filters

    trigger = {"lead_source": "internet", "declined_items": "brake pads", "vehicle": None}
    assert matches_filters({}, trigger)
    assert matches_filters({"lead_source": "Internet"}, trigger)
    assert not matches_filters({"lead_source": "walk_in"}, trigger)
    assert matches_filters({"declined_items": "*"}, trigger)
    assert not matches_filters({"vehicle": "*"}, trigger)
    assert not matches_filters({"visit_outcome": "unsold"}, trigger)
