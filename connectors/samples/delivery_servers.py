"""Real local receivers for the demo and the tests: an SMTP server (aiosmtpd) and an HTTP
SMS gateway on loopback that keep what they received.

`LocalSmsGateway` behaves as the gateway contract of connectors/delivery/senders.py says a
gateway does: a repeated `Idempotency-Key` is answered with the first message's id and not
delivered again (`requests` counts every POST, `delivered` only the first per key). Set
`fail_next` to answer that many requests with 503 (a gateway having a bad minute), and
`delay_s` to answer each request that much later (a slow gateway: work stays in flight).
"""

from __future__ import annotations

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

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append(msg)
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

    def by_delivery_id(self, delivery_id: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["X-Auterity-Delivery-Id"] == delivery_id]


@dataclass
class _GatewayState:
    requests: list[ReceivedSms] = field(default_factory=list)
    delivered: dict[str, ReceivedSms] = field(default_factory=dict)
    fail_next: int = 0
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
                code, answer = (503, {"error": "busy"}) if failing else (
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

    def fail_next(self, n: int) -> None:
        with self.state.lock:
            self.state.fail_next = n

    @property
    def delivered(self) -> dict[str, ReceivedSms]:
        with self.state.lock:
            return dict(self.state.delivered)

    @property
    def requests(self) -> list[ReceivedSms]:
        with self.state.lock:
            return list(self.state.requests)
