"""`auterity agents list | performance | task`: the AI agents the worker announced, how they
perform, and one task through the stream.

- `list` reads Postgres `ai_agents` (the projection of agents.registered) with the pipeline's
  owner credentials (DATABASE_URL): agent, type, status, task types with cost, and how many
  tasks each completed / failed (from `agent_tasks`).
- `performance [--agent A] [--tenant T] [--days N]` reads the view `agent_performance`
  (per agent, task type, tenant and day) and sums it per agent and task type.
- `task TYPE --input JSON` produces an `AgentTaskRequested` to agent.tasks.requested (as the
  ingest principal, after validating the JSON object); `--wait S` follows
  agent.tasks.completed for its result and prints it (exit 1 if the task failed, 2 if no
  result came within S seconds).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import uuid
from typing import Any

from runtime.settings import Settings

LIST_SQL = """
SELECT a.agent_id, a.agent_type, a.status, a.description, a.capabilities, a.created_at,
       count(t.task_id) FILTER (WHERE t.status = 'completed') AS completed,
       count(t.task_id) FILTER (WHERE t.status = 'failed') AS failed
FROM ai_agents a LEFT JOIN agent_tasks t ON t.agent_id = a.agent_id
GROUP BY a.agent_id ORDER BY a.agent_id
"""


def list_agents(settings: Settings) -> list[dict[str, Any]]:
    import psycopg

    with psycopg.connect(settings.resolved_database_url(), connect_timeout=5) as conn:
        rows = conn.execute(LIST_SQL).fetchall()
    return [{"agent_id": r[0], "agent_type": r[1], "status": r[2], "description": r[3],
             "capabilities": [{"task_type": c["task_type"],
                               "cost_per_operation_usd": c["cost_per_operation_usd"]}
                              for c in r[4]],
             "registered_at": r[5].isoformat(), "completed": r[6], "failed": r[7]}
            for r in rows]


def cmd_agents_list(args: argparse.Namespace, settings: Settings) -> int:
    agents = list_agents(settings)
    if args.json:
        print(json.dumps(agents, indent=2))
        return 0
    if not agents:
        print("no AI agents registered yet: start the worker (`auterity run` or the demo)")
        return 0
    print(f"{'agent':<22} {'type':<20} {'status':<8} {'done':>5} {'failed':>6}  task types")
    for a in agents:
        types = ", ".join(f"{c['task_type']} (${c['cost_per_operation_usd']:g})"
                          for c in a["capabilities"])
        print(f"{a['agent_id']:<22} {a['agent_type']:<20} {a['status']:<8} "
              f"{a['completed']:>5} {a['failed']:>6}  {types}")
    return 0


PERFORMANCE_SQL = """
SELECT agent_id, task_type, sum(executions) AS executions,
       sum(success_rate * executions) / sum(executions) AS success_rate,
       sum(avg_execution_ms * executions) / sum(executions) AS avg_execution_ms,
       avg(avg_confidence) AS avg_confidence, sum(cost_usd) AS cost_usd, min(day), max(day)
FROM agent_performance
WHERE (%(agent)s::text IS NULL OR agent_id = %(agent)s)
  AND (%(tenant)s::text IS NULL OR tenant_id = %(tenant)s)
  AND day >= current_date - %(days)s::int
