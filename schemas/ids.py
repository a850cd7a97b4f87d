"""Deterministic event ids: what makes a redelivery repeat the same event instead of a new one.

Invariant: `derived_id(source_id, step)` is uuid5 of the pair, so the event a step derives
from a given input has the same id on every (re)delivery, in every process.
"""

from __future__ import annotations

import uuid

ID_NAMESPACE = uuid.UUID("6f1c1d5e-6a8e-4c55-9b7e-2c3c0a5f6d11")
#: the step name a created workflow's id is derived with (from its analysis event's id)
NEW_WORKFLOW = "workflow"
#: a customer reference: the id the dealership's CRM gives a customer (letters, digits and
#: `._:-`; no space, no `@`), never an address. The output firewall leaves values of this
#: shape under `customer_ref` as they are (processors/pii/output_firewall.py)
CUSTOMER_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
#: a message variant's name (processors/ai_agents/campaign.py): a slug, never text
VARIANT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"


def derived_id(source_id: str, step: str) -> str:
    """Deterministic id of the event `step` derives from `source_id`."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{source_id}:{step}"))
