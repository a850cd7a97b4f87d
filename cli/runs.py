"""`auterity runs list | show | stats | cancel` and `auterity clock now | advance | speed`.

- `list [--tenant T] [--workflow W] [--status S] [--limit N]` reads the view `workflow_runs`
  (the fold of `workflow_run_events`, projections/workflow_runs_sink.py) with the owner's
  credentials: run, workflow and version, customer reference, status, current step, error;
- `show RUN` prints the run's steps (view `workflow_step_runs`) and its history;
- `stats [--tenant T] [--workflow W]` reads ClickHouse `run_metrics`: runs per outcome,
  step latency, timer lateness, per workflow and version;
- `cancel RUN [--reason R]` produces a cancellation to workflow.run_inputs (as the operator:
  the ingest credentials cannot write run inputs) for the run's tenant; the run step cancels
  every pending step and ends the run `cancelled`;
- `clock` moves the clock runs live in when `AUTERITY_CLOCK=file` (runtime/clock.py).
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import timedelta
from typing import Any

from runtime.settings import Settings

STATUSES = ("running", "completed", "failed", "cancelled")
LIST_SQL = """
SELECT run_id, tenant_id, workflow_id, workflow_version, customer, status, current_step,
       started_at, finished_at, tasks, last_error
FROM workflow_runs
WHERE (%(tenant)s::text IS NULL OR tenant_id = %(tenant)s)
  AND (%(workflow)s::text IS NULL OR workflow_id = %(workflow)s)
  AND (%(status)s::text IS NULL OR status = %(status)s)
