"""The email campaign agent (`email_campaign`): a sequence of emails per audience segment,
written through the LLM router under a JSON schema, and an audience split between message
variants by what customers did with earlier messages of the campaign.

    segments x variants in use --router (SEQUENCE_SCHEMA)--> `length` emails each
    customers --split_audience(learned scores)--> one variant each
    -> the first email of each customer's sequence on the outbox (placeholders unfilled)

Invariants:
- no customer data reaches a prompt: segments are described by the task (whose input is
  pseudonymised like every task's), customers are CRM references, and the only placeholders
  a message may hold are `placeholders.FIELDS`, filled at delivery from the restricted
  layer; any other placeholder the model writes is removed (counted in the output);
- a variant is an approach (`Variant.approach`: "a friendly service reminder"), the model
  writes its text: what is learned about the variant holds for the next generation;
- the split is a pure function of the learned scores (`split_audience`) and the assignment
  of customers a pure function of (campaign id, customer reference, split): a task run
  twice queues the same deliveries; every choice carries its reason on the output;
- a learning store that cannot be read leaves the split even, and the output says why
  (`learning_error`); it never fails the campaign.

The later emails of a sequence are in the output with their delays; sending them on time is
the workflow orchestrator's (durable timers, issue 12).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, Field, field_validator, model_validator

from processors.ai_agents.actions import delivery_id
from processors.ai_agents.model import AgentTask, AiAgent, Capability, Delivery, TaskOutcome
from processors.ai_agents.placeholders import FIELDS
from processors.llm.gateway import LlmGateway
from schemas.ids import CUSTOMER_REF_PATTERN, VARIANT_PATTERN

OPERATION = "email_campaign"
#: messages of a variant sent before its score is trusted (below: an even split)
MIN_SENT = 3
#: the audience share the best-scoring variant gets once every variant is trusted
EXPLOIT_SHARE = 0.8
#: score lost per unsubscribe (per message sent)
UNSUBSCRIBE_WEIGHT = 2.0
#: customers in one task (each becomes an outbox record stored with the task's answer)
MAX_AUDIENCE = 200
#: (segment, variant) sequences one task may ask for (one model call each, up to the
#: router's 30 s), and how long one attempt of a campaign task may take
MAX_SEQUENCES = 12
CAMPAIGN_TIMEOUT_S = 600.0
DEFAULT_VARIANTS = (("reminder", "a friendly, helpful service reminder"),
                    ("offer", "a limited-time offer with one clear benefit"))
ANY_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
#: a pseudonym label or mask (`<PHONE_NUMBER>`, `<PERSON_1>`) a model copies into a message:
#: a customer must never read one
LABEL = re.compile(r"<[A-Z][A-Z0-9_]*>")


class Variant(BaseModel):
    name: str = Field(pattern=VARIANT_PATTERN)
    approach: str = Field(min_length=3, max_length=200)


class Segment(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    description: str = Field(min_length=1, max_length=500)
    customer_refs: list[Annotated[str, Field(pattern=CUSTOMER_REF_PATTERN)]] = Field(
        min_length=1, max_length=MAX_AUDIENCE)


class CampaignInput(BaseModel):
    campaign_id: str = Field(min_length=1, max_length=128)
    objective: str = Field(min_length=3, max_length=500)
    segments: list[Segment] = Field(min_length=1, max_length=10)
    length: int = Field(default=1, ge=1, le=5, description="emails in the sequence")
    variants: list[Variant] = Field(
        default_factory=lambda: [Variant(name=n, approach=a) for n, a in DEFAULT_VARIANTS],
        min_length=1, max_length=4)

    @field_validator("variants")
    @classmethod
    def _distinct(cls, variants: list[Variant]) -> list[Variant]:
        if len({v.name for v in variants}) != len(variants):
            raise ValueError("variant names must be distinct")
        return variants

    @model_validator(mode="after")
    def _bounded(self) -> CampaignInput:
        # one model call per (segment, variant): bounded so a task fits CAMPAIGN_TIMEOUT_S
        if len(self.segments) * len(self.variants) > MAX_SEQUENCES:
            raise ValueError(f"{len(self.segments)} segments x {len(self.variants)} variants "
                             f"is more than {MAX_SEQUENCES} sequences per task: split the "
                             "campaign into several tasks")
        return self


class Email(BaseModel):
    subject: str  # cut to SUBJECT_CHARS by emails_from
    body: str
    delay_days: int


class Sequence_(BaseModel):
    segment: str
    variant: str
    emails: list[Email]


class CampaignOutput(BaseModel):
    campaign_id: str
    shares: dict[str, float]
    split_reason: str
    assigned: dict[str, int]
    sequences: list[Sequence_]
    queued: int
    removed_placeholders: int = 0
    learning_error: str | None = None


@dataclass(frozen=True)
class VariantScore:
    """What customers did with a variant's messages (the view agent_learned_patterns)."""

    sent: int = 0
    engaged: int = 0
    unsubscribed: int = 0

    def score(self) -> float:
        """Laplace-smoothed engagement (replied or booked), less UNSUBSCRIBE_WEIGHT per
        unsubscribe, both per message sent."""
        return (self.engaged + 1 - UNSUBSCRIBE_WEIGHT * self.unsubscribed) / (self.sent + 2)


