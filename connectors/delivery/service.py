"""One outbox record, sent once: claim it in the ledger, fill the template from the
restricted layer, send with retries, record what happened.

Invariants:
- a delivery id reaches a sender at most once per claim, and a final state in the ledger
  is never sent again: a redelivered outbox record is answered with the recorded outcome
  (the same `DeliveryCompleted` event id);
- a claim found `sending` (a crash interrupted the previous attempt) is sent again only
  over an idempotent channel (the SMS gateway dedupes on the delivery id); over SMTP it
  becomes `unknown` and is not resent, so no email can arrive twice;
- what cannot be sent for a reason an operator can fix (the channel is not configured, the
  customer has no contact record) raises `DeliveryRejected` after releasing the claim (a
  dead letter; replaying it once fixed sends); an opt-out, a missing address or value, or a
  provider's refusal is a final `failed`;
- no address, phone number or filled text is put on an event, a log line or an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from connectors.delivery.ledger import DeliveryLedger, Recorded
from connectors.delivery.senders import (
    CHANNEL_SETTING,
    PermanentSendError,
    Sender,
    TransientSendError,
)
from processors.ai_agents.placeholders import MissingValue, UnknownPlaceholder, fill
from schemas.events import DeliveryCompleted, DeliveryRequested, utcnow
from schemas.ids import derived_id

RETRIES = 3
BACKOFF_S = 0.5
#: the contact field holding each channel's address, and its opt-in flag
ADDRESS = {"email": "email", "sms": "phone"}
OPT_IN = {"email": "email_opt_in", "sms": "sms_opt_in"}


class DeliveryRejected(Exception):
    """An outbox record that cannot be sent until an operator acts; `completed` says so."""

    def __init__(self, kind: str, message: str, completed: DeliveryCompleted) -> None:
        super().__init__(message)
        self.kind = kind
        self.completed = completed


def _completed(req: DeliveryRequested, status: str, *, attempts: int = 0, provider: str = "",
               message_id: str | None = None, error: str | None = None) -> DeliveryCompleted:
    return DeliveryCompleted(
        event_id=derived_id(f"{req.tenant_id}/{req.delivery_id}", "delivery-completed"),
        tenant_id=req.tenant_id, occurred_at=utcnow(), delivery_id=req.delivery_id,
        task_id=req.task_id, channel=req.channel, customer_ref=req.customer_ref,
        status=status, provider=provider, provider_message_id=message_id,  # type: ignore[arg-type]
        attempts=attempts, error=error, variant=req.variant)


def _recorded(req: DeliveryRequested, r: Recorded) -> DeliveryCompleted:
    return _completed(req, r.status, attempts=r.attempts, provider=r.provider,
                      message_id=r.provider_message_id, error=r.error)


def _scrubbed(text: str, address: str) -> str:
    """A provider's error without the address it may quote."""
    return text.replace(address, "<address>")


def deliver(req: DeliveryRequested, ledger: DeliveryLedger, senders: Mapping[str, Sender],
            sleep: Callable[[float], None] = time.sleep) -> DeliveryCompleted:
    """Send `req` once (module doc); blocking (run it in a thread)."""
    claim = ledger.claim(req)
    attempts = 1
    if not claim.new:
        previous = claim.previous
        assert previous is not None
        if previous.status != "sending":
            return _recorded(req, previous)
        sender = senders.get(req.channel)
        if sender is None or not sender.idempotent:
            error = ("interrupted while sending (a crash); not resent over a channel that "
                     "cannot dedupe, so it cannot arrive twice")
            ledger.finish(req, "unknown", attempts=previous.attempts,
                          provider=sender.provider if sender else "", error=error)
            return _completed(req, "unknown", attempts=previous.attempts, error=error)
        attempts = previous.attempts + 1
    sender = senders.get(req.channel)
    if sender is None:
        ledger.release(req)
        message = (f"delivery {req.delivery_id}: {req.channel} delivery is not configured "
                   f"(set {CHANNEL_SETTING[req.channel]})")
        raise DeliveryRejected("not_configured", message,
                               _completed(req, "failed", error=message))
    contact = ledger.contact(req.tenant_id, req.customer_ref)
    if contact is None:
        ledger.release(req)
        message = (f"delivery {req.delivery_id}: no contact record for customer "
                   f"{req.customer_ref} (send it to customers.raw)")
        raise DeliveryRejected("no_contact", message, _completed(req, "failed", error=message))

    def failed(error: str) -> DeliveryCompleted:
        ledger.finish(req, "failed", attempts=attempts, provider=sender.provider, error=error)
        return _completed(req, "failed", attempts=attempts, provider=sender.provider,
                          error=error)

    if (contact.get(OPT_IN[req.channel]) or "true") == "false":
        return failed(f"customer {req.customer_ref} opted out of {req.channel}")
    address = contact.get(ADDRESS[req.channel])
    if not address:
        return failed(f"customer {req.customer_ref} has no {ADDRESS[req.channel]}")
    try:
        subject, body = fill(req.subject, contact), fill(req.body, contact)
    except (MissingValue, UnknownPlaceholder) as exc:
        return failed(f"customer {req.customer_ref}: {exc}")
    for attempt in range(RETRIES + 1):
        try:
            result = sender.send(req.delivery_id, address, subject, body)
        except PermanentSendError as exc:
            return failed(_scrubbed(str(exc), address))
        except TransientSendError as exc:
            if attempt == RETRIES:
                return failed(f"{_scrubbed(str(exc), address)} (after {attempts} attempts)")
            sleep(BACKOFF_S * 2**attempt)
            attempts += 1
            continue
        ledger.finish(req, "sent", attempts=attempts, provider=result.provider,
                      provider_message_id=result.message_id)
        return _completed(req, "sent", attempts=attempts, provider=result.provider,
                          message_id=result.message_id)
    raise AssertionError("unreachable")
