"""`auterity analyze | generate-workflow | revise-workflow | models`: the builder off-stream.

These run the same code as the stream agents (processors.workflows.builder) in this process.
Model calls go through the LLM gateway; their usage events are published to the model.usage
topic when the stack's Kafka is reachable (else the CLI says so), and `--json` output lists
them under `usage`. When the stack is reachable the gateway's budgets are seeded with today's
recorded spend (ClickHouse), as the worker's are.

`models` shows the WORKER's live gateway state (cooldowns, failures, spend vs budget) from the
snapshot the worker publishes (processors/llm/state.py); with no live worker it says so and
shows the configuration only.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runtime.settings import Settings

if TYPE_CHECKING:
    from datetime import datetime

    from processors.llm.gateway import LlmGateway
    from processors.llm.state import DeploymentState, GatewayState


def _kafka_reachable(settings: Settings) -> bool:
    host, _, port = settings.kafka_servers.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=0.3):
            return True
    except OSError:
        return False


class ModelSession:
    """A gateway whose usage events are collected and, if Kafka is up, published."""

    def __init__(self, settings: Settings, use_model: bool) -> None:
        from processors.llm.usage import CollectingSink, FanoutSink
        from streams.usage_sink import KafkaUsageSink

        self.seed_note: str | None = None
        self.collected = CollectingSink()
        self.kafka = KafkaUsageSink(settings) if use_model and _kafka_reachable(settings) \
            else None
        self.gateway = None
        if use_model:
            from processors.llm.gateway import LlmGateway

            sink = FanoutSink(self.collected, self.kafka) if self.kafka else self.collected
            self.gateway = LlmGateway(sink=sink)
            self.seed_note = self._seed(self.gateway, settings) if self.kafka else \
                "budgets count this run only (stack not reachable)"
        self.settings = settings

    @staticmethod
    def _seed(gateway: LlmGateway, settings: Settings) -> str | None:
        """Seed `gateway`'s budgets with today's recorded spend; a note if that failed."""
        from functools import partial

        from projections.usage_spend import spend_today

        try:
            gateway.ledger.seed_from(partial(spend_today, settings))
        except Exception as exc:  # noqa: BLE001 - reported; the call runs with this run's spend
            note = (f"budgets not seeded (cannot read today's spend: {type(exc).__name__}: "
                    f"{str(exc)[:200]}); they count this run only")
            print(f"model usage: {note}", file=sys.stderr)
            return note
        return None

    def finish(self) -> list[dict[str, Any]]:
        events = [e.model_dump(mode="json") for e in self.collected.events]
        if self.kafka is not None:
            left = self.kafka.flush(30)
            print(f"model usage: {len(events) - left} event(s) published to "
                  f"{self.kafka.topic}", file=sys.stderr)
        elif events:
            print(f"model usage: {len(events)} event(s) not published (Kafka not reachable "
                  f"at {self.settings.kafka_servers}; start it with `auterity stack up`; "
                  f"{self.seed_note})", file=sys.stderr)
        return events


def _text(args: argparse.Namespace) -> str:
    text = " ".join(args.text) if args.text else sys.stdin.read()
    if not text.strip():
        raise ValueError("no request text given (pass it as arguments or on stdin)")
    return text.strip()


def cmd_analyze(args: argparse.Namespace, settings: Settings) -> int:
    from processors.analysis.analyzer import analyze

    session = ModelSession(settings, not args.no_model)
    result = analyze(_text(args), session.gateway, tenant_id=args.tenant, user_id=args.user)
    out = {**result.model_dump(), "usage": session.finish()}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"intent:   {result.intent} (confidence {result.confidence:.2f})")
        print(f"domain:   {result.domain}")
        print(f"channels: {', '.join(result.channels) or '-'}")
        print(f"timing:   {result.timing or '-'} ({result.timing_offset or 'no offset'})")
        for key, value in result.entities.items():
            print(f"entity:   {key} = {value}")
        for label in ("requirements", "constraints", "success_criteria"):
            for item in getattr(result, label):
                print(f"{label[:-1] if label != 'success_criteria' else 'success'}: {item}")
    return 0


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from processors.analysis.analyzer import analyze
    from processors.workflows.builder import build

    text = _text(args)
    session = ModelSession(settings, not args.no_model)
    analysis = analyze(text, session.gateway, tenant_id=args.tenant, user_id=args.user)
    if analysis.intent != "create_workflow":
        analysis = analysis.model_copy(update={"intent": "create_workflow"})
    outcome = build(text, analysis, gateway=session.gateway, tenant_id=args.tenant,
                    user_id=args.user)
    out = {"workflow": outcome.workflow, "valid": outcome.valid, "errors": outcome.errors,
           "analysis": analysis.model_dump(), "generation": outcome.metadata,
           "usage": session.finish()}
    if args.out and outcome.valid:
        Path(args.out).write_text(json.dumps(outcome.workflow, indent=2) + "\n")
    if args.json:
        print(json.dumps(out, indent=2))
    elif outcome.valid and outcome.workflow:
        wf = outcome.workflow
        print(f"workflow {wf['id']}: {wf['name']} (template "
              f"{outcome.metadata.get('template_id')}, similarity "
              f"{outcome.metadata.get('similarity')})")
        print(f"trigger: {json.dumps(wf['trigger'])}")
        for step in wf["steps"]:
            print(f"  {step['id']:<28} {step['type']:<14} {json.dumps(step['params'])[:90]}")
    else:
        print("rejected: " + "; ".join(outcome.errors), file=sys.stderr)
    return 0 if outcome.valid else 1


def _load_workflow(source: str, settings: Settings, tenant: str) -> dict[str, Any]:
    path = Path(source)
    if path.suffix == ".json" or path.exists():
        return json.loads(path.read_text())
    from projections.workflow_lookup import current_workflow

    found = current_workflow(settings, tenant, source)
    if found is None:
        raise KeyError(f"no workflow {source!r} for tenant {tenant!r} in generated_workflows "
                       "(pass a JSON file, or the id and --tenant of a generated workflow)")
    return found


def cmd_revise(args: argparse.Namespace, settings: Settings) -> int:
    from processors.workflows.diagnosis import diagnose
    from processors.workflows.modify import modify
    from processors.workflows.optimize import optimize

    wf = _load_workflow(args.workflow, settings, args.tenant)
    if args.debug:
        diag = diagnose(wf, args.debug)
        out: dict[str, Any] = {"operation": "debug", **diag.model_dump(),
                               "valid": diag.fixed_workflow is not None}
    else:
        rev = modify(wf, args.modify) if args.modify else optimize(wf)
        out = {"operation": "modify" if args.modify else "optimize", **rev.model_dump()}
    print(json.dumps(out, indent=2))
    return 0 if out.get("valid") or args.debug else 1


def _recorded_spend(settings: Settings) -> list[dict[str, Any]] | str:
    """Today's recorded model usage per tenant (ClickHouse), or why it cannot be read."""
    try:
        from projections.metrics_reader import open_metrics_reader

        with open_metrics_reader(settings) as reader:
            return reader.query(
                "SELECT tenant_id, count() AS calls, sum(cache_hit) AS cache_hits, "
                "countIf(success = 0) AS failures, sum(input_tokens) AS input_tokens, "
                "sum(output_tokens) AS output_tokens, round(sum(cost_usd), 6) AS cost_usd "
                f"FROM {settings.clickhouse_database}.ai_model_usage FINAL "
                "WHERE created_at >= today() GROUP BY tenant_id ORDER BY tenant_id")
    except Exception as exc:  # noqa: BLE001 - reported, the model table still prints
        return f"unavailable: {type(exc).__name__}: {str(exc)[:200]}"


