"""Action agents: the workflow steps that act (`send_email`, `send_sms`).

An action agent does not send anything itself: it checks the message (its placeholders are
known, it fits the channel) and returns it as a `Delivery`; the step puts it on the outbox
topic and the delivery connector sends it (connectors/delivery/). So a task that runs twice
(a crash before its position was stored) asks for the same delivery ids, and the connector
sends each once.

Invariant: a delivery id is derived from (tenant, task id, index), never random.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from processors.ai_agents.model import AgentTask, AiAgent, Capability, Delivery, TaskOutcome
from processors.ai_agents.placeholders import UnknownPlaceholder, check
from schemas.ids import CUSTOMER_REF_PATTERN, VARIANT_PATTERN, derived_id

#: one SMS is 160 GSM-7 characters; three segments are as long as a reminder should be
SMS_MAX_CHARS = 480


def delivery_id(tenant_id: str, task_id: str, index: int = 0) -> str:
    return derived_id(f"{tenant_id}/{task_id}/{index}", "delivery")


class EmailInput(BaseModel):
    customer_ref: str = Field(min_length=1, max_length=128, pattern=CUSTOMER_REF_PATTERN,
                              description="the customer's id in the CRM (not an address)")
    subject: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1, max_length=20_000)
    variant: str | None = Field(default=None, max_length=64, pattern=VARIANT_PATTERN)


class SmsInput(BaseModel):
    customer_ref: str = Field(min_length=1, max_length=128, pattern=CUSTOMER_REF_PATTERN)
    body: str = Field(min_length=1, max_length=SMS_MAX_CHARS)
    variant: str | None = Field(default=None, max_length=64, pattern=VARIANT_PATTERN)


class Queued(BaseModel):
    channel: str
    delivery_ids: list[str]


class _SendAgent(AiAgent):
    CHANNEL: str

    def _queue(self, task: AgentTask, customer_ref: str, subject: str, body: str,
               variant: str | None) -> TaskOutcome:
        try:
            check(subject)
            check(body)
        except UnknownPlaceholder as exc:
            return TaskOutcome(success=False, error=f"task {task.task_id}: {exc}")
        delivery = Delivery(delivery_id=delivery_id(task.tenant_id, task.task_id),
                            channel=self.CHANNEL,  # type: ignore[arg-type]
                            customer_ref=customer_ref, subject=subject, body=body,
                            variant=variant)
        return TaskOutcome(success=True, confidence=1.0, deliveries=(delivery,),
                           output={"channel": self.CHANNEL,
                                   "delivery_ids": [delivery.delivery_id]})


class SendEmailAgent(_SendAgent):
    DESCRIPTION = ("Queues an email to a customer (by CRM id) for the SMTP delivery connector; "
                   "placeholders are filled at sending")
    CHANNEL = "email"
    CAPABILITIES = (Capability(
        task_type="send_email", description="email a customer (SMTP, once per task)",
        input_model=EmailInput, output_model=Queued),)

    def __init__(self, agent_id: str = "send-email-1") -> None:
        super().__init__(agent_id)

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        assert isinstance(payload, EmailInput)
        return self._queue(task, payload.customer_ref, payload.subject, payload.body,
                           payload.variant)


class SendSmsAgent(_SendAgent):
    DESCRIPTION = ("Queues a text message to a customer (by CRM id) for the SMS gateway "
                   "connector; placeholders are filled at sending")
    CHANNEL = "sms"
    CAPABILITIES = (Capability(
        task_type="send_sms", description="text a customer (SMS gateway, once per task)",
        input_model=SmsInput, output_model=Queued),)

    def __init__(self, agent_id: str = "send-sms-1") -> None:
        super().__init__(agent_id)

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        assert isinstance(payload, SmsInput)
        return self._queue(task, payload.customer_ref, "", payload.body, payload.variant)
