"""AI agents: the dispatcher's overhead, and memory retrieval at 100k memories.

1. Tasks/s through `dispatch` (parse, choose the agent, run with timeout and retries, build
   the completed event, learn) vs calling the same trivial agent's `run` directly: the
   overhead ratio of the framework, not of a model.
2. Memory recall through `PgMemoryRecall.recall_vector` (the worker's query: one tenant and
   task type, HNSW with an iterative scan, ef_search `EF_SEARCH`) vs the same query as an
   exact scan, over `n` memories in a fresh database: p50 latency and recall@10 against the
   exact answer. The memories are MiniLM embeddings of distinct generated dealership
   messages, each jittered `JITTERS` times (so a query's ten nearest are near-duplicates to
   rank finely, the hard case for an approximate index), all of one tenant and task type
   (a large dealership's memory: the case the HNSW index is for; a small tenant's rows are
   few enough that Postgres scans them exactly, through the (tenant, agent) index).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import time
import uuid
from typing import Any

import numpy as np
import psycopg
from psycopg.conninfo import make_conninfo
from pydantic import BaseModel

from bench.table import log, row
from connectors.samples.conversations import generate_conversations
from processors.ai_agents.dispatch import AgentRegistry, DispatchPolicy, dispatch
from processors.ai_agents.model import AgentTask, AiAgent, Capability, TaskOutcome
from processors.ai_agents.selection import PerformanceBook
from processors.embeddings import DIMENSIONS, default_embedder, normalise
from projections.agent_memory import EF_SEARCH, PgMemoryRecall, vector_text
from projections.postgres_schema import migrate
from runtime.settings import Settings
from schemas.events import AgentTaskRequested, utcnow

JITTERS = 50
TENANTS = 1
NOISE = 0.04  # per dimension: a jitter keeps cosine ~0.8 to its message


class _Echo(BaseModel):
    text: str


class _EchoAgent(AiAgent):
    CAPABILITIES = (Capability(task_type="echo", description="echo", input_model=_Echo,
                               output_model=_Echo),)

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        assert isinstance(payload, _Echo)
        return TaskOutcome(success=True, output={"text": payload.text}, confidence=1.0)


def dispatcher_rows(n: int) -> list[dict[str, Any]]:
    agent = _EchoAgent("echo-1")
    registry = AgentRegistry([agent])
    book = PerformanceBook()
    reqs = [AgentTaskRequested(event_id=str(uuid.uuid4()), tenant_id="bench",
                               occurred_at=utcnow(), task_id=f"t{i}", agent_type="bench",
                               task_type="echo", input_json='{"text": "hello"}')
            for i in range(n)]
    tasks = [AgentTask(task_id=f"t{i}", tenant_id="bench", task_type="echo",
                       input={"text": "hello"}) for i in range(n)]

    async def direct() -> float:
        t0 = time.perf_counter()
        for t in tasks:
            await agent.run(t)
        return time.perf_counter() - t0

    async def ours() -> float:
        t0 = time.perf_counter()
        for r in reqs:
            await dispatch(r, registry, book, DispatchPolicy())
        return time.perf_counter() - t0

    base_s, ours_s = asyncio.run(direct()), asyncio.run(ours())
    return [row("AI agent tasks/s: dispatch() vs agent.run()", "agent.run", n / base_s,
                n / ours_s, "tasks/s")]


def _memories(n: int) -> tuple[np.ndarray, list[str]]:
    """`n` unit vectors: MiniLM embeddings of n / JITTERS messages, each jittered."""
    bases = max(1, -(-n // JITTERS))  # rounded up: every vector has a message
    texts = list(dict.fromkeys(m.text for m in generate_conversations(bases * 3, TENANTS)))
    if len(texts) < bases:
        raise RuntimeError(f"only {len(texts)} distinct sample messages for {bases} bases")
    log(f"agent memory: embedding {bases:,} messages (MiniLM)")
    base = default_embedder().embed(texts[:bases])
    rng = np.random.default_rng(11)
    vectors = normalise(np.repeat(base, JITTERS, axis=0)[:n]
                        + rng.normal(0, NOISE, (n, DIMENSIONS)).astype(np.float32))
    return vectors, texts[:bases]


def memory_rows(settings: Settings, n: int, queries: int = 200) -> list[dict[str, Any]]:
    dbname = f"bench_{uuid.uuid4().hex[:10]}"
    admin_url = settings.resolved_database_url()
    bench_url = make_conninfo(admin_url, dbname=dbname)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{dbname}"')
    try:
        vectors, _ = _memories(n + queries)
        rng = np.random.default_rng(5)
        order = rng.permutation(len(vectors))
        stored, probes = vectors[order[:n]], vectors[order[n:]]
        now = utcnow()
        with psycopg.connect(bench_url, autocommit=True) as conn:
            migrate(conn)
            conn.execute("DROP INDEX agent_memory_embedding")  # built once, after the load
            log(f"agent memory: loading {n:,} memories into {dbname}")
            with conn.transaction(), conn.cursor().copy(
                    "COPY agent_memory (tenant_id, memory_id, memory_type, agent_id, task_type, "
                    "task_id, content, success, embedding, event_id, created_at, expires_at, "
                    "source_topic, source_partition, source_offset) FROM STDIN") as cp:
                for i, v in enumerate(stored):
                    cp.write_row((f"t{i % TENANTS}", f"task:m{i}", "task", "a-1",
                                  "llm_generate", f"m{i}", "memory", True, vector_text(v),
                                  f"e{i}", now, now + dt.timedelta(days=90), "bench", 0, i))
            conn.execute("SET maintenance_work_mem = '1GB'")
            t0 = time.perf_counter()
            conn.execute("CREATE INDEX agent_memory_embedding ON agent_memory "
                         "USING hnsw (embedding vector_cosine_ops)")
            build_s = time.perf_counter() - t0
            conn.execute("ANALYZE agent_memory")
        log(f"agent memory: HNSW built in {build_s:.0f}s; {queries} queries, HNSW and exact")
        recall = PgMemoryRecall(settings.model_copy(update={"database_url": bench_url}))
        lat: dict[bool, list[float]] = {True: [], False: []}
        hits = 0
        try:
            for j, q in enumerate(probes):
                tenant = f"t{j % TENANTS}"
                got = {}
                for exact in (True, False):
                    t0 = time.perf_counter()
                    rec = recall.recall_vector(tenant, "a-1", "llm_generate", q, k=10,
                                               window=0, exact=exact)
                    lat[exact].append((time.perf_counter() - t0) * 1000)
                    got[exact] = {m.task_id for m in rec.similar}
                hits += len(got[True] & got[False])
        finally:
            recall.close()
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    p50_exact, p50_hnsw = statistics.median(lat[True]), statistics.median(lat[False])
    label = f"agent memory recall, {n // 1000}k memories"
    return [
        row(f"{label}: p50 ms, HNSW (ef_search {EF_SEARCH}) vs exact scan", "exact scan",
            p50_exact, p50_hnsw, "ms"),
        row(f"{label}: recall@10 of HNSW vs the exact top 10", "exact", 1.0,
            hits / (10 * len(probes)), "recall"),
        row(f"{label}: HNSW index build", "", None, build_s, "s", ratio=None),
    ]
