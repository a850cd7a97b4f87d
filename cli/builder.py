"""`auterity analyze | generate-workflow | revise-workflow | models`: the builder off-stream.

These run the same code as the stream agents (processors.workflows.builder) in this process.
Model calls go through the LLM gateway; their usage events are published to the model.usage
topic when the stack's Kafka is reachable (else the CLI says so), and `--json` output lists
them under `usage`.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path
from typing import Any

from runtime.settings import Settings


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

        self.collected = CollectingSink()
        self.kafka = KafkaUsageSink(settings) if use_model and _kafka_reachable(settings) \
            else None
        self.gateway = None
        if use_model:
            from processors.llm.gateway import LlmGateway

            sink = FanoutSink(self.collected, self.kafka) if self.kafka else self.collected
            self.gateway = LlmGateway(sink=sink)
        self.settings = settings

    def finish(self) -> list[dict[str, Any]]:
        events = [e.model_dump(mode="json") for e in self.collected.events]
        if self.kafka is not None:
            left = self.kafka.flush(30)
            print(f"model usage: {len(events) - left} event(s) published to "
                  f"{self.kafka.topic}", file=sys.stderr)
        elif events:
            print(f"model usage: {len(events)} event(s) not published (Kafka not reachable "
                  f"at {self.settings.kafka_servers}; start it with `auterity stack up`)",
                  file=sys.stderr)
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
    from processors.workflows.revisions import diagnose, modify, optimize

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


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from processors.llm.gateway import LlmGateway

    gw = LlmGateway()
    rows = gw.models_status()
    spend: list[dict[str, Any]] | str
    try:
        from projections.metrics_reader import open_metrics_reader

        with open_metrics_reader(settings) as reader:
            spend = reader.query(
                "SELECT tenant_id, count() AS calls, sum(cache_hit) AS cache_hits, "
                "countIf(success = 0) AS failures, sum(input_tokens) AS input_tokens, "
                "sum(output_tokens) AS output_tokens, round(sum(cost_usd), 6) AS cost_usd "
                f"FROM {settings.clickhouse_database}.ai_model_usage FINAL "
                "WHERE created_at >= today() GROUP BY tenant_id ORDER BY tenant_id")
    except Exception as exc:  # noqa: BLE001 - reported, the model table still prints
        spend = f"unavailable: {type(exc).__name__}: {str(exc)[:200]}"
    budgets = gw.config.budgets
    if args.json:
        print(json.dumps({"models": rows, "spend_today": spend,
                          "budgets": budgets.model_dump()}, indent=2, default=str))
        return 0
    print(f"{'model':<14} {'provider':<15} {'tier':>4} {'p50 ms':>7} {'$/1k in':>9} "
          f"{'$/1k out':>9}  health")
    for r in rows:
        print(f"{r['name']:<14} {r['provider']:<15} {r['tier']:>4} {r['latency_ms']:>7.0f} "
              f"{r['input_usd_per_1k']:>9.5f} {r['output_usd_per_1k']:>9.5f}  {r['health']}")
    print(f"\nbudgets: ${budgets.default_usd_per_day:.2f}/tenant/day "
          f"({budgets.on_exceeded} when exceeded)")
    if isinstance(spend, str):
        print(f"spend today: {spend}")
    else:
        print("spend today:" + ("" if spend else " no model calls recorded today"))
        for s in spend:
            print(f"  {s['tenant_id']:<20} {s['calls']:>6} calls {s['cache_hits']:>5} cached "
                  f"{s['failures']:>4} failed  ${float(s['cost_usd']):.6f} of "
                  f"${budgets.limit(s['tenant_id']):.2f}")
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