def _worker_state(settings: Settings) -> tuple[GatewayState | None, str]:
    """The worker's live gateway state (or None) and a line saying where it came from."""
    from processors.llm.state import StateUnreadable, freshness, read_state, state_path
    from runtime.readiness import pid_alive

    path = state_path(settings.home)
    try:
        state = read_state(path)
    except StateUnreadable as exc:
        return None, f"worker state unreadable ({exc})"
    if state is None:
        return None, f"worker not running (no gateway snapshot at {path})"
    fresh = freshness(state, pid_alive)
    if not fresh.live:
        return None, f"worker not running or not publishing: snapshot {path} {fresh.reason}"
    return state, (f"live state of the worker (pid {state.pid}, snapshot "
                   f"{fresh.age_s:.1f}s old, started {state.started_at:%Y-%m-%d %H:%M:%S} UTC)")


def _health(d: DeploymentState, now: datetime) -> str:
    if d.health == "unavailable":
        return f"unavailable (set {', '.join(d.missing_env)})"
    if d.health == "cooling_down" and d.cooldown_until is not None and d.cooldown_until > now:
        left = (d.cooldown_until - now).total_seconds()
        why = f": {d.cooldown_reason}" if d.cooldown_reason else ""
        return (f"cooling down until {d.cooldown_until:%H:%M:%S} UTC ({left:.0f}s left)"
                f"{why}")[:110]
    return "ok"


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from processors.llm.config import load_config

    config = load_config()
    budgets = config.budgets
    state, source = _worker_state(settings)
    spend = _recorded_spend(settings)
    now = datetime.now(UTC)
    if args.json:
        out: dict[str, Any] = {
            "source": "worker" if state is not None else "configuration", "about": source,
            "budgets": budgets.model_dump(), "spend_today": spend}
        if state is not None:
            out["worker"] = state.model_dump(mode="json")
        else:
            out["models"] = [{"name": m.name, "model": m.litellm_model, "provider": m.provider,
                              "tier": m.tier, "latency_ms": m.latency_ms,
                              "input_usd_per_1k": m.input_cost_per_token * 1000,
                              "output_usd_per_1k": m.output_cost_per_token * 1000,
                              "configured_env_present": m.available()}
                             for m in config.models]
        print(json.dumps(out, indent=2, default=str))
        return 0
    print(source)
    if state is not None:
        print(f"{'model':<14} {'provider':<15} {'tier':>4} {'p50 ms':>7} {'$/1k in':>9} "
              f"{'$/1k out':>9} {'fail/min':>8}  health")
        for d in state.deployments:
            print(f"{d.name:<14} {d.provider:<15} {d.tier:>4} {d.latency_ms:>7.0f} "
                  f"{d.input_usd_per_1k:>9.5f} {d.output_usd_per_1k:>9.5f} "
                  f"{d.failures_last_minute:>8}  {_health(d, now)}")
            if d.last_error and d.last_failure_at:
                print(f"{'':<14} last failure {d.last_failure_at:%H:%M:%S} UTC: {d.last_error}")
        print(f"\nbudgets: ${state.default_budget_usd:.2f}/tenant/day "
              f"({state.on_budget_exceeded} when exceeded); "
              + ("seeded from recorded usage at "
                 f"{state.budgets_seeded_at:%H:%M:%S} UTC" if state.budgets_seeded_at else
                 "NOT seeded from recorded usage"
                 + (f" ({state.seed_error})" if state.seed_error else "")
                 + ": the worker counts only its own spend since it started"))
        print("worker spend today:" + ("" if state.tenants else " none"))
        for t in state.tenants:
            print(f"  {t.tenant_id:<20} ${t.spent_usd:.6f} of ${t.budget_usd:.2f}")
    else:
        print("configuration only (no live worker state: health and cooldowns unknown)")
        print(f"{'model':<14} {'provider':<15} {'tier':>4} {'p50 ms':>7} {'$/1k in':>9} "
              f"{'$/1k out':>9}  configured")
        for m in config.models:
            missing = [v for v in m.requires_env if not os.environ.get(v)]
            keyed = "yes" if not missing else f"needs {', '.join(missing)} (in this shell)"
            print(f"{m.name:<14} {m.provider:<15} {m.tier:>4} {m.latency_ms:>7.0f} "
                  f"{m.input_cost_per_token * 1000:>9.5f} "
                  f"{m.output_cost_per_token * 1000:>9.5f}  {keyed}")
        print(f"\nbudgets: ${budgets.default_usd_per_day:.2f}/tenant/day "
              f"({budgets.on_exceeded} when exceeded)")
    worker_limits = {t.tenant_id: t.budget_usd for t in state.tenants} if state else {}

    def limit(tenant: str) -> float:  # the worker's budgets when it runs (its config rules)
        if state is None:
            return budgets.limit(tenant)
        return worker_limits.get(tenant, state.default_budget_usd)

    if isinstance(spend, str):
        print(f"recorded spend today: {spend}")
    else:
        print("recorded spend today (ClickHouse):"
              + ("" if spend else " no model calls recorded today"))
        for s in spend:
            print(f"  {s['tenant_id']:<20} {s['calls']:>6} calls {s['cache_hits']:>5} cached "
                  f"{s['failures']:>4} failed  ${float(s['cost_usd']):.6f} of "
                  f"${limit(s['tenant_id']):.2f}")
    return 0


