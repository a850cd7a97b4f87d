"""The build step's own record of a workflow's versions: how edits get versions without loss.

The build step keeps one `WorkflowVersions` per workflow id in its own table (a Faust table
keyed like its input topic, so one workflow's requests reach it in order, one at a time).
A revision builds on the latest version the STEP emitted — not on the Postgres projection,
which may lag — so two edits of one workflow in one batch become v2 and v3, and an edit
arriving right after the create is not rejected as unknown.

Invariants:
- versions only grow: `record` keeps the highest version as latest;
- a redelivered analysis (its id is in `applied`) is answered with the event it produced the
  first time (`replayed`, kept for the last `KEEP_OUTPUTS`), or, once that has been dropped,
  built again on the definition it was first built on (the base is recorded too, even when
  it came from the Postgres projection): the same version, never a second edit;
- tenants never share a record: the table value for a workflow id holds one
  `WorkflowVersions` per tenant (`VersionRecords`), so another dealership naming the same
  id finds nothing of this one's (its request is then looked up for its own tenant, and
  rejected as naming an unknown workflow if it has none);
- the state is bounded: the last `KEEP` definitions and the last `KEEP_APPLIED` applied ids.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from pydantic import BaseModel, Field

KEEP = 8
KEEP_APPLIED = 32
KEEP_OUTPUTS = 4


class WorkflowVersions(BaseModel):
    """One tenant's versions of one workflow."""

    latest: int = 0
    definitions: dict[int, dict[str, Any]] = Field(default_factory=dict)
    #: analysis event id -> the version it produced (in the order applied)
    applied: dict[str, int] = Field(default_factory=dict)
    #: analysis event id -> the encoded event it produced (base64), for the latest few
    outputs: dict[str, str] = Field(default_factory=dict)

    def base_for(self, analysis_event_id: str) -> tuple[dict[str, Any] | None, int | None]:
        """(the definition a build for this analysis starts from, the version it produced if
        it was applied already)."""
        done = self.applied.get(analysis_event_id)
        if done is not None:
            return self.definitions.get(done - 1), done
        return self.definitions.get(self.latest), None

    def replayed(self, analysis_event_id: str) -> bytes | None:
        """The event built for `analysis_event_id` the first time, if still kept."""
        kept = self.outputs.get(analysis_event_id)
        return base64.b64decode(kept) if kept is not None else None

    def remember(self, workflow: dict[str, Any]) -> None:
        """Keep a definition this step did not build (looked up elsewhere) as a base."""
        version = int(workflow.get("version", 1))
        self.definitions.setdefault(version, json.loads(json.dumps(workflow)))
        self.latest = max(self.latest, version)
        self._trim()

    def record(self, analysis_event_id: str, workflow: dict[str, Any],
               output: bytes) -> None:
        """Remember `workflow` (its `version` field) and the encoded event `output` as built
        for `analysis_event_id`."""
        version = int(workflow.get("version", 1))
        self.definitions[version] = json.loads(json.dumps(workflow))
        self.latest = max(self.latest, version)
        self.applied.pop(analysis_event_id, None)  # re-insert: newest last
        self.applied[analysis_event_id] = version
        self.outputs.pop(analysis_event_id, None)
        self.outputs[analysis_event_id] = base64.b64encode(output).decode()
        self._trim()

    def _trim(self) -> None:
        for version_gone in sorted(self.definitions)[:-KEEP]:
            del self.definitions[version_gone]
        for event_gone in list(self.applied)[:-KEEP_APPLIED]:
            del self.applied[event_gone]
        for output_gone in list(self.outputs)[:-KEEP_OUTPUTS]:
            del self.outputs[output_gone]


class VersionRecords(BaseModel):
    """The table value of one workflow id: each tenant's `WorkflowVersions` of it."""

    tenants: dict[str, WorkflowVersions] = Field(default_factory=dict)

    @classmethod
    def load(cls, raw: bytes | None) -> VersionRecords:
        return cls.model_validate_json(raw) if raw else cls()

    def dump(self) -> bytes:
        return self.model_dump_json().encode()

    def of(self, tenant_id: str) -> WorkflowVersions:
        """`tenant_id`'s versions (a new, empty record if it has none)."""
        return self.tenants.setdefault(tenant_id, WorkflowVersions())
