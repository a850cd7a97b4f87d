"""The delivery ledger in Postgres (`agent_deliveries`): what was sent, once per delivery id.

    claim -> (send) -> finish

Invariants:
- `claim` is atomic (INSERT ... ON CONFLICT): of two claims of one delivery id exactly one
  is `new`; a later claim sees the recorded state: a final one (`sent`, `failed`,
  `unknown`) is answered from the ledger and nothing is sent again; `sending` means an
  earlier attempt was interrupted (a crash between claim and finish) and the caller decides
  (connectors/delivery/service.py);
- `release` forgets a claim that never reached a sender (a configuration or data error
  sent to the dead letters), so a replay once it is fixed sends;
- no address is stored: the customer is named by reference;
- Postgres down or slow raises `runtime.postgres.StoreUnavailable` (the step waits and runs
  the record again), never a dead letter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import psycopg

from runtime.postgres import SharedConnection
from schemas.events import DeliveryRequested


class Recorded(NamedTuple):
    status: str
    attempts: int
    provider: str
    provider_message_id: str | None
    error: str | None


class Claim(NamedTuple):
    new: bool
    previous: Recorded | None


class DeliveryLedger:
    """The ledger over one shared connection (one thread at a time); reconnects if broken.
    `connect` opens a connection to the Postgres that holds `agent_deliveries`."""

    def __init__(self, connect: Callable[[], psycopg.Connection[Any]]) -> None:
        self._shared = SharedConnection(connect, "delivery ledger")

    def claim(self, req: DeliveryRequested) -> Claim:
        with self._shared.use() as conn, conn.transaction():
            inserted = conn.execute(
                "INSERT INTO agent_deliveries (tenant_id, delivery_id, task_id, channel, "
                "customer_ref, variant, status, attempts) VALUES (%s, %s, %s, %s, %s, %s, "
                "'sending', 1) ON CONFLICT (tenant_id, delivery_id) DO NOTHING "
                "RETURNING 1", (req.tenant_id, req.delivery_id, req.task_id, req.channel,
                                req.customer_ref, req.variant)).fetchone()
            if inserted:
                return Claim(True, None)
            row = conn.execute(
                "SELECT status, attempts, provider, provider_message_id, error FROM "
                "agent_deliveries WHERE tenant_id = %s AND delivery_id = %s FOR UPDATE",
                (req.tenant_id, req.delivery_id)).fetchone()
            assert row is not None
            previous = Recorded(*row)
            if previous.status == "sending":
                conn.execute("UPDATE agent_deliveries SET attempts = attempts + 1, "
                             "updated_at = now() WHERE tenant_id = %s AND delivery_id = %s",
                             (req.tenant_id, req.delivery_id))
            return Claim(False, previous)

    def finish(self, req: DeliveryRequested, status: str, *, attempts: int, provider: str = "",
               provider_message_id: str | None = None, error: str | None = None) -> None:
        with self._shared.use() as conn:
            conn.execute(
                "UPDATE agent_deliveries SET status = %s, attempts = %s, provider = %s, "
                "provider_message_id = %s, error = %s, updated_at = now() "
                "WHERE tenant_id = %s AND delivery_id = %s",
                (status, attempts, provider, provider_message_id, error, req.tenant_id,
                 req.delivery_id))

    def release(self, req: DeliveryRequested) -> None:
        with self._shared.use() as conn:
            conn.execute(
                "DELETE FROM agent_deliveries WHERE tenant_id = %s AND delivery_id = %s AND "
                "status = 'sending'", (req.tenant_id, req.delivery_id))

    def contact(self, tenant_id: str, customer_ref: str) -> dict[str, str | None] | None:
        with self._shared.use() as conn:
            return customer_contact(conn, tenant_id, customer_ref)

    def unsubscribed(self, tenant_id: str, customer_ref: str, channel: str) -> bool:
        """Whether the customer unsubscribed from a message of `channel` (deliveries.outcomes,
        projections/delivery_outcomes_sink.py)."""
        with self._shared.use() as conn:
            return conn.execute(
                "SELECT EXISTS (SELECT 1 FROM delivery_results r JOIN delivery_outcomes o "
                "USING (tenant_id, delivery_id) WHERE r.tenant_id = %s AND r.customer_ref = %s "
                "AND r.channel = %s AND o.outcome = 'unsubscribed')",
                (tenant_id, customer_ref, channel)).fetchone() == (True,)

    def do_not_contact(self, tenant_id: str, customer_ref: str) -> bool:
        """Whether the CRM marks the customer `do_not_contact` (the latest value the
        update_crm agent set, view crm_customer_fields: JSON true or "true")."""
        with self._shared.use() as conn:
            return conn.execute(
                "SELECT EXISTS (SELECT 1 FROM crm_customer_fields WHERE tenant_id = %s AND "
                "customer_ref = %s AND field = 'do_not_contact' AND value IN "
                "('true'::jsonb, '\"true\"'::jsonb))", (tenant_id, customer_ref)
            ).fetchone() == (True,)

    def close(self) -> None:
        self._shared.close()


def customer_contact(conn: psycopg.Connection[Any], tenant_id: str, customer_ref: str
                     ) -> dict[str, str | None] | None:
    """The customer's contact fields from the restricted layer (`restricted_pii_fields`,
    subject kind `customer`), or None."""
    row = conn.execute("SELECT fields FROM restricted_pii_fields WHERE tenant_id = %s AND "
                       "subject_kind = 'customer' AND subject_id = %s",
                       (tenant_id, customer_ref)).fetchone()
    return None if row is None else dict(row[0])
