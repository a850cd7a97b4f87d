"""AI agents' long-term memory in Postgres + pgvector: a projection of completed tasks, and
the recall the agent step runs before each task (processors/ai_agents/memory.py).

`postgres_agent_memory` reads agent.tasks.completed: each result an agent produced becomes
one `agent_memory` row (memory type `task` or `failure`), its `memory_text` embedded with the
packaged MiniLM (384-d, unit norm) into a `vector(384)` column under an HNSW index
(cosine). Rejections (no agent ran) are no experience and are not remembered.

Invariants:
- a memory is a projection of the log: rows and offsets in one transaction; keyed (tenant,
  memory id = "task:" + task id), latest event wins, so a redelivery changes nothing and a
  rebuild from offset 0 yields the same rows (expiry included: `expires_at` is fixed by the
  event's time, processors/ai_agents/memory.py EXPIRY);
- expired rows are never recalled and are deleted by the projection at most every
  `PURGE_EVERY_S` (also when nothing new arrives for a while: on the next batch);
- recall reads one tenant's memories of one task type (and, for the context window, of one
  agent); `agent_memory` has row-level security per tenant like every tenant table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import psycopg
from confluent_kafka import Message, Producer
from pgvector import Vector
from pgvector.psycopg import register_vector

from processors.ai_agents.memory import (
    CONTEXT_WINDOW,
    RECALL_K,
    Memory,
    Recollection,
    bounded_window,
    expires_at,
    memory_type,
)
from processors.embeddings import MiniLmEmbedder, default_embedder
from projections.postgres_schema import migrate
from projections.postgres_sink import PostgresProjection, copy_rows
from projections.postgres_targets import SOURCE, insert_one_per_key, source_of, update_all_but
from runtime.postgres import SharedConnection, connect
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import AgentTaskCompleted

log = logging.getLogger("auterity.projections")

PURGE_EVERY_S = 3600.0
#: HNSW candidates per search (pgvector's default is 40): recall@10 is in the bench
#: (bench/agents_bench.py)
EF_SEARCH = 100
#: a (tenant, task type) with fewer memories than this is searched exactly (its rows by
#: index, then sorted: exact and fast); a larger one through the HNSW index
EXACT_BELOW = 5000
#: how long a (tenant, task type)'s memory count is trusted
SIZE_TTL_S = 60.0

COLUMNS = ("tenant_id", "memory_id", "memory_type", "agent_id", "task_type", "task_id",
           "content", "success", "confidence", "embedding", "event_id", "created_at",
           "expires_at", *SOURCE)
UPSERT = (insert_one_per_key("agent_memory", COLUMNS, "tenant_id, memory_id",
                             "created_at DESC, event_id DESC")
          + update_all_but(COLUMNS, keep=("tenant_id", "memory_id"))
          + " WHERE (EXCLUDED.created_at, EXCLUDED.event_id) > (cur.created_at, cur.event_id)")


def vector_text(embedding: np.ndarray) -> str:
    """pgvector's text form of one embedding (what COPY takes)."""
    return str(Vector(embedding).to_text())


class PostgresAgentMemorySink(PostgresProjection):
    """Projection `postgres_agent_memory` of agent.tasks.completed (module doc)."""

    name = "postgres_agent_memory"
    step = "postgres_agent_memory_projection"

    def __init__(self, settings: Settings, producer: Producer | None = None,
                 embedder: MiniLmEmbedder | None = None) -> None:
        super().__init__(settings, producer)
        self.embedder = embedder or default_embedder()
        self._purged_at = 0.0

    def topic_names(self) -> list[str]:
        return [topics.AGENT_TASKS_COMPLETED.name(self.settings.topic_prefix)]

    def _prepare(self, m: Message) -> tuple[Any, ...] | None:
        ev = serde.decode(m.value(), AgentTaskCompleted)
        if ev.agent_id is None or not ev.memory_text:
            return None  # a rejection: no agent ran, nothing was learned
        kind = memory_type(ev.status == "completed")
        return (ev.tenant_id, f"task:{ev.task_id}", kind, ev.agent_id, ev.task_type,
                ev.task_id, ev.memory_text, ev.status == "completed", ev.confidence,
                ev.event_id, ev.occurred_at, expires_at(kind, ev.occurred_at), *source_of(m))

    def _apply(self, rows: Sequence[tuple[Any, ...] | None]) -> None:
        kept = [r for r in rows if r is not None]
        if kept:
            vectors = self.embedder.embed([r[6] for r in kept])
            copy_rows(self.conn, "_batch_agent_memory", "agent_memory", COLUMNS,
                      (r[:9] + (vector_text(v),) + r[9:] for r, v in zip(kept, vectors,
                                                                           strict=True)))
            self.conn.execute(UPSERT)
        if time.monotonic() - self._purged_at > PURGE_EVERY_S:
            purged = self.conn.execute("DELETE FROM agent_memory WHERE expires_at <= now()")
            if purged.rowcount:
                log.info("agent memory: %d expired memories deleted", purged.rowcount)
            self._purged_at = time.monotonic()