def add_builder_commands(sub: Any) -> None:
    def common(s: argparse.ArgumentParser) -> None:
        s.add_argument("text", nargs="*", help="the (redacted) request; default: stdin")
        s.add_argument("--json", action="store_true", help="print one JSON object")
        s.add_argument("--no-model", action="store_true",
                       help="rules and templates only (no LLM call)")
        s.add_argument("--tenant", default="local", help="dealership id (budgets, usage)")
        s.add_argument("--user", default=None, help="user id recorded with model usage")

    s = sub.add_parser("analyze", help="requirement analysis of a workflow request",
                       description="Intent, domain, channels, timing, entities, requirements, "
                                   "constraints, success criteria and confidence of a "
                                   "dealership automation request.")
    common(s)
    s.set_defaults(fn=cmd_analyze)

    s = sub.add_parser("generate-workflow", help="analyse, generate and validate a workflow",
                       description="Runs analysis, template matching, model customisation "
                                   "and validation without the stream. Exit 1 if rejected.")
    common(s)
    s.add_argument("--out", help="also write the workflow JSON to this file")
    s.set_defaults(fn=cmd_generate)

    s = sub.add_parser("revise-workflow", help="debug, modify or optimize a workflow",
                       description="WORKFLOW is a JSON file or the id of a generated workflow "
                                   "(read from Postgres for --tenant). Prints the result "
                                   "with an RFC 6902 diff.")
    s.add_argument("workflow", help="JSON file or workflow id")
    g = s.add_mutually_exclusive_group(required=True)
    g.add_argument("--modify", metavar="CHANGE", help="a change request")
    g.add_argument("--debug", metavar="ERROR", help="the error context to diagnose")
    g.add_argument("--optimize", action="store_true", help="apply known improvements")
    s.add_argument("--tenant", default="local", help="dealership the workflow belongs to")
    s.set_defaults(fn=cmd_revise)

    s = sub.add_parser("models", help="the LLM router's models, health and spend per tenant")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(fn=cmd_models)
