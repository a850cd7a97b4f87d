"""Topic catalog: every topic's name, event type, key, partitions and retention.

Invariants:
- a topic carries exactly one event type (its `model`), keyed as `key` says, so all events of
  one conversation/document/call land in one partition, in order;
- topics marked `raw_pii` hold unredacted text: only the PII redaction step may read them
  (checked by `assert_raw_readers`, called when the Faust app wires its agents).
Pure data (no Kafka client here): runtime/kafka_clients.py creates the topics from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas import events

DAY_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class TopicSpec:
    suffix: str
    model: type[events.Event]
    key: str
    partitions: int = 3
    retention_ms: int = 7 * DAY_MS
    compacted: bool = False
    raw_pii: bool = False
    readers: tuple[str, ...] = field(default=())
    description: str = ""

    def name(self, prefix: str) -> str:
        """The full topic name under a deployment's topic prefix (AUTERITY_TOPIC_PREFIX)."""
        return f"{prefix}{self.suffix}"

    def config(self, max_message_bytes: int) -> dict[str, str]:
        """Topic configs for creation: retention, cleanup policy, message size limit."""
        return {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": "compact" if self.compacted else "delete",
            "max.message.bytes": str(max_message_bytes + 65536),
        }


PII_STEP = "pii_redaction"

CONVERSATIONS_RAW = TopicSpec(
    "conversations.raw", events.ConversationMessageRaw, "conversation_id", raw_pii=True,
    readers=(PII_STEP,), description="CRM chat/SMS/email messages as sent (raw PII)")
CONVERSATIONS_REDACTED = TopicSpec(
    "conversations.redacted", events.ConversationMessageRedacted, "conversation_id",
    description="messages with PII replaced by per-conversation pseudonyms")
WORKFLOW_REQUESTS = TopicSpec(
    "workflow.requests", events.WorkflowRequest, "conversation_id",
    description="redacted requests for the workflow builder")
REQUIREMENTS_ANALYZED = TopicSpec(
    "requirements.analyzed", events.RequirementAnalysis, "target_workflow_id",
    description="requirement analyses of workflow requests, keyed by the workflow they are "
                "about (one workflow's requests in order)")
WORKFLOWS_GENERATED = TopicSpec(
    "workflows.generated", events.GeneratedWorkflow, "workflow_id", compacted=True,
    retention_ms=-1, description="validated generated workflows (latest per id)")
INTERFACES_GENERATED = TopicSpec(
    "interfaces.generated", events.GeneratedInterface, "workflow_id", compacted=True,
    retention_ms=-1, description="interfaces generated for workflows")
DOCUMENTS_UPLOADED = TopicSpec(
    "documents.uploaded", events.DocumentUploaded, "document_id", raw_pii=True,
    readers=("ocr",), description="uploaded scans/PDFs (by blob reference or inline)")
DOCUMENTS_EXTRACTED = TopicSpec(
    "documents.extracted", events.DocumentExtracted, "document_id",
    description="redacted OCR text and extracted fields")
CALLS_RECORDED = TopicSpec(
    "calls.recorded", events.CallRecorded, "call_id", raw_pii=True,
    readers=("voice",), description="call recordings (by blob reference or inline)")
CALLS_ANALYZED = TopicSpec(
    "calls.analyzed", events.CallAnalyzed, "call_id",
    description="redacted transcripts with call analysis")
AGENT_TASKS_REQUESTED = TopicSpec(
    "agent.tasks.requested", events.AgentTaskRequested, "task_id",
    description="multi-agent task requests")
AGENT_TASKS_COMPLETED = TopicSpec(
    "agent.tasks.completed", events.AgentTaskCompleted, "task_id",
    description="multi-agent task results")
AGENTS_REGISTERED = TopicSpec(
    "agents.registered", events.AgentRegistered, "agent_id", partitions=1, compacted=True,
    description="AI agents and their capabilities (compacted: the latest per agent)")
CUSTOMERS_RAW = TopicSpec(
    "customers.raw", events.CustomerContact, "customer_id", raw_pii=True,
    readers=("restricted_projection",),
    description="CRM customer contact records (raw PII: restricted store only)")
