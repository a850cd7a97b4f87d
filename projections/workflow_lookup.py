"""Read the current version of a generated workflow from the Postgres projection.

Used by revision requests (modify/debug/optimize) on the stream and in the CLI. The read is
tenant-scoped: a workflow id of another dealership is not found.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from runtime.settings import Settings


def current_workflow(settings: Settings, tenant_id: str, workflow_id: str
                     ) -> dict[str, Any] | None:
    """The latest definition of `workflow_id` for `tenant_id`, or None."""
    with psycopg.connect(settings.resolved_database_url(), autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('generated_workflows')").fetchone()
        if not exists or exists[0] is None:
            return None
        row = conn.execute(
            "SELECT workflow_definition FROM generated_workflows "
            "WHERE tenant_id = %s AND workflow_id = %s", (tenant_id, workflow_id)).fetchone()
    if row is None:
        return None
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])
