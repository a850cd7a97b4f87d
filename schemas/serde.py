"""Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary body.

Decoding errors are typed so the stream can route each to the dead-letter topic with a
precise reason: `Undecodable` (not our wire format, unknown id, corrupt Avro, invalid UTF-8),
`WrongSchema` (a valid event of another type than the topic carries) and `InvalidEvent`
(decodes, but breaks a model rule such as a blank tenant id).
"""

from __future__ import annotations

import io
import json
import struct
from functools import cache
from typing import Any, TypeVar

import fastavro
from pydantic import ValidationError

from schemas.avro_gen import AVRO_DIR
from schemas.catalog import MODELS_BY_ID, schema_id
from schemas.errors import describe
from schemas.events import Event

MAGIC = 0
_HEADER = struct.Struct(">bI")
E = TypeVar("E", bound=Event)


class DecodeError(ValueError):
    kind = "undecodable"


class Undecodable(DecodeError):
    kind = "undecodable"


class WrongSchema(DecodeError):
    kind = "schema_invalid"


class InvalidEvent(DecodeError):
    kind = "schema_invalid"


@cache
def parsed_schema(model: type[Event]) -> Any:
    """The parsed committed .avsc of `model` (the wire contract)."""
    path = AVRO_DIR / f"{model.__name__}.avsc"
    return fastavro.parse_schema(json.loads(path.read_text()))


def encode(event: Event) -> bytes:
    """Serialise an event in Confluent wire format."""
    model = type(event)
    buf = io.BytesIO()
    buf.write(_HEADER.pack(MAGIC, schema_id(model)))
    fastavro.schemaless_writer(buf, parsed_schema(model), event.model_dump())
    return buf.getvalue()


def encode_dict(model: type[Event], record: dict[str, Any]) -> bytes:
    """Serialise a plain dict with `model`'s schema, without model validation (test/replay use)."""
    buf = io.BytesIO()
    buf.write(_HEADER.pack(MAGIC, schema_id(model)))
    fastavro.schemaless_writer(buf, parsed_schema(model), record)
    return buf.getvalue()


def decode_any(data: bytes | None) -> Event:
    """Decode any catalogued event."""
    if data is None:
        raise Undecodable("record has no value (tombstone)")
    if len(data) < _HEADER.size:
        raise Undecodable(f"{len(data)} bytes is shorter than the 5-byte wire header")
    magic, sid = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise Undecodable(
            f"magic byte is {magic & 0xFF:#04x}, expected 0x00 (Confluent wire format)")
    model = MODELS_BY_ID.get(sid)
    if model is None:
        raise Undecodable(f"schema id {sid} is not in the catalog")
    try:
        record = fastavro.schemaless_reader(io.BytesIO(data[_HEADER.size:]), parsed_schema(model))
    except UnicodeDecodeError as exc:
        raise Undecodable(f"invalid UTF-8 in a string field of {model.__name__}: {exc}") from exc
    except Exception as exc:  # fastavro raises EOFError/ValueError/IndexError... on corruption
        raise Undecodable(f"corrupt Avro body for {model.__name__}: {type(exc).__name__}: {exc}") \
            from exc
    try:
        return model.model_validate(record)
    except ValidationError as exc:
        problems = "; ".join(describe(exc))
        raise InvalidEvent(f"{model.__name__} is invalid: {problems}") from exc


def decode(data: bytes | None, expected: type[E]) -> E:
    """Decode an event that must be of type `expected`."""
    event = decode_any(data)
    if not isinstance(event, expected):
        raise WrongSchema(f"expected {expected.__name__}, got {type(event).__name__}")
    return event
