"""Derive Avro schemas from the pydantic event models (one source of truth for both).

Mapping: str->string, int->long, float->double, bool->boolean, bytes->bytes,
datetime->long/timestamp-millis, Literal->string, list->array, dict[str, X]->map,
nested model->record, `X | None`->["null", X] with default null.
"""

from __future__ import annotations

import json
import types
import typing
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel
from pydantic_core import PydanticUndefined

from schemas.events import EVENT_MODELS, Event

NAMESPACE = "io.auterity.events"
AVRO_DIR = Path(__file__).resolve().parent / "avro"

_PRIMITIVES: dict[Any, Any] = {
    str: "string",
    int: "long",
    float: "double",
    bool: "boolean",
    bytes: "bytes",
}


def _strip_annotated(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _avro_type(tp: Any, defined: set[str]) -> Any:
    tp = _strip_annotated(tp)
    if tp in _PRIMITIVES:
        return _PRIMITIVES[tp]
    if tp is datetime or tp is AwareDatetime:
        return {"type": "long", "logicalType": "timestamp-millis"}
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "string"
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) != 1:
            raise TypeError(f"only Optional unions are supported, got {tp}")
        return ["null", _avro_type(args[0], defined)]
    if origin is list:
        return {"type": "array", "items": _avro_type(typing.get_args(tp)[0], defined)}
    if origin is dict:
        key, value = typing.get_args(tp)
        if key is not str:
            raise TypeError(f"Avro maps need str keys, got {tp}")
        return {"type": "map", "values": _avro_type(value, defined)}
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return record_schema(tp, defined)
    raise TypeError(f"no Avro mapping for {tp!r}")


def _avro_default(field: Any) -> tuple[bool, Any]:
    if field.default_factory is not None:
        return True, field.default_factory()
    if field.default is PydanticUndefined:
        return False, None
    value = field.default
    if isinstance(value, bytes):
        return True, value.decode("latin-1")
    return True, value


def record_schema(model: type[BaseModel], defined: set[str] | None = None) -> Any:
    """The Avro record schema of `model`; a record already defined is referenced by name."""
    defined = set() if defined is None else defined
    full_name = f"{NAMESPACE}.{model.__name__}"
    if full_name in defined:
        return full_name
    defined.add(full_name)
    hints = typing.get_type_hints(model, include_extras=True)
    fields = []
    for name, info in model.model_fields.items():
        avro_field: dict[str, Any] = {"name": name, "type": _avro_type(hints[name], defined)}
        has_default, default = _avro_default(info)
        if has_default:
            avro_field["default"] = default
        if info.description:
            avro_field["doc"] = info.description
        fields.append(avro_field)
    schema: dict[str, Any] = {"type": "record", "name": model.__name__, "namespace": NAMESPACE}
    if model.__doc__ and model.__doc__.strip():
        schema["doc"] = " ".join(model.__doc__.split())
    schema["fields"] = fields
    return schema


def schema_path(model: type[Event]) -> Path:
    return AVRO_DIR / f"{model.__name__}.avsc"


def render(model: type[Event]) -> str:
    return json.dumps(record_schema(model), indent=2) + "\n"


def export_all(directory: Path = AVRO_DIR) -> list[Path]:
    """Write every event's .avsc into `directory`; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for model in EVENT_MODELS:
        path = directory / f"{model.__name__}.avsc"
        path.write_text(render(model))
        written.append(path)
    return written
