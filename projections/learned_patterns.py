"""The learned patterns the agents read before deciding: per campaign and message variant,
what customers did with the messages sent (the view `agent_learned_patterns` over
delivery_results and delivery_outcomes, projections/delivery_outcomes_sink.py).

One connection, one thread at a time (runtime.postgres.SharedConnection: bounded time,
reconnects, `StoreUnavailable` when Postgres is not there). Reads name the tenant
explicitly: the worker's connection is the owner's, so row-level security does not apply.
"""

from __future__ import annotations

from typing import Any

import psycopg

from processors.ai_agents.campaign import VariantScore
from projections.postgres_schema import migrate
from runtime.postgres import SharedConnection, connect
from runtime.settings import Settings


class PgVariantStats:
    """`VariantStats` (processors/ai_agents/campaign.py) from Postgres."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._shared = SharedConnection(self._open, "learned patterns")

    def _open(self) -> psycopg.Connection[Any]:
        conn = connect(self.settings.resolved_database_url(), "auterity-learned-patterns")
        migrate(conn)
        return conn

    def variant_scores(self, tenant_id: str, campaign_id: str, channel: str
                       ) -> dict[str, VariantScore]:
        with self._shared.use() as conn:
            rows = conn.execute(
                "SELECT variant, sent, engaged, unsubscribed FROM agent_learned_patterns "
                "WHERE tenant_id = %s AND campaign_id = %s AND channel = %s",
                (tenant_id, campaign_id, channel), prepare=False).fetchall()
        return {v: VariantScore(sent=int(s), engaged=int(e), unsubscribed=int(u))
                for v, s, e, u in rows}

    def close(self) -> None:
        self._shared.close()
