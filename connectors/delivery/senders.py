"""Channel senders: email over SMTP to any server, SMS through an HTTP gateway adapter.

A sender either sends (returning the provider's message id, if any) or raises
`TransientSendError` (worth retrying: connection refused, timeouts, SMTP 4xx, HTTP 408/429/5xx)
or `PermanentSendError` (not: SMTP 5xx, other HTTP 4xx). `idempotent` says whether sending
the same delivery id twice reaches the person once: the SMS adapter sends the delivery id as
`Idempotency-Key` (the gateway contract), SMTP has no such thing.
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import make_msgid
from typing import NamedTuple, Protocol

import httpx

from runtime.settings import Settings


class SendResult(NamedTuple):
    provider: str
    message_id: str | None


class TransientSendError(RuntimeError):
    """Sending failed in a way a later attempt may not (the server was down, busy)."""


class PermanentSendError(RuntimeError):
    """The provider refused the message (a bad address, a rejected body): do not retry."""


class Sender(Protocol):
    channel: str
    provider: str
    idempotent: bool

    def send(self, delivery_id: str, to: str, subject: str, body: str) -> SendResult:
        """Send one message (module doc)."""


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

    def send(self, delivery_id: str, to: str, subject: str, body: str) -> SendResult:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = self.sender, to, subject
        msg["Message-ID"] = make_msgid(idstring=delivery_id, domain="auterity.local")
        msg["X-Auterity-Delivery-Id"] = delivery_id
        msg.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username and self.password is not None:
                    smtp.login(self.username, self.password.get_secret_value())
                refused = smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _by_code(min(codes), f"recipient refused ({codes})") from exc
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error
            text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
            raise _by_code(exc.smtp_code, f"SMTP {exc.smtp_code}: {text[:200]}") from exc
        except (TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError,
                OSError) as exc:
            raise TransientSendError(f"SMTP {self.provider} unreachable: "
                                     f"{type(exc).__name__}: {exc}") from exc
        if refused:
            raise PermanentSendError(f"recipient refused: {sorted(refused.values())}")
        return SendResult(self.provider, str(msg["Message-ID"]))


def _by_code(code: int, message: str) -> RuntimeError:
    return TransientSendError(message) if 400 <= code < 500 else PermanentSendError(message)


class HttpSmsSender:
    """SMS through an HTTP gateway (`AUTERITY_SMS_GATEWAY_URL`): POST
    {"to", "body", "reference"} as JSON with `Idempotency-Key: <delivery id>` and, if set, a
    bearer token; a 2xx answer's JSON `id` is the provider's message id."""

    channel = "sms"
    idempotent = True

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
            raise TransientSendError(f"SMS gateway {self.provider} unreachable: "
                                     f"{type(exc).__name__}") from exc
        if answer.status_code in (408, 429) or answer.status_code >= 500:
            raise TransientSendError(f"SMS gateway answered {answer.status_code}")
        if answer.status_code >= 400:
            raise PermanentSendError(f"SMS gateway refused the message: {answer.status_code} "
                                     f"{answer.text[:200]}")
        try:
            message_id = answer.json().get("id")
        except ValueError:
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
