"""AI agents' long-term memory on the real stack: completed tasks projected into pgvector
(MiniLM embeddings, HNSW), recall returning the right neighbours (the exact top-k of the
same embeddings), per tenant, without expired memories, and a task on the stream being
handed its nearest past tasks."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import numpy as np

from processors.ai_agents.memory import query_text
from processors.embeddings import default_embedder
from projections.agent_memory import PgMemoryRecall, vector_text
from runtime import kafka_clients
from runtime.kafka_auth import Principal
from schemas import serde, topics
from schemas.events import AgentTaskCompleted, utcnow

from .conftest import wait_for
from .test_agent_tasks import _decoded, _request, _results, _send

PAST = {  # task id suffix -> (prompt, output)
    "brakes": ("Customer says the brakes squeal when stopping at lights",
               "Offered a brake pad and rotor inspection this week"),
    "oil": ("Remind the customer their synthetic oil change is due",
            "Sent an oil change reminder with a coupon"),
    "lease": ("Lease ends next month, customer asks about returning the car",
              "Explained lease-end inspection and buyout options"),
    "tyres": ("Customer wants winter tyres mounted before the snow",
              "Booked a winter tyre changeover"),
    "finance": ("Customer asks what APR they qualify for on a new SUV",
                "Shared current finance offers and asked for a credit application"),
    "recall": ("Customer received a safety recall letter for the airbag",
               "Scheduled the airbag recall repair at no cost"),
}


def _completed(tenant: str, task_id: str, prompt: str, output: str, *,
               occurred_at: dt.datetime | None = None,
               status: str = "completed") -> AgentTaskCompleted:
    text = query_text("llm_generate", {"prompt": prompt}) + " -> " + json.dumps({"text": output})
    return AgentTaskCompleted(
        event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=occurred_at or utcnow(),
        task_id=task_id, agent_type="generic", task_type="llm_generate", status=status,
        output_json=json.dumps({"text": output}), agent_id="llm-generate-1",
        memory_text=text, error=None if status == "completed" else "model refused")


def _publish(settings, events: list[AgentTaskCompleted]) -> None:
    p = kafka_clients.producer(settings, principal=Principal.ADMIN)
    for ev in events:
        p.produce(topics.AGENT_TASKS_COMPLETED.name(settings.topic_prefix),
                  key=ev.task_id.encode(), value=serde.encode(ev))
    assert p.flush(30) == 0


def _stored(pg, tenant: str) -> int:
    return pg.execute("SELECT count(*) FROM agent_memory WHERE tenant_id = %s",
                      (tenant,)).fetchone()[0]


def test_recall_returns_the_nearest_memories_of_the_tenant_and_never_expired_ones(pipeline, pg):
    settings = pipeline
    run = uuid.uuid4().hex[:6]
    tenant, other = f"dealer-m{run}", f"dealer-n{run}"
    old = utcnow() - dt.timedelta(days=40)  # past a failure's 30 days, within a task's 90
    events = [_completed(tenant, f"{run}-{k}", p, o) for k, (p, o) in PAST.items()]
    events += [
        _completed(tenant, f"{run}-old-ok", "Brakes grind and squeal on the highway",
                   "Booked a brake inspection", occurred_at=old),
        _completed(tenant, f"{run}-old-failed", "Brakes squeal badly when I stop",
                   "", occurred_at=old, status="failed"),
        # another dealership's memory, the nearest of all to the query below
        _completed(other, f"{run}-other", "The brakes squeal when stopping at lights",
                   "Offered a brake inspection"),
    ]
    _publish(settings, events)
    wait_for(lambda: _stored(pg, tenant) == len(PAST) + 2 and _stored(pg, other) == 1, 120,
             "the memories in agent_memory")
    expired = pg.execute("SELECT expires_at < now() FROM agent_memory WHERE tenant_id = %s "
                         "AND task_id = %s", (tenant, f"{run}-old-failed")).fetchone()[0]
    assert expired

    memory = PgMemoryRecall(settings)
    query = query_text("llm_generate", {"prompt": "My brakes are squealing, can you help?"})
    try:
        got = memory.recall(tenant, "llm-generate-1", "llm_generate", query, k=3)
    finally:
        memory.close()
    ids = [m.task_id for m in got.similar]
    assert set(ids[:2]) == {f"{run}-brakes", f"{run}-old-ok"}, ids  # the two brake squeals
    assert f"{run}-other" not in got.task_ids() and f"{run}-old-failed" not in got.task_ids()

    # the right neighbours: the exact top 3 by cosine over the same (unexpired) memories
    live = [e for e in events if e.tenant_id == tenant and e.task_id != f"{run}-old-failed"]
    embedder = default_embedder()
    vectors = embedder.embed([e.memory_text for e in live])
    scores = vectors @ embedder.embed([query])[0]
    exact = [live[i].task_id for i in np.argsort(-scores)[:3]]
    assert ids == exact
    assert [round(m.similarity or 0, 4) for m in got.similar] == [
        round(float(s), 4) for s in sorted(scores, reverse=True)[:3]]
    # the context window: this agent's latest memories for the tenant, newest first
    assert [m.created_at for m in got.recent] == sorted(
        (m.created_at for m in got.recent), reverse=True)
    assert len(got.recent) == 5 and f"{run}-old-failed" not in [m.task_id for m in got.recent]


def test_a_task_on_the_stream_is_handed_its_nearest_past_tasks(pipeline, pg):
    settings = pipeline
    run = uuid.uuid4().hex[:6]
    tenant = f"dealer-s{run}"
    _publish(settings, [_completed(tenant, f"{run}-{k}", p, o) for k, (p, o) in PAST.items()])
    wait_for(lambda: _stored(pg, tenant) == len(PAST), 120, "the memories")

    req = _request(tenant, "llm_generate", json.dumps(
        {"prompt": "A customer got a recall notice about the airbag. Reply in one sentence."}))
    _send(settings, req)
    [done] = _decoded(wait_for(lambda: _results(settings, req.task_id), 300, "the result"))
    assert done.status == "completed", done.error
    assert done.memory_error is None
    assert done.recalled_task_ids[0] == f"{run}-recall", done.recalled_task_ids
    # and the task itself becomes a memory, found by its own text
    wait_for(lambda: pg.execute("SELECT 1 FROM agent_memory WHERE tenant_id = %s AND "
                                "task_id = %s", (tenant, req.task_id)).fetchone(), 60,
             "the new task's memory")


def _index_scans(pg) -> int:
    return pg.execute("SELECT coalesce(sum(idx_scan), 0) FROM pg_stat_user_indexes "
                      "WHERE indexrelname = 'agent_memory_embedding'").fetchone()[0]


def test_a_large_memory_is_searched_through_hnsw_and_a_small_one_exactly(pipeline, pg,
                                                                          monkeypatch):
    """The path is chosen by size (tenant tables keep no statistics for the planner), and a
    cached plan never keeps the other path: a generic prepared plan (psycopg prepares after
    5 runs, the server plans generically after 5 more) once kept the exact scan for every
    later HNSW search (failed first)."""
    tenant = f"dealer-h{uuid.uuid4().hex[:6]}"
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(40, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    now = utcnow()
    with pg.cursor() as cur:
        cur.executemany(
            "INSERT INTO agent_memory (tenant_id, memory_id, memory_type, agent_id, task_type, "
            "task_id, content, success, embedding, event_id, created_at, expires_at, "
            "source_topic, source_partition, source_offset) VALUES (%s, %s, 'task', 'a-1', "
            "'llm_generate', %s, 'memory', true, %s, %s, %s, %s, 'test', 0, 0)",
            [(tenant, f"task:h{i}", f"h{i}", vector_text(v), f"e{i}", now,
              now + dt.timedelta(days=1)) for i, v in enumerate(vectors)])
    memory = PgMemoryRecall(pipeline)
    query = vectors[7]

    def searched(exact: bool | None) -> tuple[list[str], bool]:
        """The ids found, and whether the HNSW index was scanned for them."""
        before = _index_scans(pg)
        ids = [m.task_id for m in memory.recall_vector(
            tenant, "a-1", "llm_generate", query, k=5, window=0, exact=exact).similar]
        # the recall session's statistics reach the shared view before this returns
        with memory._shared.use() as conn:
            conn.execute("SELECT pg_stat_force_next_flush()")
        return ids, _index_scans(pg) > before

    try:
        exact_ids = None
        for _ in range(12):  # past both thresholds (docstring)
            exact_ids, used = searched(True)
            assert not used
        assert exact_ids is not None and exact_ids[0] == "h7"
        ids, used = searched(False)
        assert used and ids == exact_ids  # 40 rows: the graph finds the exact top 5
        ids, used = searched(None)  # 40 memories: under EXACT_BELOW, scanned exactly
        assert not used and ids == exact_ids
        monkeypatch.setattr("projections.agent_memory.EXACT_BELOW", 10)
        monkeypatch.setattr("projections.agent_memory.SIZE_TTL_S", 0.0)
        ids, used = searched(None)
        assert used and ids == exact_ids
    finally:
        memory.close()

