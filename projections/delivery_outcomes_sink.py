"""What became of each delivery and what its customer did -> Postgres, the facts the agents
learn from (the view `agent_learned_patterns`, projections/postgres_schema.py).

`postgres_delivery_outcomes` reads deliveries.completed (one `delivery_results` row per
delivery: its campaign, variant, channel, customer reference and status) and
deliveries.outcomes (one `delivery_outcomes` row per delivery and outcome: replied, booked,
unsubscribed, bounced).

Invariants: both tables are keyed by their natural keys and keep the latest event, offsets
in the same transaction, so a redelivered event counts once; the learned counts are a join
made when read, so an outcome that arrives before its delivery's result is counted as soon
as the result lands (the two topics are not ordered with each other); no address and no
reply text is stored.
"""

from __future__ import annotations

from confluent_kafka import Message

from projections.postgres_targets import (
    SOURCE,
    Rows,
    Target,
    TargetedProjection,
    latest_wins,
    source_of,
)
from schemas import topics
from schemas.events import DeliveryCompleted, DeliveryOutcome

RESULT_COLUMNS = ("tenant_id", "delivery_id", "task_id", "channel", "customer_ref",
                  "campaign_id", "variant", "status", "event_id", "created_at", *SOURCE)
RESULTS = Target("delivery_results", RESULT_COLUMNS,
                 latest_wins("delivery_results", RESULT_COLUMNS, "tenant_id, delivery_id"))
OUTCOME_COLUMNS = ("tenant_id", "delivery_id", "outcome", "event_id", "created_at", *SOURCE)
OUTCOMES = Target("delivery_outcomes", OUTCOME_COLUMNS,
                  latest_wins("delivery_outcomes", OUTCOME_COLUMNS,
                              "tenant_id, delivery_id, outcome"))


def result_rows(m: Message, ev: DeliveryCompleted) -> Rows:
    return [(RESULTS, (ev.tenant_id, ev.delivery_id, ev.task_id, ev.channel, ev.customer_ref,
                       ev.campaign_id, ev.variant, ev.status, ev.event_id, ev.occurred_at,
                       *source_of(m)))]


def outcome_rows(m: Message, ev: DeliveryOutcome) -> Rows:
    return [(OUTCOMES, (ev.tenant_id, ev.delivery_id, ev.outcome, ev.event_id, ev.occurred_at,
                        *source_of(m)))]


class PostgresDeliveryOutcomeSink(TargetedProjection):
    """Projection `postgres_delivery_outcomes` (module doc)."""

    name = "postgres_delivery_outcomes"
    step = "postgres_delivery_outcomes_projection"
    specs = (topics.DELIVERIES_COMPLETED, topics.DELIVERIES_OUTCOMES)
    handlers = {DeliveryCompleted: result_rows, DeliveryOutcome: outcome_rows}
    targets = (RESULTS, OUTCOMES)
