"""The dealership webhook ingest: facts from dealership systems over HTTP, JSON in, Avro out.

    POST /v1/facts     Authorization: Bearer <tenant token>     (`auterity webhook token T`)
    body: one fact or a JSON array of up to MAX_BATCH facts, each a DealershipEvent without
    `tenant_id` (the token names the tenant), optionally with `customer`: the customer's
    contact record ({first_name, last_name, email, phone, email_opt_in, sms_opt_in}), which
    goes to customers.raw (the restricted layer), never to dealership.events.
    GET /ping          no token: "ok"

Answers: 202 {"accepted": n, "event_ids": [...]} once Kafka acknowledged every record;
400 naming each bad item and field (the batch is all or nothing: nothing of it was sent);
401 no or a bad token; 403 an operator token or another tenant's `tenant_id`; 404; 411/413
no length or a body over MAX_BODY_BYTES; 415 not application/json; 503 Kafka did not
acknowledge in time (the records may or may not be written: send the batch again).

Invariants:
- nothing answered 202 is lost: the answer waits for every record's acknowledgement
  (acks=all, idempotent producer, so a broker retry does not write a record twice);
- a fact's `event_id` may be the dealership system's own id: sent again (a retry after a
  503 or a timeout), the same fact has the same id, and the runs started from it are the
  same runs (processors/workflows, deterministic ids): a retry changes nothing;
- no body, value or address is logged or quoted in an answer; errors name fields only.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, wait
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from confluent_kafka import KafkaError, Producer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runtime import kafka_clients
from runtime.kafka_auth import Principal
from runtime.settings import Settings
from runtime.tokens import InvalidToken, tenant_of
from schemas import serde, topics
from schemas.errors import describe
from schemas.events import CustomerContact, DealershipEvent, utcnow

log = logging.getLogger("auterity.webhook")

REALM = "webhook"
MAX_BATCH = 500
MAX_BODY_BYTES = 1024 * 1024
DRAIN_LIMIT = 8 * MAX_BODY_BYTES
ACK_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 30.0


class Contact(BaseModel):
    """The contact fields a fact may bring for its customer (raw PII: restricted layer)."""

    model_config = ConfigDict(extra="forbid")

    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9 ().-]{7,40}$")
    email_opt_in: bool = True
    sms_opt_in: bool = True


@dataclass(frozen=True)
class Accepted:
    facts: list[DealershipEvent]
    contacts: list[CustomerContact]


class BadBatch(ValueError):
    """A body that is not a batch of valid facts; `problems` names each item and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_batch(body: bytes, tenant: str) -> Accepted:
    """The facts (and contact records) of a request body for `tenant`, or BadBatch naming
    every problem (module doc)."""
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadBatch([f"body: not JSON ({type(exc).__name__})"]) from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise BadBatch(["body: an empty batch"])
    if len(items) > MAX_BATCH:
        raise BadBatch([f"body: {len(items)} facts; at most {MAX_BATCH} per request"])
    facts: list[DealershipEvent] = []
    contacts: list[CustomerContact] = []
    problems: list[str] = []
    for n, item in enumerate(items, start=1):
        where = f"item {n}" if isinstance(data, list) else "fact"
        if not isinstance(item, dict):
            problems.append(f"{where}: expected a JSON object, got {type(item).__name__}")
            continue
        item = dict(item)
        if item.get("tenant_id", tenant) != tenant:
            raise PermissionError(f"{where}: tenant_id is not the token's tenant")
        contact = item.pop("customer", None)
        item.update(tenant_id=tenant)
        item.setdefault("event_id", str(uuid.uuid4()))
        item.setdefault("occurred_at", utcnow().isoformat())
        try:
            fact = DealershipEvent.model_validate(item)
        except ValidationError as exc:
            problems.extend(f"{where}: {p}" for p in describe(exc))
            continue
        facts.append(fact)
        if contact is None:
            continue
        try:
            fields = Contact.model_validate(contact)
        except ValidationError as exc:
            problems.extend(f"{where}: customer.{p}" for p in describe(exc))
            continue
        contacts.append(CustomerContact(
            event_id=f"{fact.event_id}:contact", tenant_id=tenant,
            occurred_at=fact.occurred_at, customer_id=fact.customer_ref,
            **fields.model_dump()))
    if problems:
        raise BadBatch(problems)
    return Accepted(facts, contacts)