DELIVERIES_OUTBOX = TopicSpec(
    "deliveries.outbox", events.DeliveryRequested, "delivery_id",
    description="messages action agents decided to send (placeholders, no addresses)")
DELIVERIES_COMPLETED = TopicSpec(
    "deliveries.completed", events.DeliveryCompleted, "delivery_id",
    description="what became of each delivery (sent once, failed, unknown)")
DELIVERIES_OUTCOMES = TopicSpec(
    "deliveries.outcomes", events.DeliveryOutcome, "delivery_id",
    description="what customers did with delivered messages (replied, booked, "
                "unsubscribed, bounced): the agents learn from it")
DEALERSHIP_EVENTS = TopicSpec(
    "dealership.events", events.DealershipEvent, "customer_ref",
    description="facts from dealership systems (appointments, leads, calls, repair orders, "
                "deals, ...; customer by reference, no contact details): workflow triggers, "
                "keyed by customer so one customer's facts stay in order")
WORKFLOW_RUN_INPUTS = TopicSpec(
    "workflow.run_inputs", events.WorkflowRunInput, "run_id",
    description="what workflow runs react to: starts, facts, step results, timers, "
                "cancellations (keyed by run: one run's inputs in order)")
WORKFLOW_RUNS = TopicSpec(
    "workflow.runs", events.WorkflowRunEvent, "run_id", retention_ms=400 * DAY_MS,
    description="workflow run histories (event-sourced: a run's state is the fold of its "
                "events)")
MODEL_USAGE = TopicSpec(
    "model.usage", events.ModelUsage, "tenant_id", retention_ms=30 * DAY_MS,
    description="one event per AI model call")
ALERTS = TopicSpec(
    "alerts", events.Alert, "tenant_id", retention_ms=30 * DAY_MS, description="alerts")
AUDIT = TopicSpec(
    "audit", events.AuditRecord, "tenant_id", retention_ms=365 * DAY_MS,
    description="audit records")
RESTRICTED_FIELDS = TopicSpec(
    "pii.restricted", events.RestrictedFields, "subject_id", raw_pii=True,
    readers=("restricted_projection",), retention_ms=7 * DAY_MS,
    description="raw PII fields extracted from documents and calls (restricted store only)")
DEAD_LETTERS = TopicSpec(
    "dlq", events.DeadLetter, "source_topic", partitions=1, retention_ms=30 * DAY_MS,
    raw_pii=True, readers=("dlq_cli", "metrics_projection"),
    description="events a step could not process, with reason and source (raw layer)")

CATALOG: tuple[TopicSpec, ...] = (
    CONVERSATIONS_RAW, CONVERSATIONS_REDACTED, WORKFLOW_REQUESTS, REQUIREMENTS_ANALYZED,
    WORKFLOWS_GENERATED, INTERFACES_GENERATED, DOCUMENTS_UPLOADED, DOCUMENTS_EXTRACTED,
    CALLS_RECORDED, CALLS_ANALYZED, AGENT_TASKS_REQUESTED, AGENT_TASKS_COMPLETED,
    AGENTS_REGISTERED, MODEL_USAGE, ALERTS, AUDIT, RESTRICTED_FIELDS, DEAD_LETTERS,
    CUSTOMERS_RAW, DELIVERIES_OUTBOX, DELIVERIES_COMPLETED, DELIVERIES_OUTCOMES,
    DEALERSHIP_EVENTS, WORKFLOW_RUN_INPUTS, WORKFLOW_RUNS,
)


def by_name(name: str, prefix: str) -> TopicSpec:
    """The spec of a full topic name, or of a bare suffix such as `conversations.redacted`."""
    for spec in CATALOG:
        if name in (spec.name(prefix), spec.suffix):
            return spec
    known = ", ".join(s.suffix for s in CATALOG)
    raise KeyError(f"unknown topic {name!r}; known topics: {known}")


def assert_raw_readers(reader: str, spec: TopicSpec) -> None:
    """Refuse to let `reader` consume a raw-PII topic it is not listed for."""
    if spec.raw_pii and reader not in spec.readers:
        raise PermissionError(
            f"{reader!r} may not read raw-PII topic {spec.suffix!r} (readers: {spec.readers})")