class VariantStats(Protocol):
    def variant_scores(self, tenant_id: str, campaign_id: str, channel: str
                       ) -> Mapping[str, VariantScore]:
        """The learned scores of a campaign's variants on `channel` (blocking)."""


@dataclass(frozen=True)
class Split:
    shares: dict[str, float]
    reason: str


def split_audience(variants: Sequence[str], scores: Mapping[str, VariantScore],
                   min_sent: int = MIN_SENT, exploit_share: float = EXPLOIT_SHARE) -> Split:
    """How the audience is shared between `variants` (module doc): evenly until each has
    `min_sent` messages sent, then `exploit_share` to the best score, the rest evenly."""
    if not variants:
        raise ValueError("no variant to split the audience between")
    stats = {v: scores.get(v, VariantScore()) for v in variants}
    if len(variants) == 1:
        return Split({variants[0]: 1.0}, "one variant")
    untried = [v for v in variants if stats[v].sent < min_sent]
    if untried:
        return Split({v: 1 / len(variants) for v in variants},
                     f"cold start: {', '.join(untried)} sent fewer than {min_sent} messages")
    ranked = sorted(variants, key=lambda v: (-stats[v].score(), v))
    rest = (1 - exploit_share) / (len(variants) - 1)
    seen = ", ".join(f"{v} {stats[v].engaged}/{stats[v].sent} engaged"
                     + (f" {stats[v].unsubscribed} unsubscribed" if stats[v].unsubscribed else "")
                     for v in ranked)
    return Split({v: exploit_share if v == ranked[0] else rest for v in variants},
                 f"learned: {seen}; {ranked[0]} gets {exploit_share:.0%}")


def _rank(campaign_id: str, customer_ref: str) -> bytes:
    return hashlib.blake2b(f"{campaign_id}/{customer_ref}".encode(), digest_size=8).digest()


def assign(customers: Sequence[str], campaign_id: str, split: Split) -> dict[str, str]:
    """customer -> variant: counts by the largest remainder of the shares, customers in an
    order fixed by (campaign, customer) so the same audience gets the same variants."""
    n = len(customers)
    names = list(split.shares)
    exact = {v: split.shares[v] * n for v in names}
    counts = {v: int(exact[v]) for v in names}
    by_remainder = sorted(names, key=lambda v: (-(exact[v] - counts[v]), names.index(v)))
    for v in by_remainder[: n - sum(counts.values())]:
        counts[v] += 1
    ordered = sorted(customers, key=lambda c: _rank(campaign_id, c))
    out: dict[str, str] = {}
    start = 0
    for v in names:
        for c in ordered[start:start + counts[v]]:
            out[c] = v
        start += counts[v]
    return out


#: a subject longer than this is cut at a word boundary (a small model writes the body into
#: the subject now and then; the schema cannot bound it: local_provider.GRAMMAR_MAX_REPEAT)
SUBJECT_CHARS = 100


def sequence_schema(length: int) -> dict[str, Any]:
    email = {"type": "object", "properties": {
        "subject": {"type": "string", "minLength": 1},
        "body": {"type": "string", "minLength": 1},
        "delay_days": {"type": "integer", "minimum": 0, "maximum": 60}},
        "required": ["subject", "body", "delay_days"], "additionalProperties": False}
    return {"type": "object", "properties": {"emails": {
        "type": "array", "items": email, "minItems": length, "maxItems": length}},
        "required": ["emails"], "additionalProperties": False}


def prompt(payload: CampaignInput, segment: Segment, variant: Variant) -> list[dict[str, str]]:
    system = (
        "You write emails for a car dealership's customers. Answer as JSON "
        '{"emails": [{"subject": "...", "body": "...", "delay_days": 0}]} with exactly '
        f"{payload.length} email(s); a subject is at most 8 words. Start each body with "
        f"\"Hi {{{{customer.first_name}}}},\". "
        "Use no other placeholder and write no names, phone numbers, addresses or prices.")
    user = (f"Campaign objective: {payload.objective}\n"
            f"Audience: {segment.name}: {segment.description}\n"
            f"Approach: {variant.approach}\n"
            "The first email goes out now (delay_days 0); each later one delay_days after "
            "the previous.")
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def keep_known_placeholders(text: str) -> tuple[str, int]:
    """`text` without the placeholders a delivery could not fill and the pseudonym labels
    (LABEL) the model copied, and how many went."""
    removed = 0

    def drop(m: re.Match[str]) -> str:
        nonlocal removed
        if m.group(1) in FIELDS:
            return m.group(0)
        removed += 1
        return ""

    labels = len(LABEL.findall(text))
    text = LABEL.sub("", ANY_PLACEHOLDER.sub(drop, text))
    return re.sub(r"[ \t]{2,}", " ", text).strip(), removed + labels