class Publisher:
    """One idempotent producer shared by the request threads, polled by its own thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer: Producer = kafka_clients.producer(settings, principal=Principal.INGEST)
        self.facts_topic = topics.DEALERSHIP_EVENTS.name(settings.topic_prefix)
        self.contacts_topic = topics.CUSTOMERS_RAW.name(settings.topic_prefix)
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="webhook-producer", daemon=True)
        self._poller.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.producer.poll(0.1)

    def _send(self, topic: str, key: bytes, value: bytes) -> Future[None]:
        done: Future[None] = Future()

        def on_delivery(err: KafkaError | None, _msg: Any) -> None:
            if err is None:
                done.set_result(None)
            else:
                done.set_exception(RuntimeError(f"{err.name()}: {err.str()}"))

        while True:
            try:
                self.producer.produce(topic, key=key, value=value, on_delivery=on_delivery)
                return done
            except BufferError:
                self._stop.wait(0.05)  # the local queue is full: the poller drains it

    def publish(self, accepted: Accepted) -> bool:
        """Send every record; True once all are acknowledged (contacts first: a run that
        starts on the fact finds its customer's address)."""
        pending = [self._send(self.contacts_topic, c.customer_id.encode(), serde.encode(c))
                   for c in accepted.contacts]
        if pending:
            finished, not_done = wait(pending, ACK_TIMEOUT_S)
            if not_done or any(f.exception() for f in finished):
                return False
        sent = [self._send(self.facts_topic, f.customer_ref.encode(), serde.encode(f))
                for f in accepted.facts]
        finished, not_done = wait(sent, ACK_TIMEOUT_S)
        return not not_done and not any(f.exception() for f in finished)

    def close(self) -> None:
        self.producer.flush(10)
        self._stop.set()
        self._poller.join(5)


def _handler(publisher: Publisher, key: bytes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT_S  # a client that stops sending does not hold a thread
        server_version = "auterity-webhook"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return None  # no request line in the logs: paths and queries are the caller's

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/ping":
                self._answer(200, {"ok": True})
            else:
                self._answer(404, {"error": "not found: POST /v1/facts"})

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            if self.path != "/v1/facts":
                self._answer(404, {"error": "not found: POST /v1/facts"})
                return
            auth = self.headers.get("Authorization", "")
            token = auth[7:].strip() if auth.startswith("Bearer ") else ""
            try:
                tenant = tenant_of(key, token, REALM) if token else None
            except InvalidToken:
                self._answer(401, {"error": "invalid token (make one with `auterity webhook "
                                            "token TENANT`)"})
                return
            if not token:
                self._answer(401, {"error": "no token: send Authorization: Bearer <tenant "
                                            "token>"})
                return
            if tenant is None:
                self._answer(403, {"error": "an operator token speaks for no dealership: use "
                                            "the tenant's token"})
                return
            ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if ctype != "application/json":
                self._answer(415, {"error": "send Content-Type: application/json"})
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._answer(411, {"error": "send Content-Length"})
                return
            if length < 0 or length > MAX_BODY_BYTES:
                # read what was announced (up to DRAIN_LIMIT) so the client gets its 413
                # instead of a broken pipe, then close
                left = min(max(length, 0), DRAIN_LIMIT)
                while left > 0 and (chunk := self.rfile.read(min(left, 65536))):
                    left -= len(chunk)
                self._answer(413, {"error": f"a body over {MAX_BODY_BYTES} bytes"})
                self.close_connection = True
                return
            body = self.rfile.read(length)
            try:
                accepted = parse_batch(body, tenant)
            except BadBatch as exc:
                self._answer(400, {"error": "nothing was accepted", "errors": exc.problems})
                return
            except PermissionError as exc:
                self._answer(403, {"error": str(exc)})
                return
            if not publisher.publish(accepted):
                log.error("webhook: Kafka did not acknowledge a batch of %d fact(s) for %s",
                          len(accepted.facts), tenant)
                self._answer(503, {"error": "not acknowledged by Kafka in time: the facts may "
                                            "or may not be written; send the batch again "
                                            "(the same event_ids change nothing)"})
                return
            self._answer(202, {"accepted": len(accepted.facts),
                               "event_ids": [f.event_id for f in accepted.facts]})

    return Handler


@contextmanager
def serving(settings: Settings, host: str | None = None,
            port: int | None = None) -> Iterator[ThreadingHTTPServer]:
    """The ingest serving on (host, port) in a thread until the block ends."""
    publisher = Publisher(settings)
    server = ThreadingHTTPServer((host or settings.webhook_host,
                                  settings.webhook_port if port is None else port),
                                 _handler(publisher, settings.resolved_webhook_key()))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="webhook-http", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        publisher.close()


__all__ = ["MAX_BATCH", "Accepted", "BadBatch", "parse_batch", "serving"]
