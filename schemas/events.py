"""Pydantic models of every event the product carries. The Avro schemas in schemas/avro/ are
generated from these (`auterity schemas export`) and checked for drift and backward
compatibility by the test suite.

Invariants enforced here:
- every event has a non-empty `event_id`, a non-empty `tenant_id` (the dealership),
  a timezone-aware `occurred_at` and a `schema_version`;
- events are immutable once built (`frozen`), and unknown fields are rejected.
Free-form structures (workflow definitions, interface definitions, agent I/O) travel as JSON
strings so the Avro schemas stay stable while their own JSON schemas evolve.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from schemas.dealership_facts import ATTRIBUTES, FACTS
from schemas.ids import CUSTOMER_REF_PATTERN, NEW_WORKFLOW, VARIANT_PATTERN, derived_id

Channel = Literal["chat", "sms", "email", "phone", "web", "other"]
SenderRole = Literal["customer", "agent", "system", "bot"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class Record(BaseModel):
    """A nested Avro record (not an event on its own).

    Invariants: timestamps hold whole milliseconds (Avro timestamp-millis), so an event
    round-trips through the wire format unchanged; no string holds a NUL character (no
    downstream store accepts it, so it is refused here, at the edge).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _millisecond_timestamps(cls, v: object) -> object:
        if isinstance(v, datetime):
            return v.replace(microsecond=v.microsecond // 1000 * 1000)
        if isinstance(v, str) and "\x00" in v:
            raise ValueError("contains a NUL (0x00) character")
        return v


class Event(Record):
    """Fields every event carries."""

    event_id: str = Field(min_length=1, max_length=128)
    tenant_id: str = Field(min_length=1, max_length=128, description="the dealership")
    occurred_at: AwareDatetime
    schema_version: int = 1

    @field_validator("tenant_id")
    @classmethod
    def _tenant_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("tenant_id is blank")
        return v


class EntityFinding(Record):
    entity_type: str
    start: int
    end: int
    score: float


class ConversationMessageRaw(Event):
    """A message from a CRM chat/SMS/email thread, as the dealership system sent it (raw PII)."""

    conversation_id: str = Field(min_length=1)
    channel: Channel = "chat"
    sender_role: SenderRole = "customer"
    user_id: str | None = None
    source_system: str = "crm"
    text: str
    ingested_at: AwareDatetime | None = None


class ConversationMessageRedacted(Event):
    """The same message after PII redaction: pseudonyms replace every finding."""

    source_event_id: str
    conversation_id: str
    channel: Channel = "chat"
    sender_role: SenderRole = "customer"
    user_id: str | None = None
    source_system: str = "crm"
    redacted_text: str
    entities: list[EntityFinding] = Field(default_factory=list)
    ingested_at: AwareDatetime | None = None
    redacted_at: AwareDatetime
    redaction_ms: float = 0.0


class WorkflowRequest(Event):
    """A (redacted) chat message asking the workflow builder for something.

    `workflow_id` names the workflow a modify/debug/optimize request is about;
    `error_context` carries the failure a debug request reports (redacted too).
    """

    conversation_id: str
    user_id: str | None = None
    redacted_text: str
    workflow_id: str | None = None
    source_event_id: str | None = None
    error_context: str | None = None


class RequirementAnalysis(Event):
    request_event_id: str
    conversation_id: str | None = None
    intent: str
    domain: str
    channels: list[str] = Field(default_factory=list)
    timing: str | None = None
    entities: dict[str, str] = Field(default_factory=dict)
    requirements: list[str] = Field(default_factory=list)
    constraints: list[str] = Field(default_factory=list)
    success_criteria: list[str] = Field(default_factory=list)
    confidence: float = 0.0
    user_id: str | None = None
    redacted_text: str = ""
    timing_offset: str | None = Field(default=None, description="ISO 8601, e.g. -P3D")
    workflow_id: str | None = None
    error_context: str | None = None
    output_redactions: dict[str, int] = Field(
        default_factory=dict, description="PII the output firewall found and redacted in this "
        "event's model-written text, per entity type (processors/pii/output_firewall.py)")

    @property
    def target_workflow_id(self) -> str:
        """The workflow this analysis is about: the one named (a revision), else the id a
        create gives its new workflow. The topic is keyed by it, so one workflow's requests
        stay in one partition, in order (the builder's version table relies on that)."""
        if self.workflow_id and self.intent != "create_workflow":
            return self.workflow_id
        return derived_id(self.event_id, NEW_WORKFLOW)


class GeneratedWorkflow(Event):
    workflow_id: str
    analysis_event_id: str | None = None
    user_id: str | None = None
    name: str
    description: str = ""
    requirements_json: str = "{}"
    definition_json: str
    generation_metadata_json: str = "{}"
    valid: bool
    errors: list[str] = Field(default_factory=list)
    status: str = "draft"
    conversation_id: str | None = None
    version: int = 1
    operation: str = Field(default="create", description="create, modify, debug or optimize")
    diff_json: str = Field(default="[]", description="RFC 6902 patch from the previous version")
    diagnosis_json: str = "{}"
    output_redactions: dict[str, int] = Field(
        default_factory=dict, description="PII the output firewall found and redacted in this "
        "event's model-written text, per entity type (processors/pii/output_firewall.py)")


class GeneratedInterface(Event):
    interface_id: str
    workflow_id: str
    definition_json: str
    component_metadata_json: str = "{}"
    output_redactions: dict[str, int] = Field(
        default_factory=dict, description="PII the output firewall found and redacted in this "
        "event's model-written text, per entity type (processors/pii/output_firewall.py)")
    workflow_version: int = 1


class DocumentUploaded(Event):
    document_id: str
    filename: str = ""
    content_type: str
    size_bytes: int
    sha256: str
    blob_ref: str | None = None
    inline_bytes: bytes | None = None
    document_kind: str | None = None


class DocumentExtracted(Event):
    """OCR result of one upload. Invariant: no raw PII — `redacted_text`, `blocks_json` and
    `fields` hold pseudonym labels (`<PERSON_1>`) where the document had PII; the raw values
    of `pii_fields` go only to the restricted store (RestrictedFields)."""

    document_id: str
    source_event_id: str
    redacted_text: str
    confidence: float
    pages: int
    fields: dict[str, str | None] = Field(default_factory=dict)
    blocks_json: str = "[]"
    processing_ms: float = 0.0
    document_kind: str | None = None
    word_count: int = 0
    corrections: list[str] = Field(default_factory=list)
    pii_fields: list[str] = Field(default_factory=list)
    output_redactions: dict[str, int] = Field(
        default_factory=dict, description="PII the output firewall found and redacted in this "
        "event's model-written text, per entity type (processors/pii/output_firewall.py)")


class CallRecorded(Event):
    call_id: str
    content_type: str
    size_bytes: int
    sha256: str
    blob_ref: str | None = None
    inline_bytes: bytes | None = None
    duration_s: float | None = None
    direction: Literal["inbound", "outbound"] = "inbound"


class TranscriptSegment(Record):
    start: float
    end: float
    speaker: str
    redacted_text: str
    sentiment: float | None = None
    confidence: float | None = None


class ActionItem(Record):
    task: str
    assignee: str | None = None
    deadline: str | None = None
    priority: str = "medium"
    deadline_phrase: str | None = None
    source: str = "rules"


class CallAnalyzed(Event):
    call_id: str
    source_event_id: str
    redacted_transcript: str
    language: str = "en"
    segments: list[TranscriptSegment] = Field(default_factory=list)
    sentiment: float | None = None
    summary: str = ""
    action_items: list[ActionItem] = Field(default_factory=list)
    score_json: str = "{}"
    processing_ms: float = 0.0
    duration_s: float = 0.0
    speakers: list[str] = Field(default_factory=list)
    sentiment_label: str = ""
    summary_source: str = ""
    stress_json: str = "{}"
    confidence: float | None = None
    pii_fields: list[str] = Field(default_factory=list)
    output_redactions: dict[str, int] = Field(
        default_factory=dict, description="PII the output firewall found and redacted in this "
        "event's model-written text, per entity type (processors/pii/output_firewall.py)")


class RestrictedFields(Event):
    """Raw PII values a media step extracted (a document's customer name, VIN, licence
    number; a caller's name and number). Raw layer: only the restricted projection reads
    the topic, and it writes a table ordinary readers cannot select from."""

    subject_kind: Literal["document", "call", "customer"]
    subject_id: str
    source_event_id: str
    fields: dict[str, str | None] = Field(default_factory=dict)


class CustomerContact(Event):
    """A customer's contact record as the dealership's CRM holds it (raw PII: only the
    restricted projection reads the topic). Deliveries address a customer by `customer_id`
    and take the address from here at the moment of sending, so no prompt, task or outbox
    record ever holds it. An opt-out (`email_opt_in`/`sms_opt_in` False) stops deliveries on
    that channel."""

    customer_id: str = Field(min_length=1, max_length=128)
    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    email_opt_in: bool = True
    sms_opt_in: bool = True


class AgentTaskRequested(Event):
    """A request for one AI agent task. Its input must already be pseudonymised (like
    workflow.requests, the topic is no raw-PII topic)."""

    task_id: str = Field(min_length=1, max_length=128)
    agent_type: str = Field(max_length=64)
    task_type: str = Field(min_length=1, max_length=64)
    input_json: str = Field(max_length=256 * 1024)
    workflow_id: str | None = None
    user_id: str | None = None
    context_json: str = Field(
        default="{}", max_length=32 * 1024,
        description="short-term context (a JSON object): a workflow run's state, the "
                    "previous step's output; pseudonymised like the input")


class AgentCapabilityRecord(Record):
    """One capability an AI agent declares (processors/ai_agents/model.py `Capability`)."""

    task_type: str
    description: str
    input_schema_json: str = "{}"
    output_schema_json: str = "{}"
    cost_per_operation_usd: float = 0.0


class AgentRegistered(Event):
    """An AI agent a worker runs, with its capabilities. Deployment-wide (`tenant_id` is
    SYSTEM_TENANT): every dealership's tasks may go to it. Its event id is derived from the
    agent id and what it declares, so a restart re-announcing the same agent is a no-op."""

    agent_id: str
    agent_type: str
    description: str = ""
    capabilities: list[AgentCapabilityRecord]
    status: Literal["active", "retired"] = "active"


#: the tenant of deployment-wide events (agent registrations), never a dealership's
SYSTEM_TENANT = "_system"


class AgentTaskCompleted(Event):
    """One AI agent task's result (processors/ai_agents): who ran it and why it was chosen
    (`selection_reason`, processors/ai_agents/selection.py), what it cost, how many tries."""

    task_id: str
    agent_type: str
    task_type: str
    status: Literal["completed", "failed"]
    output_json: str = "{}"
    execution_ms: float = 0.0
    confidence: float | None = None
    error: str | None = None
    agent_id: str | None = None
    cost_usd: float = 0.0
    attempts: int = 1
    selection_reason: str | None = None
    output_redactions: dict[str, int] = Field(
        default_factory=dict, description="PII findings masked in the output, by type")
    memory_text: str = Field(
        default="", description="what the task is remembered by (its type, input and "
                                "outcome, cut; processors/ai_agents/memory.py)")
    recalled_task_ids: list[str] = Field(
        default_factory=list, description="past tasks recalled from memory for this one")
    memory_error: str | None = Field(
        default=None, description="why the task ran without its memory (store unavailable)")


class DeliveryRequested(Event):
    """An outbox record: one message an action agent decided to send (processors/ai_agents/
    actions.py). It names the customer, never an address: `{{customer.first_name}}` style
    placeholders in `subject`/`body` are filled only at delivery, from the restricted layer.
    `delivery_id` is derived from the tenant, the task and the message's index, so a task
    run twice asks for the same deliveries."""

    delivery_id: str
    task_id: str
    channel: Literal["email", "sms"]
    customer_ref: str = Field(min_length=1, max_length=128, pattern=CUSTOMER_REF_PATTERN)
    subject: str = Field(default="", max_length=300)
    body: str = Field(min_length=1, max_length=20_000)
    variant: str | None = Field(default=None, max_length=64, pattern=VARIANT_PATTERN,
                                description="the message variant, for learning what works")
    campaign_id: str | None = Field(default=None, max_length=128,
                                    description="the campaign the message belongs to")
    workflow_id: str | None = None
    output_redactions: dict[str, int] = Field(
        default_factory=dict, description="PII findings the output firewall masked, by type")


class DeliveryCompleted(Event):
    """What became of one delivery: `sent` (once per delivery id), `failed` (with why), or
    `unknown` (a crash interrupted sending over a channel that cannot dedupe: not resent, so
    it cannot arrive twice). No address in it."""

    delivery_id: str
    task_id: str
    channel: Literal["email", "sms"]
    customer_ref: str
    status: Literal["sent", "failed", "unknown"]
    provider: str = ""
    provider_message_id: str | None = None
    attempts: int = 0
    error: str | None = None
    variant: str | None = None
    campaign_id: str | None = None


class DeliveryOutcome(Event):
    """What a customer did with a delivered message, as the CRM, the mailbox or the gateway
    reports it: `replied`, `booked` (an appointment), `unsubscribed`, or `bounced` (the
    message never reached them). Names the delivery by id, never the reply's text; the
    learned patterns (projections/delivery_outcomes_sink.py) count it for the delivery's
    campaign and variant."""

    delivery_id: str = Field(min_length=1, max_length=128)
    outcome: Literal["replied", "booked", "unsubscribed", "bounced"]


Money = Annotated[float, Field(ge=0, le=10_000_000)]
Url = Annotated[str, Field(max_length=2000, pattern=r"^https://[^\s]+$")]
Text = Annotated[str, Field(min_length=1, max_length=500)]
FactId = Annotated[str, Field(min_length=1, max_length=128, pattern=CUSTOMER_REF_PATTERN)]


class DealershipEvent(Event):
    """A dealership fact (schemas/dealership_facts.py `FACTS`: what each is about and which
    of these attributes it must and may carry) about one customer, named by reference.
    Workflows start on it and wait for it (processors/workflows). Keyed by
    (tenant, customer) so one customer's facts stay in order.

    Invariants: `fact` is a known fact; its required attributes are set and no attribute
    outside its contract is; no contact details (they enter through customers.raw)."""

    fact: str = Field(min_length=1, max_length=64)
    customer_ref: str = Field(min_length=1, max_length=128, pattern=CUSTOMER_REF_PATTERN)
    source: str = Field(default="", max_length=64, description="the reporting system")
    appointment_id: FactId | None = None
    lead_id: FactId | None = None
    call_id: FactId | None = None
    repair_order_id: FactId | None = None
    deal_id: FactId | None = None
    order_id: FactId | None = None
    application_id: FactId | None = None
    recall_id: FactId | None = None
    appraisal_id: FactId | None = None
    salesperson_id: FactId | None = None
    advisor_id: FactId | None = None
    appointment_at: AwareDatetime | None = None
    called_at: AwareDatetime | None = None
    offer_expires_at: AwareDatetime | None = None
    lease_end_date: AwareDatetime | None = None
    warranty_expires_at: AwareDatetime | None = None
    service_due: AwareDatetime | None = None
    visit_date: AwareDatetime | None = None
    closing_time: AwareDatetime | None = None
    birthday: AwareDatetime | None = None
    total_amount: Money | None = None
    appraisal_value: Money | None = None
    buyout_amount: Money | None = None
    vehicle: Text | None = None
    trade_vehicle: Text | None = None
    service: Text | None = None
    declined_items: Text | None = None
    part_description: Text | None = None
    missing_documents: Text | None = None
    recall_summary: Text | None = None
    warranty_name: Text | None = None
    vehicles_viewed: Text | None = None
    salesperson_name: Text | None = None
    advisor_name: Text | None = None
    lead_source: str | None = Field(default=None, max_length=32, pattern=r"^[a-z0-9_.-]+$",
                                    description="internet, phone, walk_in, cars.com, ...")
    visit_outcome: str | None = Field(default=None, max_length=32, pattern=r"^[a-z_]+$",
                                      description="sold, unsold, ...")
    reply_code: str | None = Field(default=None, max_length=16, pattern=r"^[A-Za-z0-9]+$")
    channel: Literal["sms", "email", "phone", "chat"] | None = None
    booking_url: Url | None = None
    payment_url: Url | None = None
    upload_url: Url | None = None
    resume_url: Url | None = None
    quote_url: Url | None = None

    @model_validator(mode="after")
    def _contract(self) -> DealershipEvent:
        spec = FACTS.get(self.fact)
        if spec is None:
            raise ValueError(f"fact: unknown fact {self.fact!r} (known: "
                             f"{', '.join(sorted(FACTS))})")
        set_ = {k for k in ATTRIBUTES if getattr(self, k) is not None}
        missing = [k for k in (*spec.required, *(
            (spec.subject_key,) if spec.subject_key else ())) if k not in set_]
        if missing:
            raise ValueError(f"{', '.join(missing)}: required for {self.fact}")
        extra = sorted(set_ - spec.allowed())
        if extra:
            raise ValueError(f"{', '.join(extra)}: not an attribute of {self.fact} (it "
                             f"takes {', '.join(sorted(spec.allowed()))})")
        return self

    def attributes(self) -> dict[str, object]:
        """The fact's attributes that are set (JSON-ready: datetimes as ISO text)."""
        data = self.model_dump(mode="json", include=set(ATTRIBUTES))
        return {k: v for k, v in data.items() if v is not None}

    def subject(self) -> str | None:
        key = FACTS[self.fact].subject_key
        return None if key is None else getattr(self, key)

    def ordering_key(self) -> str:
        """The topic key: one customer's facts in one partition, in order."""
        return f"{self.tenant_id}/{self.customer_ref}"


RunEventKind = Literal[
    "run_started", "step_scheduled", "step_completed", "step_failed", "step_skipped",
    "step_cancelled", "timer_set", "fact_observed", "run_completed", "run_failed",
    "run_cancelled",
]
RunInputKind = Literal["start", "fact", "step_result", "timer", "cancel"]


class WorkflowRunEvent(Event):
    """One fact of a workflow run's history (processors/workflows/runs.py): a run's state is
    the fold of its events, in order, so it can be rebuilt from the log. Written only by the
    run step, keyed by run id; ids derived from the run and the input each answers, so a
    redelivered input repeats the same events."""

    run_id: str = Field(min_length=1, max_length=128)
    workflow_id: str = Field(min_length=1, max_length=128)
    workflow_version: int = 1
    kind: RunEventKind
    input_id: str = Field(default="", max_length=128, description="the input this answers")
    step_id: str | None = None
    attempt: int = 0
    customer_ref: str | None = None
    subject: str | None = None
    task_id: str | None = None
    due_at: AwareDatetime | None = Field(default=None, description="timer_set: when it fires")
    timer: Literal["wait", "retry"] | None = None
    fact: str | None = None
    variables: list[str] = Field(default_factory=list,
                                 description="fact_observed: the variables it set true")
    output_json: str = "{}"
    error: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=2000)
    duration_ms: float | None = Field(default=None, description="step_completed/failed: "
                                      "since the step was scheduled (its attempt) or its "
                                      "timer set; run_*: since the run started")
    definition_json: str = Field(default="", description="run_started: the workflow as it "
                                 "was when the run started (a new version is for new runs)")
    trigger_json: str = Field(default="{}", description="run_started: the fact's attributes")


