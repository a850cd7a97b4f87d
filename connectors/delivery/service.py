"""One outbox record, sent once: claim it in the ledger, fill the template from the
restricted layer, send with retries, record what happened.

Invariants:
- a delivery id reaches a sender at most once per claim, and a final state in the ledger
  is never sent again: a redelivered outbox record is answered with the recorded outcome
  (the same `DeliveryCompleted` event id);
- a claim found `sending` (a crash interrupted the previous attempt) is sent again only
  over an idempotent channel (the SMS gateway dedupes on the delivery id); over SMTP it
  becomes `unknown` and is not resent; likewise an SMTP answer lost after the message went
  out (`UncertainSendError`) is `unknown`, never retried: no email can arrive twice;
- what cannot be sent for a reason an operator can fix (the channel is not configured or
  refuses our credentials, the provider stayed unreachable through every retry, the
  customer has no contact record) raises `DeliveryRejected` after releasing the claim (a
  dead letter; replaying it once fixed sends; the release waits for Postgres, so a
  rejected claim is never left `sending`); an opt-out, a missing address or value, or a
  provider's refusal of this message is a final `failed`, and so is a message holding a
  masked value (the output firewall's `<PHONE_NUMBER>`: never shown to a customer) or a
  customer who unsubscribed from a message of the channel (deliveries.outcomes) or whom
  the CRM marks `do_not_contact` (crm_customer_fields, the update_crm agent);
- the contact is read before the claim and nothing but pure code runs between the claim
  and the first send, so Postgres failing (`StoreUnavailable`, passed to the caller) leaves
  no claim that was never sent, except after a send, where `sending` is the truth;
- no address, phone number or filled text is put on an event, a log line or an error.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping

from connectors.delivery.ledger import DeliveryLedger, Recorded
from connectors.delivery.senders import (
    CHANNEL_SETTING,
    ChannelRefused,
    PermanentSendError,
    Sender,
    TransientSendError,
    UncertainSendError,
)
from processors.ai_agents.placeholders import MissingValue, UnknownPlaceholder, fill
from schemas.errors import StoreUnavailable
from schemas.events import DeliveryCompleted, DeliveryRequested, utcnow
from schemas.ids import derived_id

log = logging.getLogger("auterity.deliveries")

RETRIES = 3
BACKOFF_S = 0.5
#: how long releasing a claim waits for Postgres, doubling up to the max
RELEASE_RETRY_S = 0.5
RELEASE_RETRY_MAX_S = 30.0
#: a pseudonym label or the output firewall's mask (`<PHONE_NUMBER>`, `<PERSON_1>`)
MASKED = re.compile(r"<[A-Z][A-Z0-9_]*>")
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
               message_id: str | None = None, error: str | None = None,
               rejected: str | None = None) -> DeliveryCompleted:
    # a rejection is not the delivery's outcome (a replay may still send it): its own id
    kind = "delivery-completed" if rejected is None else f"delivery-rejected-{rejected}"
    return DeliveryCompleted(
        event_id=derived_id(f"{req.tenant_id}/{req.delivery_id}", kind),
        tenant_id=req.tenant_id, occurred_at=utcnow(), delivery_id=req.delivery_id,
        task_id=req.task_id, channel=req.channel, customer_ref=req.customer_ref,
        status=status, provider=provider, provider_message_id=message_id,  # type: ignore[arg-type]
        attempts=attempts, error=error, variant=req.variant,
        campaign_id=req.campaign_id)


def _recorded(req: DeliveryRequested, r: Recorded) -> DeliveryCompleted:
    return _completed(req, r.status, attempts=r.attempts, provider=r.provider,
                      message_id=r.provider_message_id, error=r.error)


def _scrubbed(text: str, address: str) -> str:
    """A provider's error without the address it may quote."""
    return text.replace(address, "<address>")


def _release(req: DeliveryRequested, ledger: DeliveryLedger,
             sleep: Callable[[float], None]) -> None:
    """Release the claim, waiting for Postgres if it does not answer: a claim left
    `sending` after senders were tried would make the replay `unknown` over SMTP although
    nothing reached the person (found by review)."""
    wait = RELEASE_RETRY_S
    while True:
        try:
            ledger.release(req)
            return
        except StoreUnavailable as exc:
            log.error("delivery %s: cannot release its claim (%s); again in %.1f s",
                      req.delivery_id, exc, wait)
            sleep(wait)
            wait = min(wait * 2, RELEASE_RETRY_MAX_S)


def _rejected(req: DeliveryRequested, ledger: DeliveryLedger, kind: str, message: str,
              *, attempts: int = 0, provider: str = "",
              sleep: Callable[[float], None] = time.sleep) -> DeliveryRejected:
    _release(req, ledger, sleep)
    message = f"delivery {req.delivery_id}: {message}"
    return DeliveryRejected(kind, message, _completed(
        req, "failed", attempts=attempts, provider=provider, error=message, rejected=kind))


