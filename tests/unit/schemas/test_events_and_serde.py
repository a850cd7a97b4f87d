"""Every event model round-trips through fastavro; schemas do not drift and stay compatible."""

from __future__ import annotations

import copy
import json
import types
import typing

import pytest

from schemas import avro_gen, compat, serde
from schemas.catalog import MODELS_BY_ID, SCHEMA_IDS
from schemas.events import (
    EVENT_MODELS,
    ConversationMessageRaw,
    DealershipEvent,
    ModelUsage,
    utcnow,
)


def _instance(model):
    if model is DealershipEvent:  # a fact's contract allows only its own attributes
        return DealershipEvent(
            event_id="e-1", tenant_id="dealer-1", occurred_at=utcnow(),
            fact="repair_order.closed", customer_ref="CRM-1", repair_order_id="ro-1",
            vehicle="2019 Honda CR-V", declined_items="brake pads", total_amount=412.5,
            advisor_id="adv-2", advisor_name="Sam", booking_url="https://x.test/book")
    schema = json.loads(avro_gen.render(model))
    datum = compat.sample_datum(schema)
    datum["occurred_at"] = utcnow()
    for f, info in model.model_fields.items():
        if f.endswith("_at") and isinstance(datum.get(f), int):
            datum[f] = utcnow()
        annotation = info.annotation
        if typing.get_origin(annotation) in (typing.Union, types.UnionType):  # X | None
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        if typing.get_origin(annotation) is typing.Literal:
            datum[f] = typing.get_args(annotation)[-1]
    return model.model_validate(datum)


@pytest.mark.parametrize("model", EVENT_MODELS, ids=lambda m: m.__name__)
def test_every_event_round_trips(model):
    event = _instance(model)
    data = serde.encode(event)
    assert data[0] == 0 and int.from_bytes(data[1:5], "big") == SCHEMA_IDS[model.__name__]
    assert serde.decode(data, model) == event


def test_every_event_has_the_common_fields_and_an_id():
    assert set(SCHEMA_IDS) == {m.__name__ for m in EVENT_MODELS}
    assert len(set(SCHEMA_IDS.values())) == len(SCHEMA_IDS) == len(MODELS_BY_ID)
    for model in EVENT_MODELS:
        assert {"event_id", "tenant_id", "occurred_at", "schema_version"} <= set(
            model.model_fields)


def test_committed_schemas_match_models_and_stay_backward_compatible():
    assert compat.check_all() == []


def test_incompatible_change_is_detected():
    old = json.loads(avro_gen.render(ModelUsage))
    new = copy.deepcopy(old)
    new["fields"].append({"name": "region", "type": "string"})  # no default: breaks old data
    assert compat.compatible(old, new) is not None
    new["fields"][-1]["default"] = "us"
    assert compat.compatible(old, new) is None


def test_decode_errors_name_the_problem():
    with pytest.raises(serde.Undecodable, match="magic byte"):
        serde.decode(b"\x01\x00\x00\x00\x01abc", ConversationMessageRaw)
    with pytest.raises(serde.Undecodable, match="shorter"):
        serde.decode(b"\x00", ConversationMessageRaw)
    with pytest.raises(serde.Undecodable, match="not in the catalog"):
        serde.decode(b"\x00\x00\x00\x03\xe7abc", ConversationMessageRaw)
    usage = _instance(ModelUsage)
    with pytest.raises(serde.WrongSchema, match="expected ConversationMessageRaw"):
        serde.decode(serde.encode(usage), ConversationMessageRaw)
    blank = _instance(ConversationMessageRaw).model_dump()
    blank["tenant_id"] = "  "
    with pytest.raises(serde.InvalidEvent, match="tenant_id"):
        serde.decode(serde.encode_dict(ConversationMessageRaw, blank), ConversationMessageRaw)
