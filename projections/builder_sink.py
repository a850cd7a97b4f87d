"""The workflow builder's topics -> Postgres, offsets in the same transaction.

Reads workflow.requests, requirements.analyzed, workflows.generated and interfaces.generated
and dispatches each record by its decoded event type (which must be the one its topic
carries; a record that does not decode, or of another type, is dead-lettered):

- WorkflowRequest -> an `ai_conversations` row (message_type 'user');
- RequirementAnalysis -> an `ai_conversations` row (message_type 'assistant', a one-line
  summary as content, the analysis as metadata);
- GeneratedWorkflow -> `generated_workflows` (the current version) and
  `generated_workflow_versions` (every version);
- GeneratedInterface -> `generated_interfaces`.

Idempotency invariants (a redelivered, replayed or late event never changes the result):
- `ai_conversations`: id = the event's id (uuid5 of it if it is not a UUID), ON CONFLICT DO
  NOTHING;
- `generated_workflows`: keyed (tenant_id, workflow_id); a row is replaced only by an event of
  a strictly HIGHER version, so a redelivered or older event is a no-op and the row always
  holds the highest version seen (for two different events of one version, the first wins);
- `generated_workflow_versions`: keyed (tenant_id, workflow_id, version), ON CONFLICT DO
  NOTHING (the first event of a version wins, as in `generated_workflows`);
- `generated_interfaces`: keyed (tenant_id, interface_id); holds the greatest event by
  (workflow_version, occurred_at, event_id), whatever the order events arrive in;
- a GeneratedWorkflow with valid=false never reaches the tables: it is dead-lettered with
  error kind 'invalid_workflow' (the builder publishes only valid workflows; this defends).
Within a batch, each upsert first keeps one row per key by the same rule, so a batch holding
several versions of a workflow ends where one-by-one delivery would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Message

from projections.postgres_sink import COLUMNS as CONVERSATION_COLUMNS
from projections.postgres_sink import Rejected
from projections.postgres_targets import (
    SOURCE,
    Rows,
    Target,
    TargetedProjection,
    insert_one_per_key,
    json_field,
    source_of,
    temp_table,
    update_all_but,
)
from schemas import topics
from schemas.events import (
    Event,
    GeneratedInterface,
    GeneratedWorkflow,
    RequirementAnalysis,
    WorkflowRequest,
)
from schemas.ids import ID_NAMESPACE

BUILDER_TOPICS = (topics.WORKFLOW_REQUESTS, topics.REQUIREMENTS_ANALYZED,
                  topics.WORKFLOWS_GENERATED, topics.INTERFACES_GENERATED)
CHANNEL = "chat"  # the builder is a chat with the dealership's staff


WF_COLUMNS = ("tenant_id", "workflow_id", "user_id", "conversation_id", "name", "description",
              "requirements", "workflow_definition", "generation_metadata", "status", "version",
              "operation", "valid", "errors", "event_id", "created_at", "updated_at", *SOURCE)
VERSION_COLUMNS = ("tenant_id", "workflow_id", "version", "definition", "diff", "diagnosis",
                   "operation", "event_id", "created_at", *SOURCE)
INTERFACE_COLUMNS = ("tenant_id", "interface_id", "workflow_id", "workflow_version",
                     "interface_definition", "component_metadata", "event_id", "created_at",
                     *SOURCE)

CONVERSATIONS = Target(
    "ai_conversations", CONVERSATION_COLUMNS,
    f"INSERT INTO ai_conversations ({', '.join(CONVERSATION_COLUMNS)}, projected_at) "
    f"SELECT {', '.join(CONVERSATION_COLUMNS)}, clock_timestamp() "
    f"FROM {temp_table('ai_conversations')} ON CONFLICT (id) DO NOTHING")
WORKFLOWS = Target(
    "generated_workflows", WF_COLUMNS,
    insert_one_per_key("generated_workflows", WF_COLUMNS, "tenant_id, workflow_id",
            "version DESC, source_partition, source_offset")
    + update_all_but(WF_COLUMNS, keep=("tenant_id", "workflow_id", "created_at"))
    + " WHERE EXCLUDED.version > cur.version")
VERSIONS = Target(
    "generated_workflow_versions", VERSION_COLUMNS,
    insert_one_per_key("generated_workflow_versions", VERSION_COLUMNS,
                       "tenant_id, workflow_id, version", "source_partition, source_offset")
    + "DO NOTHING")
INTERFACES = Target(
    "generated_interfaces", INTERFACE_COLUMNS,
    insert_one_per_key("generated_interfaces", INTERFACE_COLUMNS, "tenant_id, interface_id",
            "workflow_version DESC, created_at DESC, event_id DESC")
    + update_all_but(INTERFACE_COLUMNS, keep=("tenant_id", "interface_id"))
    + " WHERE (EXCLUDED.workflow_version, EXCLUDED.created_at, EXCLUDED.event_id)"
    " > (cur.workflow_version, cur.created_at, cur.event_id)")
TARGETS = (CONVERSATIONS, WORKFLOWS, VERSIONS, INTERFACES)


def conversation_row_id(event_id: str) -> str:
    """The ai_conversations id of an event: its id if that is a UUID, else a uuid5 of it."""
    try:
        return str(uuid.UUID(event_id))
    except ValueError:
        return str(uuid.uuid5(ID_NAMESPACE, f"conversation-row:{event_id}"))


def analysis_summary(ev: RequirementAnalysis) -> str:
    """A one-line human summary, e.g. 'create_workflow (service): sms, email; 3 days before'."""
    text = f"{ev.intent} ({ev.domain})"
    if ev.channels:
        text += ": " + ", ".join(ev.channels)
    if ev.timing:
        text += f"; {ev.timing}"
    return text


def request_rows(m: Message, ev: WorkflowRequest) -> Rows:
    metadata = {"kind": "workflow_request", "workflow_id": ev.workflow_id,
                "error_context": ev.error_context, "source_event_id": ev.source_event_id}
    return [(CONVERSATIONS, (
        conversation_row_id(ev.event_id), ev.tenant_id, ev.user_id, ev.conversation_id, "user",
        CHANNEL, ev.redacted_text, json.dumps(metadata), ev.occurred_at, None, *source_of(m)))]


def analysis_rows(m: Message, ev: RequirementAnalysis) -> Rows:
    fields = ev.model_dump(mode="json", exclude={"event_id", "tenant_id", "occurred_at"})
    metadata = {"kind": "requirement_analysis", **fields}
    session = ev.conversation_id or ev.request_event_id
    return [(CONVERSATIONS, (
        conversation_row_id(ev.event_id), ev.tenant_id, ev.user_id, session, "assistant",
        CHANNEL, analysis_summary(ev), json.dumps(metadata), ev.occurred_at, None,
        *source_of(m)))]


def workflow_rows(m: Message, ev: GeneratedWorkflow) -> Rows:
    if not ev.valid:
        raise Rejected("invalid_workflow",
                       f"workflow {ev.workflow_id} v{ev.version} is not valid: {ev.errors}",
                       ev.tenant_id)
    definition = json_field(ev, "definition_json")
    current = (ev.tenant_id, ev.workflow_id, ev.user_id, ev.conversation_id, ev.name,
               ev.description, json_field(ev, "requirements_json"), definition,
               json_field(ev, "generation_metadata_json"), ev.status, ev.version, ev.operation,
               ev.valid, json.dumps(ev.errors), ev.event_id, ev.occurred_at, ev.occurred_at,
               *source_of(m))
    version = (ev.tenant_id, ev.workflow_id, ev.version, definition, json_field(ev, "diff_json"),
               json_field(ev, "diagnosis_json"), ev.operation, ev.event_id, ev.occurred_at,
               *source_of(m))
    return [(WORKFLOWS, current), (VERSIONS, version)]


def interface_rows(m: Message, ev: GeneratedInterface) -> Rows:
    return [(INTERFACES, (
        ev.tenant_id, ev.interface_id, ev.workflow_id, ev.workflow_version,
        json_field(ev, "definition_json"), json_field(ev, "component_metadata_json"), ev.event_id,
        ev.occurred_at, *source_of(m)))]


HANDLERS: dict[type[Event], Callable[[Message, Any], Rows]] = {
    WorkflowRequest: request_rows,
    RequirementAnalysis: analysis_rows,
    GeneratedWorkflow: workflow_rows,
    GeneratedInterface: interface_rows,
}


class PostgresBuilderSink(TargetedProjection):
    """Projection `postgres_builder` of the workflow builder's four topics."""

    name = "postgres_builder"
    step = "postgres_builder_projection"
    specs = BUILDER_TOPICS
    handlers = HANDLERS
    targets = TARGETS