def _cut(text: str, limit: int) -> str:
    """`text` at most `limit` characters, cut at the last word boundary before it."""
    if len(text) <= limit:
        return text
    head = text[:limit].rsplit(" ", 1)[0].rstrip(" ,.;:-")
    return (head or text[:limit]) + "…"


def emails_from(data: Mapping[str, Any], length: int) -> tuple[list[Email], int]:
    """The model's emails (validated, placeholders cleaned; the first one sent at once)."""
    raw = data.get("emails")
    if not isinstance(raw, list) or len(raw) != length:
        raise ValueError(f"the model wrote {len(raw) if isinstance(raw, list) else 'no'} "
                         f"emails, {length} asked")
    emails, removed = [], 0
    for i, item in enumerate(raw):
        e = Email.model_validate(item)
        subject, r1 = keep_known_placeholders(e.subject)
        body, r2 = keep_known_placeholders(e.body)
        if not subject or not body:
            raise ValueError(f"the model wrote an empty subject or body in email {i + 1}")
        emails.append(Email(subject=_cut(subject, SUBJECT_CHARS), body=body,
                            delay_days=0 if i == 0 else max(0, e.delay_days)))
        removed += r1 + r2
    return emails, removed


class EmailCampaignAgent(AiAgent):
    DESCRIPTION = ("Writes an email sequence per audience segment through the LLM router and "
                   "shares the audience between message variants by what customers did "
                   "with earlier messages (replies, bookings, unsubscribes)")
    CAPABILITIES = (Capability(
        task_type="email_campaign", description="email sequence per segment; first email "
        "queued per customer, variant chosen by learned engagement",
        input_model=CampaignInput, output_model=CampaignOutput,
        timeout_s=CAMPAIGN_TIMEOUT_S),)

    def __init__(self, gateway: LlmGateway, stats: VariantStats | None,
                 agent_id: str = "email-campaign-1") -> None:
        super().__init__(agent_id)
        self.gateway = gateway
        self.stats = stats

    async def _scores(self, task: AgentTask, campaign_id: str
                      ) -> tuple[Mapping[str, VariantScore], str | None]:
        if self.stats is None:
            return {}, "no learning store configured"
        try:
            return await asyncio.to_thread(self.stats.variant_scores, task.tenant_id,
                                           campaign_id, "email"), None
        except Exception as exc:  # noqa: BLE001 - reported on the output (module doc)
            return {}, f"learned patterns unavailable: {type(exc).__name__}: {str(exc)[:200]}"

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        assert isinstance(payload, CampaignInput)
        segment_of: dict[str, Segment] = {}
        for segment in payload.segments:
            for ref in segment.customer_refs:
                segment_of.setdefault(ref, segment)  # a customer in two segments: the first
        if len(segment_of) > MAX_AUDIENCE:
            return TaskOutcome(success=False, error=f"task {task.task_id}: {len(segment_of)} "
                               f"customers, at most {MAX_AUDIENCE} per task (split it)")
        scores, learning_error = await self._scores(task, payload.campaign_id)
        names = [v.name for v in payload.variants]
        split = split_audience(names, scores)
        chosen = assign(list(segment_of), payload.campaign_id, split)
        variants = {v.name: v for v in payload.variants}
        needed = sorted({(segment_of[c].name, v) for c, v in chosen.items()})
        segments = {s.name: s for s in payload.segments}
        written: dict[tuple[str, str], list[Email]] = {}
        removed, cost = 0, 0.0
        for seg_name, var_name in needed:
            answer = await asyncio.to_thread(
                self.gateway.complete_json, operation=OPERATION, tenant_id=task.tenant_id,
                messages=prompt(payload, segments[seg_name], variants[var_name]),
                schema=sequence_schema(payload.length),
                max_tokens=min(900, 220 * payload.length + 80))
            cost += sum(u.cost_usd for u in answer.usage)
            try:
                written[(seg_name, var_name)], r = emails_from(answer.data, payload.length)
            except ValueError as exc:
                return TaskOutcome(success=False, cost_usd=cost, error=(
                    f"task {task.task_id}: segment {seg_name}, variant {var_name}: {exc}"))
            removed += r
        deliveries = []
        for index, customer in enumerate(sorted(chosen, key=list(segment_of).index)):
            first = written[(segment_of[customer].name, chosen[customer])][0]
            deliveries.append(Delivery(
                delivery_id=delivery_id(task.tenant_id, task.task_id, index), channel="email",
                customer_ref=customer, subject=first.subject, body=first.body,
                variant=chosen[customer], campaign_id=payload.campaign_id))
        assigned = {v: sum(1 for c in chosen.values() if c == v) for v in names}
        output = CampaignOutput(
            campaign_id=payload.campaign_id, shares=split.shares, split_reason=split.reason,
            assigned=assigned, queued=len(deliveries), removed_placeholders=removed,
            learning_error=learning_error,
            sequences=[Sequence_(segment=s, variant=v, emails=e)
                       for (s, v), e in sorted(written.items())])
        return TaskOutcome(success=True, output=output.model_dump(), cost_usd=cost,
                           confidence=1.0 if not removed else 0.8,
                           deliveries=tuple(deliveries))