class WorkflowRunInput(Event):
    """What a run reacts to, keyed by run id so one run's inputs are processed in order by
    one step: its start (from a trigger fact), a later fact about its customer, an agent
    task's result for one of its steps, a timer that came due, a cancellation."""

    run_id: str = Field(min_length=1, max_length=128)
    kind: RunInputKind
    workflow_id: str = Field(default="", max_length=128)
    workflow_version: int = 1
    definition_json: str = ""
    trigger_json: str = "{}"
    customer_ref: str | None = None
    subject: str | None = None
    fact: str | None = None
    step_id: str | None = None
    attempt: int = 0
    task_id: str | None = None
    status: Literal["completed", "failed"] | None = None
    output_json: str = "{}"
    error: str | None = Field(default=None, max_length=2000)
    due_at: AwareDatetime | None = None
    reason: str | None = Field(default=None, max_length=500)


class ModelUsage(Event):
    """One AI model call (cache hits, failures and fallbacks included)."""

    user_id: str | None = None
    operation: str
    model: str
    provider: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float = 0.0
    success: bool = True
    error_class: str | None = None
    cache_hit: bool = False


class Alert(Event):
    alert_id: str
    rule: str
    severity: Literal["info", "warning", "critical"] = "warning"
    message: str
    metric: str | None = None
    value: float | None = None


