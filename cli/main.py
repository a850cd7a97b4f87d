"""`auterity`: the command line over the stack, the stream, the steps and the data.

A thin entry that nothing imports: each sub-command parses its arguments and calls the
package that does the work. Sub-commands import their package when they run, so `--help`
and light commands do not pay for loading presidio, Faust or the models.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import processors  # noqa: F401 - sets the offline environment defaults first
from runtime.settings import Settings, get_settings


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, default=str))


def _lines(path: str | None) -> Iterable[str]:
    if path in (None, "-"):
        return sys.stdin
    return open(path, encoding="utf-8")  # noqa: SIM115 - closed at exit of the one-shot CLI


# --- stack / processes -------------------------------------------------------------------

def cmd_stack(args: argparse.Namespace, settings: Settings) -> int:
    from cli import stack_health
    from compose import stack

    if args.action == "up":
        health = stack_health.up(settings)
        for h in health:
            print(f"{h.name:<11} {'ok' if h.healthy else 'DOWN':<5} {h.detail}")
        if not all(h.healthy for h in health):
            return 1
        from runtime.kafka_auth import Principal
        from runtime.kafka_clients import ensure_acls, ensure_topics

        created = ensure_topics(settings, principal=Principal.ADMIN)
        print(f"topics      ok    {len(created)} created")
        if settings.kafka_manage_acls and settings.kafka_security_protocol != "PLAINTEXT":
            print(f"acls        ok    {ensure_acls(settings)} created")
        return 0
    if args.action == "down":
        from compose import processes as supervisor

        for name in supervisor.PROCESSES:
            print(supervisor.stop(settings, name))
        for line in stack.down(settings):
            print(line)
        return 0
    healthy = True
    for h in stack_health.status(settings):
        healthy &= h.healthy
        print(f"{h.name:<11} {'ok' if h.healthy else 'DOWN':<5} {h.detail}")
    return 0 if healthy else 1


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    from functools import partial

    from projections.usage_spend import spend_today
    from projections.workflow_lookup import current_workflow
    from streams.worker import run_worker

    sys.argv = [sys.argv[0], "worker"]  # faust's Worker parses argv
    run_worker(settings, partial(current_workflow, settings),
               spend_source=partial(spend_today, settings), loglevel=args.loglevel)
    return 0


def cmd_projections(args: argparse.Namespace, settings: Settings) -> int:
    from projections.service import run_projections

    run_projections(settings)
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    import signal
    import time

    from cli import stack_health
    from compose import processes as supervisor

    stack_health.up(settings)
    for name in supervisor.PROCESSES:
        supervisor.start(settings, name)
    for name in supervisor.PROCESSES:
        supervisor.wait_ready(settings, name)
    print(f"worker and projections running (logs in {settings.logs_dir}); Ctrl-C stops them")
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        while not stopping:
            for name in supervisor.PROCESSES:
                if supervisor.pid_of(settings, name) is None:
                    print(f"{name} exited; restarting", flush=True)
                    supervisor.start(settings, name)
            time.sleep(1.0)
    finally:
        for name in supervisor.PROCESSES:
            print(supervisor.stop(settings, name))
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from cli.status import collect

    report = collect(settings)
    if args.json:
        _print_json(report)
    else:
        for name, h in report["services"].items():
            print(f"{name:<11} {'ok' if h['healthy'] else 'DOWN':<5} {h['detail']}")
        for name, p in report["processes"].items():
            print(f"{name:<11} {'running' if p['running'] else 'stopped'}")
        for key in ("topics", "projection_rows", "consumer_lag"):
            for name, value in report.get(key, {}).items():
                print(f"{key[:-1] if key.endswith('s') else key:<16} {name:<40} {value}")
        if "dlq_size" in report:
            print(f"dlq_size         {report['dlq_size']}")
        for key in ("postgres_error", "clickhouse_error"):
            if key in report:
                print(f"ERROR {key.split('_')[0]}: {report[key]}")
    healthy = all(h["healthy"] for h in report["services"].values())
    return 0 if healthy and "postgres_error" not in report and "clickhouse_error" not in report \
        else 1


# --- data in / out -----------------------------------------------------------------------

def cmd_produce(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.ingest import numbered_lines, produce
    from connectors.samples.conversations import sample_events
    from schemas import topics

    spec = topics.by_name(args.topic, settings.topic_prefix)
    if args.sample:
        if spec is not topics.CONVERSATIONS_RAW:
            print("--sample conversations goes to conversations.raw", file=sys.stderr)
            return 2
        events: Iterable[Any] = sample_events(args.count, args.tenants, seed=args.seed)
    else:
        events = numbered_lines(_lines(args.file), spec.model)
    report = produce(settings, spec, events, rate=args.rate,
                     progress=lambda n: print(f"  sent {n:,}", file=sys.stderr, flush=True))
    for problem in report.rejected:
        print(f"rejected {problem}", file=sys.stderr)
    print(f"sent {report.sent:,} event(s) to {spec.name(settings.topic_prefix)} in "
          f"{report.seconds:.1f}s; "
          f"rejected {len(report.rejected)}")
    return 1 if report.rejected else 0


def _event_json(event: Any) -> dict[str, Any]:
    data = event.model_dump(mode="json")
    for k in list(data):
        raw = getattr(event, k)
        if isinstance(raw, bytes):
            data[k] = {"bytes": len(raw), "base64": base64.b64encode(raw[:256]).decode()}
    return data


def cmd_tail(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.kafka_io import read_topic
    from runtime.kafka_auth import Principal
    from schemas import serde, topics

    name = topics.by_name(args.topic, settings.topic_prefix).name(settings.topic_prefix)
    shown = 0
    # as `reader`: the redacted topics only (a raw-PII topic is refused by the broker)
    for msg in read_topic(settings, name, principal=Principal.READER, from_end=args.from_end,
                          follow=args.follow):
        try:
            body: Any = _event_json(serde.decode_any(msg.value()))
        except serde.DecodeError as exc:
            body = {"undecodable": str(exc)}
        print(json.dumps({"partition": msg.partition(), "offset": msg.offset(), "event": body}),
              flush=True)
        shown += 1
        if args.max and shown >= args.max:
            break
    return 0


def cmd_redact(args: argparse.Namespace, settings: Settings) -> int:
    from processors.pii.lines import redact_lines

    failed = 0
    for out in redact_lines(_lines(args.file), settings.max_text_chars,
                            settings.resolved_pseudonym_key(), batch_size=args.batch):
        if "error" in out:
            failed += 1
        print(json.dumps(out, ensure_ascii=False), flush=True)
    return 1 if failed else 0


def cmd_dlq(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.dead_letters import list_dead_letters, replay

    if args.action == "list":
        for dl in list_dead_letters(settings, kind=args.kind, step=args.step):
            row: dict[str, Any] = {
                   "offset": dl.offset, "step": dl.event.step, "kind": dl.event.error_kind,
                   "source": f"{dl.event.source_topic}[{dl.event.source_partition}]"
                             f"@{dl.event.source_offset}",
                   "tenant": dl.event.tenant_id, "bytes": dl.event.payload_size,
                   "error": dl.event.error}
            print(json.dumps(row) if args.json else
                  f"{row['offset']:>6} {row['step']:<20} {row['kind']:<16} {row['source']:<40} "
                  f"{row['error'][:100]}")
        return 0
    if not (args.kind or args.step or args.offset or args.all):
        print("auterity dlq replay: name what to replay with --kind, --step or --offset "
              "(or --all)", file=sys.stderr)
        return 2
    n = replay(settings, kind=args.kind, step=args.step, offsets=args.offset)
    print(f"replayed {n} dead letter(s) to their source topics")
    return 0


# --- schemas, demo, bench ----------------------------------------------------------------

def cmd_schemas(args: argparse.Namespace, settings: Settings) -> int:
    from schemas import avro_gen, compat

    if args.action == "export":
        for path in avro_gen.export_all():
            print(path)
        return 0
    problems = compat.check_all()
    for p in problems:
        print(p, file=sys.stderr)
    print(f"{len(problems)} schema problem(s)")
    return 1 if problems else 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from cli.demo import run_demo

    return run_demo(settings, count=args.count, tenants=args.tenants, rate=args.rate,
                    keep_running=not args.stop)


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from bench.run import main as bench_main

    return bench_main(settings, quick=args.quick)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="auterity",
        description="Auterity: streaming AI pipeline for car dealerships "
                    "(Kafka -> Faust AI steps -> Postgres/ClickHouse).",
        epilog="Configuration comes from AUTERITY_* environment variables, DATABASE_URL and "
               "CLICKHOUSE_URL (see the README).")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("stack", help="start/stop/check the local Kafka, Postgres and chDB")
    s.add_argument("action", choices=["up", "down", "status"])
    s.set_defaults(fn=cmd_stack)

    s = sub.add_parser("worker", help="run the Faust processors (PII redaction, workflow "
                                      "builder, OCR, voice) in the foreground")
    s.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    s.set_defaults(fn=cmd_worker)

    s = sub.add_parser("projections", help="run the Postgres and ClickHouse projections")
    s.set_defaults(fn=cmd_projections)

    s = sub.add_parser("run", help="start the stack, the worker and the projections; supervise")
    s.set_defaults(fn=cmd_run)

    s = sub.add_parser("status", help="health, topic sizes, projected rows, lag, DLQ size")
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.set_defaults(fn=cmd_status)

    s = sub.add_parser("produce", help="send JSON lines (or generated samples) to a topic",
                       description="Validate JSON lines against the topic's event schema, "
                                   "encode as Avro (Confluent wire format) and produce them. "
                                   "event_id and occurred_at are filled in when missing.")
    s.add_argument("file", nargs="?", help="JSON-lines file (default: stdin)")
    s.add_argument("--topic", default="conversations.raw", help="topic (suffix or full name)")
    s.add_argument("--sample", choices=["conversations"], help="generate sample messages")
    s.add_argument("--count", type=int, default=1000, help="samples to generate")
    s.add_argument("--tenants", type=int, default=3, help="dealerships to spread samples over")
    s.add_argument("--seed", type=int, default=7, help="sample generator seed")
    s.add_argument("--rate", type=float, default=None, help="events per second (default: max)")
    s.set_defaults(fn=cmd_produce)

    s = sub.add_parser("tail", help="print the decoded events of a topic")
    s.add_argument("topic", help="topic (suffix such as conversations.redacted, or full name)")
    s.add_argument("--from-end", action="store_true", help="only new events")
    s.add_argument("--follow", "-f", action="store_true", help="keep waiting for events")
    s.add_argument("--max", type=int, default=0, help="stop after N events")
    s.set_defaults(fn=cmd_tail)

    s = sub.add_parser("redact", help="redact PII from JSON lines / text lines (no Kafka)",
                       description="Reads JSON lines with a `text` field (or plain text lines) "
                                   "and writes each input plus `redacted` and `entities`. "
                                   "A `conversation_id` field keeps pseudonyms consistent "
                                   "across lines of one conversation.")
    s.add_argument("file", nargs="?", help="input file (default: stdin)")
    s.add_argument("--batch", type=int, default=32, help="texts analysed per batch")
    s.set_defaults(fn=cmd_redact)

    s = sub.add_parser("dlq", help="list or replay dead letters")
    s.add_argument("action", choices=["list", "replay"])
    s.add_argument("--kind", help="only this error kind (e.g. undecodable, oversized)")
    s.add_argument("--step", help="only dead letters of this step")
    s.add_argument("--offset", type=int, action="append", help="only this DLQ offset (repeat)")
    s.add_argument("--json", action="store_true", help="list as JSON lines")
    s.add_argument("--all", action="store_true", help="replay: every dead letter")
    s.set_defaults(fn=cmd_dlq)

    s = sub.add_parser("schemas", help="export Avro schemas from the models, or check them")
    s.add_argument("action", choices=["export", "check"])
    s.set_defaults(fn=cmd_schemas)

    s = sub.add_parser("demo", help="a sample dealership day through the whole pipeline")
    s.add_argument("--count", type=int, default=2400, help="messages (default 2400)")
    s.add_argument("--tenants", type=int, default=3, help="dealerships (default 3)")
    s.add_argument("--rate", type=float, default=200.0, help="events per second (default 200)")
    s.add_argument("--stop", action="store_true", help="stop the stack when done")
    s.set_defaults(fn=cmd_demo)

    from cli.builder import add_builder_commands

    add_builder_commands(sub)

    from cli.media import add_media_commands

    add_media_commands(sub)

    from cli.tenants import add_tenant_commands

    add_tenant_commands(sub)

    from cli.metrics_token import add_metrics_token_command

    add_metrics_token_command(sub)

    from cli.agents import add_agents_commands

    add_agents_commands(sub)

    from cli.runs import add_runs_commands

    add_runs_commands(sub)

    from cli.webhook import add_webhook_commands

    add_webhook_commands(sub)

    from cli.evaluate import add_eval_commands

    add_eval_commands(sub)

    s = sub.add_parser("bench", help="benchmarks: ratios against the bare libraries")
    s.add_argument("--quick", action="store_true", help="smaller workloads")
    s.set_defaults(fn=cmd_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.fn(args, get_settings()) or 0)
    except KeyboardInterrupt:
        return 130
    except (KeyError, FileNotFoundError, PermissionError, RuntimeError, ValueError) as exc:
        print(f"auterity {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
