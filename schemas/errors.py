"""One wording for pydantic validation errors, shared by every edge that reports them."""

from __future__ import annotations

from pydantic import ValidationError


def describe(exc: ValidationError) -> list[str]:
    """`field.path: message` for each problem (`<root>` for the object itself)."""
    return [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()]