def may_contact(ledger: DeliveryLedger, tenant_id: str, customer_ref: str,
                channel: str) -> bool:
    """Whether a message on `channel` would reach the customer: a contact record with an
    address, opted in, not unsubscribed, not do_not_contact (what `deliver` checks; a
    workflow's `customer.<channel>_consent`)."""
    contact = ledger.contact(tenant_id, customer_ref)
    if contact is None or not contact.get(ADDRESS[channel]):
        return False
    if (contact.get(OPT_IN[channel]) or "true") == "false":
        return False
    return not (ledger.unsubscribed(tenant_id, customer_ref, channel)
                or ledger.do_not_contact(tenant_id, customer_ref))


def deliver(req: DeliveryRequested, ledger: DeliveryLedger, senders: Mapping[str, Sender],
            sleep: Callable[[float], None] = time.sleep) -> DeliveryCompleted:
    """Send `req` once (module doc); blocking (run it in a thread)."""
    sender = senders.get(req.channel)
    contact = ledger.contact(req.tenant_id, req.customer_ref)
    unsubscribed = ledger.unsubscribed(req.tenant_id, req.customer_ref, req.channel)
    do_not_contact = ledger.do_not_contact(req.tenant_id, req.customer_ref)
    claim = ledger.claim(req)
    attempts = 1
    if not claim.new:
        previous = claim.previous
        assert previous is not None
        if previous.status != "sending":
            return _recorded(req, previous)
        if sender is None or not sender.idempotent:
            error = ("interrupted while sending (a crash); not resent over a channel that "
                     "cannot dedupe, so it cannot arrive twice")
            ledger.finish(req, "unknown", attempts=previous.attempts,
                          provider=sender.provider if sender else "", error=error)
            return _completed(req, "unknown", attempts=previous.attempts, error=error)
        attempts = previous.attempts + 1
    if sender is None:
        raise _rejected(req, ledger, "not_configured", f"{req.channel} delivery is not "
                        f"configured (set {CHANNEL_SETTING[req.channel]})")
    if contact is None:
        raise _rejected(req, ledger, "no_contact", f"no contact record for customer "
                        f"{req.customer_ref} (send it to customers.raw)")

    def final(status: str, error: str) -> DeliveryCompleted:
        ledger.finish(req, status, attempts=attempts, provider=sender.provider, error=error)
        return _completed(req, status, attempts=attempts, provider=sender.provider,
                          error=error)

    if (contact.get(OPT_IN[req.channel]) or "true") == "false":
        return final("failed", f"customer {req.customer_ref} opted out of {req.channel}")
    if unsubscribed:
        return final("failed", f"customer {req.customer_ref} unsubscribed from {req.channel}")
    if do_not_contact:
        return final("failed", f"customer {req.customer_ref} is marked do_not_contact in the "
                               "CRM")
    address = contact.get(ADDRESS[req.channel])
    if not address:
        return final("failed", f"customer {req.customer_ref} has no {ADDRESS[req.channel]}")
    if MASKED.search(req.subject) or MASKED.search(req.body):
        # the output firewall replaced PII the model wrote with `<TYPE>`: a customer would
        # read "call us at <PHONE_NUMBER>"
        return final("failed", "the message holds a masked value (" + ", ".join(sorted(set(
            MASKED.findall(req.subject + " " + req.body)))) + "): not sent")
    try:
        subject, body = fill(req.subject, contact), fill(req.body, contact)
    except (MissingValue, UnknownPlaceholder) as exc:
        return final("failed", f"customer {req.customer_ref}: {exc}")
    for attempt in range(RETRIES + 1):
        try:
            result = sender.send(req.delivery_id, address, subject, body)
        except PermanentSendError as exc:
            return final("failed", _scrubbed(str(exc), address))
        except UncertainSendError as exc:
            return final("unknown", _scrubbed(str(exc), address))
        except ChannelRefused as exc:
            raise _rejected(req, ledger, "channel_refused", _scrubbed(str(exc), address),
                            attempts=attempts, provider=sender.provider, sleep=sleep) from exc
        except TransientSendError as exc:
            if attempt == RETRIES:
                # nothing reached the person (senders.py), so a replay may send it
                raise _rejected(req, ledger, "channel_unavailable",
                                f"{_scrubbed(str(exc), address)} (after {attempts} attempts)",
                                attempts=attempts, provider=sender.provider,
                                sleep=sleep) from exc
            sleep(BACKOFF_S * 2**attempt)
            attempts += 1
            continue
        ledger.finish(req, "sent", attempts=attempts, provider=result.provider,
                      provider_message_id=result.message_id)
        return _completed(req, "sent", attempts=attempts, provider=result.provider,
                          message_id=result.message_id)
    raise AssertionError("unreachable")
