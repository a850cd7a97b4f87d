"""What the stream holds about a customer or fleet account, read for the customer
intelligence agent (processors/ai_agents/intelligence.py `FactStore`): the conversations,
call analyses and document extractions the request names, the VINs of those documents from
the restricted layer (enrichment keys only), the customer's CRM fields and open CRM tasks,
and what the customer did with the messages sent (delivery_results / delivery_outcomes).

One connection, one thread at a time (runtime.postgres.SharedConnection: bounded time,
reconnects, `StoreUnavailable` when Postgres is not there). Every query names the tenant:
the worker's connection is the owner's, so row-level security does not apply.
"""

from __future__ import annotations

from typing import Any

import psycopg

from processors.ai_agents.intelligence import (
    CallFact,
    ConversationFact,
    DocumentFact,
    Engagement,
    Facts,
    ProfileInput,
)
from projections.postgres_schema import migrate
from runtime.postgres import SharedConnection, connect
from runtime.settings import Settings

_CONVERSATIONS = """
SELECT session_id, count(*), array_agg(DISTINCT channel ORDER BY channel), min(created_at),
       max(created_at)
FROM ai_conversations WHERE tenant_id = %s AND session_id = ANY(%s) GROUP BY session_id"""
_CALLS = """
SELECT call_id, summary, sentiment, sentiment_label, score, action_items, created_at
FROM call_analyses WHERE tenant_id = %s AND call_id = ANY(%s)"""
_DOCUMENTS = """
SELECT document_id, document_kind, fields, created_at
FROM document_extractions WHERE tenant_id = %s AND document_id = ANY(%s)"""
_VINS = """
SELECT DISTINCT fields->>'vin' FROM restricted_pii_fields
WHERE tenant_id = %s AND subject_kind = 'document' AND subject_id = ANY(%s)
  AND fields ? 'vin'"""
_CRM = """
SELECT field, value FROM crm_customer_fields WHERE tenant_id = %s AND customer_ref = %s"""
_OPEN_TASKS = """
SELECT count(*) FROM crm_tasks WHERE tenant_id = %s AND customer_ref = %s AND status = 'open'"""
_ENGAGEMENT = """
SELECT count(*) FILTER (WHERE r.status = 'sent'),
       count(*) FILTER (WHERE r.status = 'sent' AND (o.replied OR o.booked)),
       count(*) FILTER (WHERE o.unsubscribed), count(*) FILTER (WHERE o.bounced)
FROM delivery_results r
LEFT JOIN (SELECT tenant_id, delivery_id, bool_or(outcome = 'replied') AS replied,
                  bool_or(outcome = 'booked') AS booked,
                  bool_or(outcome = 'unsubscribed') AS unsubscribed,
                  bool_or(outcome = 'bounced') AS bounced
           FROM delivery_outcomes WHERE tenant_id = %s GROUP BY tenant_id, delivery_id) o
       USING (tenant_id, delivery_id)
WHERE r.tenant_id = %s AND r.customer_ref = %s"""


def _call(row: tuple[Any, ...]) -> CallFact:
    call_id, summary, sentiment, label, score, items, created_at = row
    score = score or {}
    return CallFact(call_id=call_id, summary=summary or "", sentiment=sentiment,
                    sentiment_label=label or "",
                    call_score=score.get("score") if isinstance(score, dict) else None,
                    appointment_set=bool(isinstance(score, dict)
                                         and score.get("appointment_set")),
                    action_items=[str(i.get("task", "")) if isinstance(i, dict) else str(i)
                                  for i in (items or [])],
                    created_at=created_at)


class PgCustomerFacts:
    """`FactStore` from Postgres (module doc)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._shared = SharedConnection(self._open, "customer facts")

    def _open(self) -> psycopg.Connection[Any]:
        conn = connect(self.settings.resolved_database_url(), "auterity-customer-facts")
        migrate(conn)
        return conn

    def facts(self, tenant_id: str, request: ProfileInput) -> Facts:
        t, ref = tenant_id, request.customer_ref
        with self._shared.use() as conn:
            def rows(sql: str, *params: Any) -> list[tuple[Any, ...]]:
                return conn.execute(sql, params, prepare=False).fetchall()

            conversations = [ConversationFact(conversation_id=r[0], messages=r[1],
                                              channels=list(r[2]), first_at=r[3], last_at=r[4])
                             for r in rows(_CONVERSATIONS, t, request.conversation_ids)]
            calls = [_call(r) for r in rows(_CALLS, t, request.call_ids)]
            documents = [DocumentFact(document_id=r[0], kind=r[1], fields=dict(r[2] or {}),
                                      created_at=r[3])
                         for r in rows(_DOCUMENTS, t, request.document_ids)]
            vins = [r[0] for r in rows(_VINS, t, request.document_ids) if r[0]]
            crm: dict[str, Any] = {}
            open_tasks = 0
            engagement = Engagement()
            if ref is not None:
                crm = {field: value for field, value in rows(_CRM, t, ref)}
                open_tasks = int(rows(_OPEN_TASKS, t, ref)[0][0])
                sent, engaged, unsubscribed, bounced = rows(_ENGAGEMENT, t, t, ref)[0]
                engagement = Engagement(sent=sent, engaged=engaged, unsubscribed=unsubscribed,
                                        bounced=bounced)
        return Facts(conversations=conversations, calls=calls, documents=documents,
                     vehicle_keys=vins, crm_fields=crm, open_tasks=open_tasks,
                     engagement=engagement)

    def close(self) -> None:
        self._shared.close()
