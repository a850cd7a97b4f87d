"""The customer intelligence agent (`customer_profile`, the spec's CompanyIntelligenceAgent
for a dealership): a customer's or fleet account's profile from what the stream already
holds, enriched by external providers when they are configured.

    FactStore (Postgres: conversations, call analyses, document extractions, CRM fields and
    tasks, delivery engagement) + Enricher (connectors/enrichment: VIN decoders,
    firmographics) -> Profile, confidence = the share of COVERAGE that had data

Invariants:
- the profile holds only what the pipeline already holds pseudonymised (redacted call
  summaries, extraction fields without the PII ones, CRM fields, counts): a VIN read from
  the restricted layer is used as an enrichment key and never appears in the output, nor
  does any provider field that echoes it;
- every enrichment source asked is reported with its outcome (`ok`, or the reason it failed:
  unreachable, timeout, http_401, ...); a failing source lowers coverage, it never fails
  the profile and is never skipped silently;
- a store that cannot be read fails the task (a profile without its facts would be
  confidently wrong).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, model_validator

from processors.ai_agents.model import AgentTask, AiAgent, Capability, TaskOutcome
from schemas.ids import CUSTOMER_REF_PATTERN

#: what a profile can cover; confidence is the share covered
COVERAGE = ("conversations", "calls", "documents", "vehicles", "service_history", "crm",
            "engagement")
#: document kinds that are service history
SERVICE_KINDS = frozenset({"repair_order", "service_invoice", "inspection", "warranty_claim"})
#: extraction fields never copied into a profile (raw PII lives in the restricted layer)
PII_FIELDS = frozenset({"vin", "customer_name", "phone", "address", "email", "licence_plate",
                        "license_plate", "callback_number"})
MAX_IDS = 50


class ProfileInput(BaseModel):
    customer_ref: str | None = Field(default=None, min_length=1, max_length=128,
                                     pattern=CUSTOMER_REF_PATTERN)
    account_domain: str | None = Field(default=None, min_length=3, max_length=253,
                                       description="a fleet account's company domain")
    conversation_ids: list[str] = Field(default_factory=list, max_length=MAX_IDS)
    call_ids: list[str] = Field(default_factory=list, max_length=MAX_IDS)
    document_ids: list[str] = Field(default_factory=list, max_length=MAX_IDS)
    enrich: bool = True

    @model_validator(mode="after")
    def _names_someone(self) -> ProfileInput:
        if self.customer_ref is None and self.account_domain is None:
            raise ValueError("a profile needs customer_ref or account_domain")
        return self


class ConversationFact(BaseModel):
    conversation_id: str
    messages: int
    channels: list[str]
    first_at: datetime
    last_at: datetime


class CallFact(BaseModel):
    call_id: str
    summary: str = ""
    sentiment: float | None = None
    sentiment_label: str = ""
    call_score: int | None = None
    appointment_set: bool = False
    action_items: list[str] = Field(default_factory=list)
    created_at: datetime


class DocumentFact(BaseModel):
    document_id: str
    kind: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime


class Engagement(BaseModel):
    sent: int = 0
    engaged: int = 0
    unsubscribed: int = 0
    bounced: int = 0


class Facts(BaseModel):
    """What the stream holds about the subject (a FactStore fills it)."""

    conversations: list[ConversationFact] = Field(default_factory=list)
    calls: list[CallFact] = Field(default_factory=list)
    documents: list[DocumentFact] = Field(default_factory=list)
    vehicle_keys: list[str] = Field(default_factory=list, description="VINs from the "
                                    "restricted layer: enrichment keys only, never output")
    crm_fields: dict[str, Any] = Field(default_factory=dict)
    open_tasks: int = 0
    engagement: Engagement = Engagement()


class FactStore(Protocol):
    def facts(self, tenant_id: str, request: ProfileInput) -> Facts:
        """The subject's facts (blocking; raises if the store cannot be read)."""


class Enrichment(BaseModel):
    source: str
    kind: Literal["vehicle", "organization"]
    status: Literal["ok", "failed"]
    reason: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)


class Enricher(Protocol):
    def enrich(self, kind: str, key: str) -> list[Enrichment]:
        """One outcome per configured source taking `kind` (blocking; never raises for a
        source's failure: it is an outcome)."""


class Profile(BaseModel):
    customer_ref: str | None
    account_domain: str | None
    confidence: float
    coverage: dict[str, bool]
    conversations: dict[str, Any]
    calls: dict[str, Any]
    vehicles: list[dict[str, Any]]
    service_history: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    crm: dict[str, Any]
    engagement: dict[str, Any]
    organization: dict[str, Any]
    enrichment: list[dict[str, Any]]
    summary: str


