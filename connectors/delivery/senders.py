"""Channel senders: email over SMTP to any server, SMS through an HTTP gateway adapter.

A sender either sends (returning the provider's message id, if any) or raises one of:
- `TransientSendError`: worth retrying, nothing reached the person (connection refused, a
  timeout before the message went out, SMTP 4xx, HTTP 408/429/5xx);
- `PermanentSendError`: this message is refused (a bad address, a rejected body, a header
  it cannot carry): do not retry;
- `ChannelRefused`: the provider refuses US, whatever the message (bad credentials, SMTP
  535, HTTP 401/403/404, a refused sender address): an operator must fix the settings;
- `UncertainSendError`: the message went out and the answer was lost (an SMTP timeout or
  disconnect after DATA): it may have arrived, so it is never sent again.
`idempotent` says whether sending the same delivery id twice reaches the person once: the
SMS adapter sends the delivery id as `Idempotency-Key` (the gateway contract), so a lost
answer there is transient; SMTP has no such thing.

Invariant: an error's text carries status codes only, never the provider's wording (which
may quote the address in a form the caller cannot scrub).
"""

from __future__ import annotations

import logging
import re
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any, NamedTuple, Protocol

import httpx

from runtime.settings import Settings

log = logging.getLogger("auterity.deliveries")


class SendResult(NamedTuple):
    provider: str
    message_id: str | None


class TransientSendError(RuntimeError):
    """Sending failed in a way a later attempt may not (the server was down, busy)."""


class PermanentSendError(RuntimeError):
    """The provider refused the message (a bad address, a rejected body): do not retry."""


class ChannelRefused(RuntimeError):
    """The provider refuses every message from us (credentials, URL, sender address)."""


class UncertainSendError(RuntimeError):
    """The message went out but its answer was lost: it may have arrived; never resend."""


class Sender(Protocol):
    channel: str
    provider: str
    idempotent: bool

    def send(self, delivery_id: str, to: str, subject: str, body: str) -> SendResult:
        """Send one message (module doc)."""


_ENHANCED = re.compile(rb"^\s*([245]\.\d{1,3}\.\d{1,3})\b")


def _smtp_code(code: int, text: Any) -> str:
    """`SMTP 550 5.1.1`: the reply code and the enhanced status code, not the words."""
    raw = text if isinstance(text, bytes) else str(text).encode()
    enhanced = _ENHANCED.match(raw)
    return f"SMTP {code}" + (f" {enhanced.group(1).decode()}" if enhanced else "")


class _TrackedSmtp(smtplib.SMTP):
    """smtplib.SMTP that remembers whether the message body started going out."""

    data_started = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.data_started = True
        return super().data(msg)


class SmtpSender:
    """Email through an SMTP server (`AUTERITY_SMTP_*`); Message-ID and the
    X-Auterity-Delivery-Id header carry the delivery id."""

    channel = "email"
    idempotent = False

    def __init__(self, settings: Settings) -> None:
        if not settings.smtp_host:
            raise ValueError("email delivery needs AUTERITY_SMTP_HOST")
        self.host, self.port = settings.smtp_host, settings.smtp_port
        self.username = settings.smtp_username
        self.password = settings.smtp_password
        self.starttls = settings.smtp_starttls
        self.sender = settings.smtp_from
        self.timeout = settings.delivery_timeout_s
        self.provider = f"smtp://{self.host}:{self.port}"

    def _message(self, delivery_id: str, to: str, subject: str, body: str) -> EmailMessage:
        try:
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = self.sender, to, subject
            msg["Message-ID"] = make_msgid(idstring=delivery_id, domain="auterity.local")
            msg["X-Auterity-Delivery-Id"] = delivery_id
            msg.set_content(body)
        except (ValueError, TypeError) as exc:  # a CR/LF in a header, an undecodable body
            raise PermanentSendError(f"the message cannot be built ({type(exc).__name__}: "
                                     "a line break in the subject or the address?)") from exc
        return msg

    def send(self, delivery_id: str, to: str, subject: str, body: str) -> SendResult:
        msg = self._message(delivery_id, to, subject, body)
        smtp: _TrackedSmtp | None = None
        try:
            smtp = _TrackedSmtp(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                smtp.starttls()
            if self.username and self.password is not None:
                smtp.login(self.username, self.password.get_secret_value())
            refused = smtp.send_message(msg)
            _quit(smtp)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted(code for code, _ in exc.recipients.values())
            raise _by_code(codes[0], f"recipient refused (SMTP {codes[0]})") from exc
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused,
                smtplib.SMTPNotSupportedError) as exc:
            detail = (_smtp_code(exc.smtp_code, exc.smtp_error)
                      if isinstance(exc, smtplib.SMTPResponseException) else "not supported")
            raise ChannelRefused(f"{self.provider} refuses our session ({type(exc).__name__}"
                                 f", {detail}): check AUTERITY_SMTP_*") from exc
        except smtplib.SMTPResponseException as exc:
            # an answer, so a definite one: the server did not take the message
            raise _by_code(exc.smtp_code, _smtp_code(exc.smtp_code, exc.smtp_error)) from exc
        except (TimeoutError, smtplib.SMTPException, OSError) as exc:
            if smtp is not None and smtp.data_started:
                raise UncertainSendError(
                    f"{self.provider}: the answer to the message was lost "
                    f"({type(exc).__name__}); it may have arrived, so it is not resent"
                ) from exc
            raise TransientSendError(f"SMTP {self.provider} unreachable: "
                                     f"{type(exc).__name__}") from exc
        finally:
            if smtp is not None:
                smtp.close()
        if refused:
            codes = sorted(code for code, _ in refused.values())
            raise PermanentSendError(f"recipient refused (SMTP {codes[0]})")
        return SendResult(self.provider, str(msg["Message-ID"]))


