"""The customer profile (pure): coverage drives confidence, PII stays out."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from processors.ai_agents.intelligence import (
    DocumentFact,
    Enrichment,
    Facts,
    ProfileInput,
    build_profile,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)
VIN = "1FTFW1ET5DFC10312"


def test_an_empty_subject_has_no_confidence_and_a_rich_one_more() -> None:
    request = ProfileInput(customer_ref="c-1")
    empty = build_profile(request, Facts(), [])
    assert empty.confidence == 0.0 and not any(empty.coverage.values())
    facts = Facts(documents=[DocumentFact(document_id="d-1", kind="repair_order",
                                          fields={"mileage": 1, "vin": VIN,
                                                  "customer_name": "Ana"}, created_at=NOW)],
                  vehicle_keys=[VIN], crm_fields={"lead_status": "new"})
    found = [Enrichment(source="dec", kind="vehicle", status="ok",
                        fields={"vin": VIN, "VIN_echo": VIN.lower(), "make": "Ford",
                                "note": f"Decoded {VIN}: Ford F-150"}),
             Enrichment(source="down", kind="vehicle", status="failed", reason="timeout")]
    profile = build_profile(request, facts, found)
    assert profile.coverage == {"conversations": False, "calls": False, "documents": True,
                                "vehicles": True, "service_history": True, "crm": True,
                                "engagement": False}
    assert profile.confidence == round(4 / 7, 3)
    assert VIN not in profile.model_dump_json().upper() and "Ana" not in profile.model_dump_json()
    assert profile.vehicles == [{"source": "dec", "make": "Ford"}]
    assert profile.enrichment[1] == {"source": "down", "kind": "vehicle", "status": "failed",
                                     "reason": "timeout"}


def test_a_profile_names_its_subject() -> None:
    with pytest.raises(ValidationError, match="customer_ref or account_domain"):
        ProfileInput(conversation_ids=["c"])
