"""Deliveries on the stream (issue 11):

    deliveries.outbox --deliveries--> deliveries.completed

Wiring only: the step decodes an outbox record and runs `connectors.delivery.service.deliver`
in a thread (claim in the Postgres ledger, fill the template from the restricted layer, send
over SMTP or the SMS gateway, record). Invariants are the service's: each delivery id is
sent once, also when the worker is killed mid-batch and the record comes again; what an
operator must fix (a channel not configured, a customer without a contact record) gets a
`failed` result AND a dead letter, and the stream goes on.

Known limit: a delivery's partition moving to another worker while the first is still
sending it (a rebalance, not a crash) would be taken for an interrupted send: an email
becomes `unknown` (never twice), an SMS is resent under the same idempotency key.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import faust
import psycopg

from connectors.delivery.ledger import DeliveryLedger
from connectors.delivery.senders import Sender, configured_senders
from connectors.delivery.service import DeliveryRejected, deliver
from projections.postgres_schema import migrate
from runtime.postgres import connect
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import DeliveryRequested
from streams.step_loop import Send, StepRejected, step_agent

log = logging.getLogger("auterity.deliveries")
STEP = "deliveries"


def open_ledger(settings: Settings) -> DeliveryLedger:
    def open_connection() -> psycopg.Connection[Any]:
        conn = connect(settings.resolved_database_url(), "auterity-deliveries")
        migrate(conn)
        return conn

    return DeliveryLedger(open_connection)


def wire(app: faust.App, settings: Settings, senders: dict[str, Sender] | None = None,
         ledger: DeliveryLedger | None = None) -> None:
    """Register the delivery step on `app` (senders: those the settings configure)."""
    senders = configured_senders(settings) if senders is None else senders
    ledger = ledger or open_ledger(settings)
    completed = app.topic(topics.DELIVERIES_COMPLETED.name(settings.topic_prefix),
                          key_type=bytes, value_type=bytes,
                          partitions=topics.DELIVERIES_COMPLETED.partitions)

    running: dict[tuple[str, str], asyncio.Lock] = {}
    # sending runs on threads of its own: the default executor's are held for minutes by
    # model calls when the local model is busy, and a message must not wait behind them
    sending = ThreadPoolExecutor(max_workers=2, thread_name_prefix="deliveries")

    async def on_record(ev: Any) -> list[Send]:
        req = serde.decode(ev.message.value, DeliveryRequested)
        key = req.delivery_id.encode()
        # the same record twice in one batch: the second waits and finds it `sent` (not an
        # interrupted `sending`, which a concurrent claim would see)
        lock = running.setdefault((req.tenant_id, req.delivery_id), asyncio.Lock())
        try:
            async with lock:
                try:
                    done = await asyncio.get_running_loop().run_in_executor(
                        sending, deliver, req, ledger, senders)
                except DeliveryRejected as exc:
                    raise StepRejected(exc.kind, str(exc), [
                        (completed, key, serde.encode(exc.completed))]) from exc
                return [(completed, key, serde.encode(done))]
        finally:
            if not lock.locked() and running.get((req.tenant_id, req.delivery_id)) is lock:
                del running[(req.tenant_id, req.delivery_id)]

    step_agent(app, settings, topics.DELIVERIES_OUTBOX, STEP, on_record, batch=8,
               concurrency=4)
    log.info("deliveries: %s", ", ".join(f"{c} via {s.provider}" for c, s in senders.items())
             or "no channel configured (set AUTERITY_SMTP_HOST / AUTERITY_SMS_GATEWAY_URL)")