def _quit(smtp: smtplib.SMTP) -> None:
    """End the session once the message is answered: its fate is known, so QUIT's answer
    (a non-221, a dropped connection) changes nothing and raises nothing."""
    try:
        code, _ = smtp.docmd("QUIT")
    except (smtplib.SMTPException, OSError) as exc:
        log.debug("SMTP QUIT failed after the message was answered: %s", type(exc).__name__)
        return
    if code != 221:
        log.debug("SMTP QUIT answered %d after the message was answered", code)


def _by_code(code: int, message: str) -> RuntimeError:
    return TransientSendError(message) if 400 <= code < 500 else PermanentSendError(message)


class HttpSmsSender:
    """SMS through an HTTP gateway (`AUTERITY_SMS_GATEWAY_URL`): POST
    {"to", "body", "reference"} as JSON with `Idempotency-Key: <delivery id>` and, if set, a
    bearer token; a 2xx answer's JSON `id` is the provider's message id."""

    channel = "sms"
    idempotent = True
    #: answers that refuse the channel (credentials, URL, method), not the message
    CHANNEL_STATUSES = (401, 403, 404, 405)

    def __init__(self, settings: Settings) -> None:
        if not settings.sms_gateway_url:
            raise ValueError("SMS delivery needs AUTERITY_SMS_GATEWAY_URL")
        self.url = settings.sms_gateway_url
        self.token = settings.sms_gateway_token
        self.timeout = settings.delivery_timeout_s
        self.provider = httpx.URL(self.url).host or self.url

    def send(self, delivery_id: str, to: str, subject: str, body: str) -> SendResult:
        headers = {"Idempotency-Key": delivery_id}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token.get_secret_value()}"
        try:
            answer = httpx.post(self.url, json={"to": to, "body": body,
                                                "reference": delivery_id},
                                headers=headers, timeout=self.timeout)
        except httpx.TransportError as exc:
            # a lost answer is safe to retry: the gateway dedupes on the Idempotency-Key
            raise TransientSendError(f"SMS gateway {self.provider} unreachable: "
                                     f"{type(exc).__name__}") from exc
        status = answer.status_code
        if status in (408, 429) or status >= 500:
            raise TransientSendError(f"SMS gateway answered {status}")
        if status in self.CHANNEL_STATUSES:
            raise ChannelRefused(f"SMS gateway {self.provider} refuses us ({status}): check "
                                 "AUTERITY_SMS_GATEWAY_URL / AUTERITY_SMS_GATEWAY_TOKEN")
        if status >= 400:
            raise PermanentSendError(f"SMS gateway refused the message ({status})")
        if not 200 <= status < 300:
            # a redirect (an http -> https move, a relocated endpoint) or an informational
            # answer: the message was not accepted, and following it could resend the body
            raise ChannelRefused(f"SMS gateway {self.provider} answered {status} (not 2xx): "
                                 "check AUTERITY_SMS_GATEWAY_URL")
        try:
            message_id = answer.json().get("id")
        except (ValueError, AttributeError):
            message_id = None
        return SendResult(self.provider, None if message_id is None else str(message_id))


def configured_senders(settings: Settings) -> dict[str, Sender]:
    """The senders the settings configure, by channel (none: every delivery fails as not
    configured, naming the setting)."""
    senders: dict[str, Sender] = {}
    if settings.smtp_host:
        senders["email"] = SmtpSender(settings)
    if settings.sms_gateway_url:
        senders["sms"] = HttpSmsSender(settings)
    return senders


#: the setting that switches each channel on (for the "not configured" error)
CHANNEL_SETTING = {"email": "AUTERITY_SMTP_HOST", "sms": "AUTERITY_SMS_GATEWAY_URL"}
