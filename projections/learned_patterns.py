"""What the agents learned, read back from Postgres:

- per campaign and message variant, what customers did with the messages sent (the view
  `agent_learned_patterns` over delivery_results and delivery_outcomes,
  projections/delivery_outcomes_sink.py): the campaign agent reads it before each split;
- per agent and task type, the recorded performance (`agent_tasks`, the last
  PERFORMANCE_DAYS): the worker seeds its selection book with it at start-up, so a restart
  does not put every agent back on trial.

One connection, one thread at a time (runtime.postgres.SharedConnection: bounded time,
reconnects, `StoreUnavailable` when Postgres is not there). Reads name the tenant
explicitly: the worker's connection is the owner's, so row-level security does not apply.
"""

from __future__ import annotations

from typing import Any

import psycopg

from processors.ai_agents.campaign import VariantScore
from processors.ai_agents.selection import RecordedPerformance
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


#: how far back the start-up seed of the selection book looks
PERFORMANCE_DAYS = 30


def recorded_performance(settings: Settings, days: int = PERFORMANCE_DAYS
                         ) -> list[RecordedPerformance]:
    """Per (agent, task type) the totals of its tasks in the last `days` (every tenant: an
    agent's skill at a task type is not a tenant's secret, its outputs stay where they are)."""
    with connect(settings.resolved_database_url(), "auterity-agent-performance") as conn:
        migrate(conn)
        rows = conn.execute(
            "SELECT agent_id, task_type, count(*), count(*) FILTER (WHERE status = "
            "'completed'), coalesce(sum(execution_ms), 0), coalesce(sum(cost_usd), 0), "
            "coalesce(sum(confidence), 0), count(confidence) FROM agent_tasks "
            "WHERE agent_id IS NOT NULL AND created_at > now() - make_interval(days => %s) "
            "GROUP BY agent_id, task_type", (days,)).fetchall()
    return [RecordedPerformance(a, t, int(n), int(ok), float(ms), float(cost), float(cs),
                                int(cn)) for a, t, n, ok, ms, cost, cs, cn in rows]
