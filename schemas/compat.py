"""Schema checks that fail the build: drift from the models, and backward compatibility.

Backward compatible = a reader with the NEW schema can read data written with the OLD one.
Checked with fastavro's own schema resolution on a sample datum of the old schema, against
every committed version of each .avsc in git history (oldest to newest, then the working
tree).
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

import fastavro

from schemas.avro_gen import AVRO_DIR, render
from schemas.events import EVENT_MODELS

REPO = AVRO_DIR.parents[1]


def sample_datum(schema: Any, named: dict[str, Any] | None = None) -> Any:
    """A datum exercising every field of `schema` (non-null branch of unions)."""
    named = {} if named is None else named
    if isinstance(schema, str):
        if schema in named:
            return sample_datum(named[schema], named)
        return {"string": "x", "long": 7, "int": 7, "double": 1.5, "float": 1.5,
                "boolean": True, "bytes": b"\x00\x01", "null": None}[schema]
    if isinstance(schema, list):
        branch = next((b for b in schema if b != "null"), "null")
        return sample_datum(branch, named)
    t = schema["type"]
    if t == "record":
        named[schema["name"]] = schema
        named[f"{schema.get('namespace', '')}.{schema['name']}"] = schema
        return {f["name"]: sample_datum(f["type"], named) for f in schema["fields"]}
    if t == "array":
        return [sample_datum(schema["items"], named)]
    if t == "map":
        return {"k": sample_datum(schema["values"], named)}
    if t == "enum":
        return schema["symbols"][0]
    if schema.get("logicalType") == "timestamp-millis":
        return 1_700_000_000_000
    return sample_datum(t, named)


def compatible(old: dict[str, Any], new: dict[str, Any]) -> str | None:
    """None if `new` can read `old`'s data, else the resolution error."""
    writer = fastavro.parse_schema(old)
    reader = fastavro.parse_schema(new)
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, writer, sample_datum(old))
    buf.seek(0)
    try:
        fastavro.schemaless_reader(buf, writer, reader)
    except Exception as exc:  # fastavro's SchemaResolutionError and friends
        return f"{type(exc).__name__}: {exc}"
    return None


def committed_versions(path: Path) -> list[dict[str, Any]]:
    """Every committed version of `path`, oldest first ([] if never committed)."""
    rel = path.relative_to(REPO).as_posix()
    revs = subprocess.run(["git", "-C", str(REPO), "log", "--format=%H", "--", rel],
                          capture_output=True, text=True, check=True).stdout.split()
    out = []
    for rev in reversed(revs):
        shown = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:{rel}"],
                               capture_output=True, text=True)
        if shown.returncode == 0:
            out.append(json.loads(shown.stdout))
    return out


def check_all() -> list[str]:
    problems = []
    for model in EVENT_MODELS:
        path = AVRO_DIR / f"{model.__name__}.avsc"
        if not path.exists():
            problems.append(f"{path.name}: missing; run `auterity schemas export`")
            continue
        if path.read_text() != render(model):
            problems.append(f"{path.name}: differs from the model; run `auterity schemas export`")
        versions = committed_versions(path) + [json.loads(path.read_text())]
        for i, (old, new) in enumerate(zip(versions, versions[1:], strict=False)):
            err = compatible(old, new)
            if err:
                problems.append(f"{path.name}: version {i + 2} cannot read version {i + 1}: {err}")
    return problems