class AuditRecord(Event):
    actor: str
    action: str
    resource: str
    resource_id: str | None = None
    details_json: str = "{}"


class DeadLetter(Event):
    """An event a step could not process, with why and where it came from.

    The original bytes are kept (`payload`) so `auterity dlq replay` can resend them; the DLQ
    is therefore a raw-layer topic, readable only by operators.
    """

    error_kind: str
    error: str
    step: str
    source_topic: str
    source_partition: int
    source_offset: int
    source_key: bytes | None = None
    payload: bytes = b""
    payload_size: int = 0
    payload_truncated: bool = False


EVENT_MODELS: tuple[type[Event], ...] = (
    ConversationMessageRaw,
    ConversationMessageRedacted,
    WorkflowRequest,
    RequirementAnalysis,
    GeneratedWorkflow,
    GeneratedInterface,
    DocumentUploaded,
    DocumentExtracted,
    CallRecorded,
    CallAnalyzed,
    AgentTaskRequested,
    AgentTaskCompleted,
    AgentRegistered,
    ModelUsage,
    Alert,
    AuditRecord,
    DeadLetter,
    RestrictedFields,
    CustomerContact,
    DeliveryRequested,
    DeliveryCompleted,
    DeliveryOutcome,
    DealershipEvent,
    WorkflowRunEvent,
    WorkflowRunInput,
)