def _without_keys(fields: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    """Provider fields without any that name PII or hold an enrichment key (alone or
    inside a longer string: "Decoded 1FTFW...: Ford")."""
    return {k: v for k, v in fields.items()
            if k.lower() not in PII_FIELDS
            and not (isinstance(v, str) and any(key in v.upper() for key in keys))}


def build_profile(request: ProfileInput, facts: Facts, enrichments: list[Enrichment]
                  ) -> Profile:
    """The profile of `facts` and `enrichments` (module doc); pure."""
    keys = {k.upper() for k in facts.vehicle_keys}
    vehicles = [{"source": e.source, **_without_keys(e.fields, keys)}
                for e in enrichments if e.kind == "vehicle" and e.status == "ok"]
    vehicles += [{"source": f"document {d.document_id}",
                  **{k: v for k, v in d.fields.items() if k in ("vehicle", "make", "model",
                                                                 "year", "mileage")}}
                 for d in facts.documents
                 if any(k in d.fields for k in ("vehicle", "make", "model"))]
    organization = {e.source: _without_keys(e.fields, keys) for e in enrichments
                    if e.kind == "organization" and e.status == "ok"}
    docs = sorted(facts.documents, key=lambda d: d.created_at)
    service = [{"document_id": d.document_id, "kind": d.kind,
                "date": d.created_at.date().isoformat(),
                **{k: v for k, v in d.fields.items() if k in ("mileage", "total", "services",
                                                               "ro_number")}}
               for d in docs if d.kind in SERVICE_KINDS]
    calls = sorted(facts.calls, key=lambda c: c.created_at)
    sentiments = [c.sentiment for c in calls if c.sentiment is not None]
    call_view: dict[str, Any] = {"count": len(calls)}
    if calls:
        call_view.update(
            avg_sentiment=round(sum(sentiments) / len(sentiments), 3) if sentiments else None,
            appointments_set=sum(c.appointment_set for c in calls),
            last_summary=calls[-1].summary, last_at=calls[-1].created_at.isoformat(),
            action_items=[a for c in calls for a in c.action_items][:20])
    convs = facts.conversations
    conv_view: dict[str, Any] = {"count": len(convs)}
    if convs:
        conv_view.update(messages=sum(c.messages for c in convs),
                         channels=sorted({ch for c in convs for ch in c.channels}),
                         last_contact=max(c.last_at for c in convs).isoformat())
    e = facts.engagement
    engagement = {**e.model_dump(), "engagement_rate": round(e.engaged / e.sent, 3)
                  if e.sent else None}
    coverage = {"conversations": bool(convs), "calls": bool(calls), "documents": bool(docs),
                "vehicles": bool(vehicles), "service_history": bool(service),
                "crm": bool(facts.crm_fields or facts.open_tasks), "engagement": e.sent > 0}
    if request.account_domain is not None:
        coverage["organization"] = bool(organization)
    confidence = round(sum(coverage.values()) / len(coverage), 3)
    subject = request.customer_ref or request.account_domain
    summary = (f"{subject}: {len(convs)} conversation(s), {len(calls)} call(s), "
               f"{len(docs)} document(s), {len(service)} service visit(s), "
               f"{len(vehicles)} vehicle record(s); {e.sent} message(s) sent, "
               f"{e.engaged} engaged; coverage {confidence:.0%}")
    return Profile(
        customer_ref=request.customer_ref, account_domain=request.account_domain,
        confidence=confidence, coverage=coverage, conversations=conv_view, calls=call_view,
        vehicles=vehicles, service_history=service,
        documents=[{"document_id": d.document_id, "kind": d.kind,
                    "date": d.created_at.date().isoformat(),
                    "fields": {k: v for k, v in d.fields.items() if k not in PII_FIELDS}}
                   for d in docs],
        crm={**facts.crm_fields, "open_tasks": facts.open_tasks}, engagement=engagement,
        organization=organization,
        enrichment=[{"source": x.source, "kind": x.kind, "status": x.status,
                     "reason": x.reason} for x in enrichments],
        summary=summary)


class CustomerIntelligenceAgent(AiAgent):
    DESCRIPTION = ("Builds a customer or fleet-account profile from the conversations, calls, "
                   "documents, CRM and engagement the stream holds, enriched by configured "
                   "providers; confidence from coverage")
    CAPABILITIES = (Capability(
        task_type="customer_profile", description="a customer's or fleet account's profile "
        "(pseudonymised), with coverage and every enrichment source's outcome",
        input_model=ProfileInput, output_model=Profile),)

    def __init__(self, store: FactStore, enricher: Enricher | None = None,
                 agent_id: str = "customer-intelligence-1") -> None:
        super().__init__(agent_id)
        self.store = store
        self.enricher = enricher

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        assert isinstance(payload, ProfileInput)
        facts = await asyncio.to_thread(self.store.facts, task.tenant_id, payload)
        enrichments: list[Enrichment] = []
        if payload.enrich and self.enricher is not None:
            asks = [("vehicle", k) for k in dict.fromkeys(facts.vehicle_keys)][:10]
            if payload.account_domain:
                asks.append(("organization", payload.account_domain))
            for kind, key in asks:
                enrichments += await asyncio.to_thread(self.enricher.enrich, kind, key)
        profile = build_profile(payload, facts, enrichments)
        return TaskOutcome(success=True, confidence=profile.confidence,
                           output=profile.model_dump(mode="json"))
