"""One wording for pydantic validation errors, shared by every edge that reports them; the
error every layer may raise when a store does not answer."""

from __future__ import annotations

from pydantic import ValidationError


def describe(exc: ValidationError) -> list[str]:
    """`field.path: message` for each problem (`<root>` for the object itself)."""
    return [f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()]


class StoreUnavailable(RuntimeError):
    """A store (Postgres) could not be reached or did not answer in time: nothing about the
    record is known to be wrong, so a step must not dead-letter it, and an AI agent's task
    must not end as failed because of it (streams/step_loop.py waits and runs the record
    again, uncommitted; processors/ai_agents/dispatch.py lets it through)."""
