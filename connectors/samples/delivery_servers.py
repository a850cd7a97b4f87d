"""Real local receivers for the demo and the tests: an SMTP server (aiosmtpd) and an HTTP
SMS gateway on loopback that keep what they received.

`LocalSmsGateway` behaves as the gateway contract of connectors/delivery/senders.py says a
gateway does: a repeated `Idempotency-Key` is answered with the first message's id and not
delivered again (`requests` counts every POST, `delivered` only the first per key). Set
`fail_next` to answer that many requests with 503 (a gateway having a bad minute; or
another status: 401 for a revoked token), and `delay_s` to answer each request that much
later (a slow gateway: work stays in flight).

`LocalSmtpServer` can `stall_next` messages: it keeps the message (it arrived) and answers
only after that many seconds, so a client with a shorter timeout loses the answer; and it can
`refuse_senders` (553 to MAIL FROM: a server that does not accept our sender address) or
`refuse_recipients` (550 quoting the address, as real servers do).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class ReceivedSms:
    key: str
    to: str
    body: str
    authorization: str | None


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.stall: list[float] = []
        self.refuse_senders = False
        self.refuse_recipients = False

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          mail_options: list[str]) -> str:
        if self.refuse_senders:
            return "553 5.7.1 sender address not allowed"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if self.refuse_recipients:  # quoting the address, as real servers do
            return f"550 5.1.1 <{address}>: recipient unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append(msg)
            stall = self.stall.pop(0) if self.stall else 0.0
        if stall:
            await asyncio.sleep(stall)  # the message arrived; its answer comes late
        return "250 OK"


class LocalSmtpServer:
    """aiosmtpd on 127.0.0.1:`port`, keeping every message it accepts."""

    def __init__(self, port: int) -> None:
        self._collector = _Collector()
        self._controller = Controller(self._collector, hostname="127.0.0.1", port=port)
        self.port = port

    def __enter__(self) -> LocalSmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        with self._collector.lock:
            return list(self._collector.messages)

    def stall_next(self, n: int, seconds: float) -> None:
        with self._collector.lock:
            self._collector.stall = [seconds] * n

    def refuse_senders(self, refuse: bool = True) -> None:
        self._collector.refuse_senders = refuse

    def refuse_recipients(self, refuse: bool = True) -> None:
        self._collector.refuse_recipients = refuse

    def by_delivery_id(self, delivery_id: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["X-Auterity-Delivery-Id"] == delivery_id]


@dataclass
class _GatewayState:
    requests: list[ReceivedSms] = field(default_factory=list)
    delivered: dict[str, ReceivedSms] = field(default_factory=dict)
    fail_next: int = 0
    fail_status: int = 503
    delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class LocalSmsGateway:
    """An HTTP SMS gateway on 127.0.0.1:`port` (POST any path; module doc)."""

    def __init__(self, port: int) -> None:
        self.state = _GatewayState()
        state = self.state

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                time.sleep(state.delay_s)
                length = int(self.headers.get("Content-Length") or 0)
                data = json.loads(self.rfile.read(length) or b"{}")
                sms = ReceivedSms(self.headers.get("Idempotency-Key", ""), str(data.get("to")),
                                  str(data.get("body")), self.headers.get("Authorization"))
                with state.lock:
                    state.requests.append(sms)
                    failing = state.fail_next > 0
                    if failing:
                        state.fail_next -= 1
                    elif sms.key not in state.delivered:
                        state.delivered[sms.key] = sms
                code, answer = (state.fail_status, {"error": "failed"}) if failing else (
                    200, {"id": f"sms-{sms.key[:12]}"})
                body = json.dumps(answer).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = port
        self.url = f"http://127.0.0.1:{port}/sms"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LocalSmsGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail_next(self, n: int, status: int = 503) -> None:
        with self.state.lock:
            self.state.fail_next, self.state.fail_status = n, status

    @property
    def delivered(self) -> dict[str, ReceivedSms]:
        with self.state.lock:
            return dict(self.state.delivered)

    @property
    def requests(self) -> list[ReceivedSms]:
        with self.state.lock:
            return list(self.state.requests)