ORDER BY started_at DESC NULLS LAST LIMIT %(limit)s
"""
COLUMNS = ("run_id", "tenant_id", "workflow_id", "workflow_version", "customer", "status",
           "current_step", "started_at", "finished_at", "tasks", "last_error")


def _connect(settings: Settings) -> Any:
    import psycopg

    return psycopg.connect(settings.resolved_database_url(), connect_timeout=5)


def _json(v: Any) -> Any:
    return v.isoformat() if hasattr(v, "isoformat") else v


def list_runs(settings: Settings, tenant: str | None = None, workflow: str | None = None,
              status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    with _connect(settings) as conn:
        rows = conn.execute(LIST_SQL, {"tenant": tenant, "workflow": workflow,
                                       "status": status, "limit": limit}).fetchall()
    return [{c: _json(v) for c, v in zip(COLUMNS, r, strict=True)} for r in rows]


def cmd_runs_list(args: argparse.Namespace, settings: Settings) -> int:
    runs = list_runs(settings, args.tenant, args.workflow, args.status, args.limit)
    if args.json:
        print(json.dumps(runs, indent=2))
        return 0
    if not runs:
        print("no workflow runs yet (a published workflow starts one on its trigger fact)")
        return 0
    print(f"{'run':<38} {'tenant':<16} {'workflow':<28} {'v':>2} {'status':<10} "
          f"{'step':<24} error")
    for r in runs:
        print(f"{r['run_id']:<38} {r['tenant_id']:<16} {r['workflow_id'][:28]:<28} "
              f"{r['workflow_version']:>2} {r['status']:<10} {(r['current_step'] or '-'):<24} "
              f"{(r['last_error'] or '')[:60]}")
    return 0


def show_run(settings: Settings, run_id: str) -> dict[str, Any] | None:
    with _connect(settings) as conn:
        head = conn.execute("SELECT " + ", ".join(COLUMNS) + " FROM workflow_runs WHERE "
                            "run_id = %s", (run_id,)).fetchone()
        if head is None:
            return None
        steps = conn.execute(
            "SELECT step_id, status, attempts, started_at, finished_at, task_id, last_error "
            "FROM workflow_step_runs WHERE run_id = %s ORDER BY started_at", (run_id,)
        ).fetchall()
        history = conn.execute(
            "SELECT created_at, kind, step_id, attempt, due_at, coalesce(error, reason) "
            "FROM workflow_run_events WHERE run_id = %s ORDER BY created_at, source_partition,"
            " source_offset", (run_id,)).fetchall()
    return {**{c: _json(v) for c, v in zip(COLUMNS, head, strict=True)},
            "steps": [dict(zip(("step_id", "status", "attempts", "started_at", "finished_at",
                                "task_id", "last_error"), map(_json, s), strict=True))
                      for s in steps],
            "history": [dict(zip(("at", "kind", "step_id", "attempt", "due_at", "note"),
                                 map(_json, h), strict=True)) for h in history]}


def cmd_runs_show(args: argparse.Namespace, settings: Settings) -> int:
    run = show_run(settings, args.run_id)
    if run is None:
        print(f"no run {args.run_id!r} (auterity runs list shows the runs)")
        return 1
    if args.json:
        print(json.dumps(run, indent=2))
        return 0
    print(f"run {run['run_id']} of {run['workflow_id']} v{run['workflow_version']} "
          f"({run['tenant_id']}, customer {run['customer']}): {run['status']}")
    for s in run["steps"]:
        print(f"  {s['step_id']:<28} {s['status']:<10} attempts {s['attempts']}  "
              f"{s['last_error'] or ''}")
    print("history:")
    for h in run["history"]:
        due = f" due {h['due_at']}" if h["due_at"] else ""
        print(f"  {h['at']}  {h['kind']:<15} {h['step_id'] or '':<28}{due} {h['note'] or ''}")
    return 0


def cmd_runs_cancel(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.ingest import produce
    from runtime.kafka_auth import Principal
    from schemas import topics
    from schemas.events import WorkflowRunInput, utcnow
    from schemas.ids import derived_id

    run = show_run(settings, args.run_id)
    if run is None:
        print(f"no run {args.run_id!r}")
        return 1
    if run["status"] != "running":
        print(f"run {args.run_id} is {run['status']}: nothing to cancel")
        return 1
    inp = WorkflowRunInput(event_id=derived_id(args.run_id, f"cancel:{args.reason}"),
                           tenant_id=run["tenant_id"], occurred_at=utcnow(),
                           run_id=args.run_id, kind="cancel", reason=args.reason)
    report = produce(settings, topics.WORKFLOW_RUN_INPUTS, [inp], principal=Principal.ADMIN)
    for problem in report.rejected:
        print(f"not sent: {problem}")
    if report.rejected:
        return 1
    print(f"cancellation of run {args.run_id} sent ({args.reason})")
    return 0


WORKFLOW_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")


def run_stats(settings: Settings, tenant: str | None, workflow: str | None = None
              ) -> list[dict[str, Any]]:
    """Per workflow and version (ClickHouse run_metrics): runs started / completed / failed /
    cancelled, tasks, step latency p50 and p95, timer lateness p50 and p99; with `tenant`,
    read as that tenant (the metrics store keeps it to its rows)."""
    from projections.metrics_reader import open_metrics_reader

    if workflow is not None and not WORKFLOW_ID.fullmatch(workflow):
        raise ValueError(f"--workflow {workflow!r} is not a workflow id")
    where = "1" if workflow is None else f"workflow_id = '{workflow}'"
    with open_metrics_reader(settings, tenant=tenant) as reader:
        rows = reader.query(
            "SELECT workflow_id, workflow_version, countIf(kind = 'run_started') AS started, "
            "countIf(kind = 'run_completed') AS completed, "
            "countIf(kind = 'run_failed') AS failed, "
            "countIf(kind = 'run_cancelled') AS cancelled, "
            "countIf(kind = 'step_scheduled') AS tasks, "
            "quantileIf(0.5)(duration_ms, kind = 'step_completed' AND lateness_ms IS NULL) "
            "AS step_p50_ms, "
            "quantileIf(0.95)(duration_ms, kind = 'step_completed' AND lateness_ms IS NULL) "
            "AS step_p95_ms, "
            "quantileIf(0.5)(lateness_ms, lateness_ms IS NOT NULL) AS late_p50_ms, "
            "quantileIf(0.99)(lateness_ms, lateness_ms IS NOT NULL) AS late_p99_ms "
            f"FROM {reader.database}.run_metrics FINAL WHERE {where} AND workflow_id != '' "
            "GROUP BY workflow_id, workflow_version ORDER BY workflow_id, workflow_version")
    out = []
    for r in rows:
        row = {k: (int(v) if k in ("workflow_version", "started", "completed", "failed",
                                   "cancelled", "tasks") else v) for k, v in r.items()}
        for k in ("step_p50_ms", "step_p95_ms", "late_p50_ms", "late_p99_ms"):
            v = row.get(k)
            row[k] = None if v is None or v != v else round(float(v), 1)  # NaN: none
        out.append(row)
    return out


def cmd_runs_stats(args: argparse.Namespace, settings: Settings) -> int:
    stats = run_stats(settings, args.tenant, args.workflow)
    if args.json:
        print(json.dumps(stats, indent=2))
        return 0
    print(f"{'workflow':<32} {'v':>2} {'started':>7} {'done':>5} {'failed':>6} "
          f"{'cancel':>6} {'tasks':>5} {'step p50/p95 ms':>17} {'late p50/p99 ms':>17}")
    for r in stats:
        print(f"{r['workflow_id'][:32]:<32} {r['workflow_version']:>2} {r['started']:>7} "
              f"{r['completed']:>5} {r['failed']:>6} {r['cancelled']:>6} {r['tasks']:>5} "
              f"{r['step_p50_ms']!s:>8}/{r['step_p95_ms']!s:<8} "
              f"{r['late_p50_ms']!s:>8}/{r['late_p99_ms']!s:<8}")
    return 0


_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")


def parse_span(text: str) -> timedelta:
    """`90s`, `15m`, `3h`, `3d` -> a timedelta; ValueError naming the form otherwise."""
    m = _SPAN.fullmatch(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not a span like 90s, 15m, 3h or 3d")
    n, unit = float(m[1]), m[2]
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: n})


def cmd_clock(args: argparse.Namespace, settings: Settings) -> int:
    from runtime import clock

    if args.clock_command == "advance":
        print(clock.advance(settings, parse_span(args.span)).isoformat())
    elif args.clock_command == "speed":
        print(clock.set_speed(settings, args.factor).isoformat())
    else:
        print(clock.now(settings).isoformat())
    return 0


def add_runs_commands(sub: Any) -> None:
    p = sub.add_parser("runs", help="workflow runs: list, show, cancel",
                       description="Runs of the published workflows (processors/workflows/"
                                   "runs.py), from Postgres workflow_runs.")
    r = p.add_subparsers(dest="runs_command", required=True, metavar="ACTION")
    s = r.add_parser("list", help="the latest runs")
    s.add_argument("--tenant", help="one dealership's runs")
    s.add_argument("--workflow", help="one workflow's runs")
    s.add_argument("--status", choices=STATUSES, help="runs in this state")
    s.add_argument("--limit", type=int, default=50, help="at most N runs (default 50)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(fn=cmd_runs_list)
    s = r.add_parser("stats", help="runs, step latency and timer lateness per workflow",
                     description="From ClickHouse run_metrics (with --tenant, read as that "
                                 "tenant).")
    s.add_argument("--tenant", help="one dealership's runs")
    s.add_argument("--workflow", help="one workflow")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(fn=cmd_runs_stats)
    s = r.add_parser("show", help="one run's steps and history")
    s.add_argument("run_id")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(fn=cmd_runs_show)
    s = r.add_parser("cancel", help="cancel a running run",
                     description="Cancel a run: its pending steps and timers are cancelled "
                                 "and it ends `cancelled` (sent to workflow.run_inputs).")
    s.add_argument("run_id")
    s.add_argument("--reason", default="cancelled by an operator", help="why (kept)")
    s.set_defaults(fn=cmd_runs_cancel)

    p = sub.add_parser("clock", help="the clock workflow runs live in (AUTERITY_CLOCK=file)",
                       description="Read or move the controlled clock (<home>/clock.json): "
                                   "tests move it, the demo accelerates it.")
    c = p.add_subparsers(dest="clock_command", required=True, metavar="ACTION")
    c.add_parser("now", help="print the time runs live in").set_defaults(fn=cmd_clock)
    s = c.add_parser("advance", help="move the clock forward, e.g. 3d or 90m")
    s.add_argument("span", help="how far: 90s, 15m, 3h, 3d")
    s.set_defaults(fn=cmd_clock)
    s = c.add_parser("speed", help="run the clock N times faster from now on")
    s.add_argument("factor", type=float, help="e.g. 3600: an hour per second")
    s.set_defaults(fn=cmd_clock)