GROUP BY agent_id, task_type ORDER BY agent_id, task_type
"""


def agent_performance(settings: Settings, agent: str | None = None, tenant: str | None = None,
                      days: int = 30) -> list[dict[str, Any]]:
    """Per agent and task type over the last `days` days (Postgres view agent_performance)."""
    import psycopg

    with psycopg.connect(settings.resolved_database_url(), connect_timeout=5) as conn:
        rows = conn.execute(PERFORMANCE_SQL, {"agent": agent, "tenant": tenant,
                                              "days": days}).fetchall()
    return [{"agent_id": r[0], "task_type": r[1], "executions": int(r[2]),
             "success_rate": float(r[3]), "avg_execution_ms": float(r[4]),
             "avg_confidence": None if r[5] is None else float(r[5]),
             "cost_usd": float(r[6]), "first_day": r[7].isoformat(),
             "last_day": r[8].isoformat()} for r in rows]


#: what an agent id looks like (processors/ai_agents/registration.py); anything else in
#: --agent is refused before it reaches a query
AGENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
PERIODS = {"hour": "toStartOfHour", "day": "toStartOfDay"}


def agent_metrics(settings: Settings, agent: str | None, tenant: str | None, days: int,
                  period: str) -> list[dict[str, Any]]:
    """Per agent, task type and `period` over the last `days` (ClickHouse agent_metrics);
    with `tenant`, read as that tenant (the metrics store filters every table to it)."""
    from projections.metrics_reader import open_metrics_reader

    if agent is not None and not AGENT_ID.fullmatch(agent):
        raise ValueError(f"--agent {agent!r} is not an agent id")
    where = f"created_at >= now() - INTERVAL {int(days)} DAY AND agent_id != ''"
    if agent is not None:
        where += f" AND agent_id = '{agent}'"
    with open_metrics_reader(settings, tenant=tenant) as reader:
        rows = reader.query(
            f"SELECT agent_id, task_type, {PERIODS[period]}(created_at) AS period, "
            "count() AS executions, avg(status = 'completed') AS success_rate, "
            "avg(execution_ms) AS avg_execution_ms, avg(confidence) AS avg_confidence, "
            f"sum(cost_usd) AS cost_usd FROM {reader.database}.agent_metrics FINAL "
            f"WHERE {where} GROUP BY agent_id, task_type, period "
            "ORDER BY agent_id, task_type, period")
    return [{"agent_id": r["agent_id"], "task_type": r["task_type"],
             "period": str(r["period"]), "executions": int(r["executions"]),
             "success_rate": float(r["success_rate"]),
             "avg_execution_ms": float(r["avg_execution_ms"]),
             "avg_confidence": None if r["avg_confidence"] is None
             else float(r["avg_confidence"]),
             "cost_usd": float(r["cost_usd"])} for r in rows]


def cmd_agents_performance(args: argparse.Namespace, settings: Settings) -> int:
    if args.days < 1:
        raise ValueError(f"--days must be at least 1, not {args.days}")
    if args.clickhouse:
        return _print_metrics(agent_metrics(settings, args.agent, args.tenant, args.days,
                                            args.period), args)
    rows = agent_performance(settings, args.agent, args.tenant, args.days)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no completed AI agent tasks in the last {args.days} days")
        return 0
    print(f"{'agent':<22} {'task type':<18} {'runs':>6} {'success':>8} {'avg ms':>9} "
          f"{'conf':>5} {'cost $':>9}")
    for r in rows:
        conf = "-" if r["avg_confidence"] is None else f"{r['avg_confidence']:.2f}"
        print(f"{r['agent_id']:<22} {r['task_type']:<18} {r['executions']:>6} "
              f"{r['success_rate']:>8.1%} {r['avg_execution_ms']:>9.0f} {conf:>5} "
              f"{r['cost_usd']:>9.4f}")
    return 0


def _print_metrics(rows: list[dict[str, Any]], args: argparse.Namespace) -> int:
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no AI agent task metrics in the last {args.days} days")
        return 0
    print(f"{'agent':<22} {'task type':<18} {args.period:<19} {'runs':>6} {'success':>8} "
          f"{'avg ms':>9} {'conf':>5} {'cost $':>9}")
    for r in rows:
        conf = "-" if r["avg_confidence"] is None else f"{r['avg_confidence']:.2f}"
        print(f"{r['agent_id']:<22} {r['task_type']:<18} {r['period'][:19]:<19} "
              f"{r['executions']:>6} {r['success_rate']:>8.1%} {r['avg_execution_ms']:>9.0f} "
              f"{conf:>5} {r['cost_usd']:>9.4f}")
    return 0


def task_request(task_type: str, input_json: str, tenant: str, agent_type: str = "any"
                 ) -> Any:
    """The AgentTaskRequested to send; ValueError naming what is wrong with the input."""
    from schemas.events import AgentTaskRequested, utcnow

    try:
        data = json.loads(input_json)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--input is not JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"--input must be a JSON object, not a {type(data).__name__}")
    return AgentTaskRequested(event_id=str(uuid.uuid4()), tenant_id=tenant,
                              occurred_at=utcnow(), task_id=f"task-{uuid.uuid4()}",
                              agent_type=agent_type, task_type=task_type,
                              input_json=json.dumps(data))


def cmd_agents_task(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.kafka_io import read_topic
    from runtime import kafka_clients
    from runtime.kafka_auth import Principal
    from schemas import serde, topics
    from schemas.events import AgentTaskCompleted

    req = task_request(args.task_type, args.input, args.tenant)
    producer = kafka_clients.producer(settings, principal=Principal.INGEST)
    producer.produce(topics.AGENT_TASKS_REQUESTED.name(settings.topic_prefix),
                     key=req.task_id.encode(), value=serde.encode(req))
    if producer.flush(30) != 0:
        raise RuntimeError("the task request was not acknowledged by Kafka within 30 s")
    print(f"requested {req.task_id} ({req.task_type}) for {req.tenant_id}", file=sys.stderr)
    if args.wait <= 0:
        print(json.dumps({"task_id": req.task_id}))
        return 0
    deadline = time.monotonic() + args.wait
    name = topics.AGENT_TASKS_COMPLETED.name(settings.topic_prefix)
    while time.monotonic() < deadline:
        for m in read_topic(settings, name, principal=Principal.READER, idle_timeout=1.0):
            if m.key() == req.task_id.encode():
                done = serde.decode(m.value(), AgentTaskCompleted)
                print(done.model_dump_json(indent=2))
                return 0 if done.status == "completed" else 1
        time.sleep(0.5)
    print(f"no result for {req.task_id} within {args.wait:g} s (is the worker running?)",
          file=sys.stderr)
    return 2


def add_agents_commands(sub: Any) -> None:
    p = sub.add_parser("agents", help="AI agents: list them, run a task",
                       description="AI agents (processors/ai_agents; not Faust agents): the "
                                   "ones the worker announced, and tasks through the stream.")
    ag = p.add_subparsers(dest="agents_command", required=True, metavar="ACTION")
    s = ag.add_parser("list", help="registered agents, their task types and task counts")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(fn=cmd_agents_list)
    s = ag.add_parser("performance", help="success rate, execution time, confidence and "
                                          "cost per agent and task type")
    s.add_argument("--agent", help="one agent id")
    s.add_argument("--tenant", help="one dealership")
    s.add_argument("--days", type=int, default=30, help="days back (default %(default)s)")
    s.add_argument("--clickhouse", action="store_true",
                   help="per period from ClickHouse agent_metrics (default: the Postgres "
                        "agent_performance rollup)")
    s.add_argument("--period", choices=sorted(PERIODS), default="day",
                   help="with --clickhouse: executions per hour or day (default %(default)s)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(fn=cmd_agents_performance)
    s = ag.add_parser("task", help="request one task (optionally wait for its result)")
    s.add_argument("task_type", help="the task type, e.g. llm_generate")
    s.add_argument("--input", required=True, help='the task input, a JSON object, e.g. '
                                                  '\'{"prompt": "..."}\'')
    s.add_argument("--tenant", default="dealer-001", help="the dealership (default %(default)s)")
    s.add_argument("--wait", type=float, default=0.0,
                   help="seconds to wait for the result (default: do not wait)")
    s.set_defaults(fn=cmd_agents_task)