_SIMILAR = """
SELECT task_id, agent_id, task_type, memory_type, content, success, created_at,
       1 - (embedding <=> %(q)s) AS similarity
FROM agent_memory
WHERE tenant_id = %(tenant)s AND task_type = %(type)s AND expires_at > now()
  AND task_id IS DISTINCT FROM %(exclude)s
ORDER BY embedding <=> %(q)s LIMIT %(k)s"""
_RECENT = """
SELECT task_id, agent_id, task_type, memory_type, content, success, created_at, NULL
FROM agent_memory
WHERE tenant_id = %(tenant)s AND agent_id = %(agent)s AND expires_at > now()
  AND task_id IS DISTINCT FROM %(exclude)s
ORDER BY created_at DESC LIMIT %(window)s"""


def _memory(row: Sequence[Any]) -> Memory:
    task_id, agent_id, task_type, kind, content, success, created_at, similarity = row
    return Memory(task_id=task_id, agent_id=agent_id, task_type=task_type, memory_type=kind,
                  content=content, success=success, created_at=created_at,
                  similarity=None if similarity is None else float(similarity))


class PgMemoryRecall:
    """`processors.ai_agents.memory.MemoryRecall` over `agent_memory` (HNSW, cosine).

    One connection, used by one thread at a time (runtime.postgres.SharedConnection: bounded
    connect and statement time, reconnects if it broke, `StoreUnavailable` if Postgres is not
    there).

    The search path is chosen by size, not by the planner: tenant tables keep no column
    statistics (projections/postgres_schema.py: estimates must not reveal other tenants'
    values), so Postgres cannot tell a tenant with ten memories from one with a million.
    Under `EXACT_BELOW` memories of (tenant, task type) the rows are scored exactly; above it
    the query walks the HNSW index (sorting is priced out, `enable_sort = off`), with
    pgvector's iterative scan (`hnsw.iterative_scan`) so the tenant filter does not leave
    fewer than k rows.
    """

    def __init__(self, settings: Settings, embedder: MiniLmEmbedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._shared = SharedConnection(self._open, "agent memory")
        self._sizes: dict[tuple[str, str], tuple[float, int]] = {}

    def _open(self) -> psycopg.Connection[Any]:
        conn = connect(self.settings.resolved_database_url(), "auterity-agent-memory")
        migrate(conn)
        register_vector(conn)
        return conn

    def embed(self, text: str) -> np.ndarray:
        if self._embedder is None:
            self._embedder = default_embedder()
        return self._embedder.embed([text])[0]

    def recall(self, tenant_id: str, agent_id: str, task_type: str, text: str, *,
               k: int = RECALL_K, window: int = CONTEXT_WINDOW,
               exclude_task_id: str | None = None) -> Recollection:
        return self.recall_vector(tenant_id, agent_id, task_type, self.embed(text), k=k,
                                  window=window, exclude_task_id=exclude_task_id)

    def recall_vector(self, tenant_id: str, agent_id: str, task_type: str,
                      query: np.ndarray, *, k: int = RECALL_K, window: int = CONTEXT_WINDOW,
                      exclude_task_id: str | None = None, exact: bool | None = None
                      ) -> Recollection:
        """`recall` for an embedded query; `exact` True/False forces the exact scan or the
        HNSW index (the bench), None chooses by size (class doc)."""
        params = {"q": query, "tenant": tenant_id, "type": task_type, "agent": agent_id,
                  "exclude": exclude_task_id, "k": k, "window": window}
        with self._shared.use() as conn:
            if exact is None:
                exact = self._size(conn, tenant_id, task_type) < EXACT_BELOW
            with conn.transaction():
                if exact:
                    conn.execute("SET LOCAL enable_indexscan = off")
                else:
                    conn.execute("SET LOCAL enable_sort = off")
                    conn.execute(f"SET LOCAL hnsw.ef_search = {int(EF_SEARCH)}")
                    conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
                # never prepared: a cached plan would keep the path (exact or HNSW) of the
                # settings it was planned under
                similar = [_memory(r) for r in
                           conn.execute(_SIMILAR, params, prepare=False).fetchall()]
                recent = ([_memory(r) for r in
                           conn.execute(_RECENT, params, prepare=False).fetchall()]
                          if window else [])
        similar.sort(key=lambda m: -(m.similarity or 0.0))  # relaxed order: re-sorted
        return Recollection(similar=tuple(similar), recent=bounded_window(recent,
                                                                          window=window))

    def _size(self, conn: psycopg.Connection[Any], tenant_id: str, task_type: str) -> int:
        """The memories of (tenant, task type), counted at most every SIZE_TTL_S."""
        now = time.monotonic()
        cached = self._sizes.get((tenant_id, task_type))
        if cached is not None and now - cached[0] < SIZE_TTL_S:
            return cached[1]
        row = conn.execute("SELECT count(*) FROM agent_memory WHERE tenant_id = %s AND "
                           "task_type = %s", (tenant_id, task_type)).fetchone()
        size = int(row[0]) if row else 0
        self._sizes[(tenant_id, task_type)] = (now, size)
        return size

    def close(self) -> None:
        self._shared.close()
