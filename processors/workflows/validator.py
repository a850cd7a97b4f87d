"""Workflow validation: what the DSL's shape alone cannot guarantee.

A workflow is valid when: it matches the DSL models; step ids are unique; connections name
existing steps; the graph is acyclic; exactly one entry step exists and every step is
reachable from it; every `{{steps.X.out}}` reference names an upstream step X that declares
`out`; every step has its required params; waits and schedules are valid timings (ISO 8601
durations between 1 second and 366 days, cron expressions that parse); condition branches
are labelled; and the run-time can execute it (processors/workflows/runnable.py: a known
trigger fact, known trigger fields, conditions that parse and read known variables, step
outputs the step types produce). An invalid workflow is never published: callers repair or
reject it with these reasons.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from graphlib import CycleError, TopologicalSorter
from typing import Any

from croniter import croniter
from pydantic import TypeAdapter, ValidationError

from processors.workflows.runnable import runtime_errors
from schemas.errors import describe
from schemas.workflow_dsl import REQUIRED_PARAMS, Workflow

REFERENCE = re.compile(r"\{\{\s*(trigger|steps)\.([A-Za-z0-9_]+)(?:\.([A-Za-z0-9_]+))?\s*\}\}")
_DURATION = TypeAdapter(timedelta)
MAX_WAIT = timedelta(days=366)


@dataclass
class ValidationReport:
    valid: bool
    errors: list[str] = field(default_factory=list)
    workflow: Workflow | None = None
    order: list[str] = field(default_factory=list)


def parse_duration(value: Any) -> timedelta:
    """An ISO 8601 duration such as P3D, PT5M or -P3D; raise ValueError naming the problem."""
    if not isinstance(value, str) or not value.lstrip("-").startswith("P"):
        raise ValueError(f"{value!r} is not an ISO 8601 duration (e.g. P3D, PT5M)")
    negative = value.startswith("-")
    try:
        delta = _DURATION.validate_python(value.lstrip("-"))
    except ValidationError as exc:
        raise ValueError(f"{value!r} is not an ISO 8601 duration (e.g. P3D, PT5M)") from exc
    return -delta if negative else delta


def _references(value: Any) -> list[tuple[str, str, str | None]]:
    if isinstance(value, str):
        return [(m[1], m[2], m[3]) for m in REFERENCE.finditer(value)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def _timing_errors(wf: Workflow) -> list[str]:
    errors = []
    if wf.trigger.type == "schedule":
        if not wf.trigger.schedule or not croniter.is_valid(wf.trigger.schedule):
            errors.append(f"trigger: schedule {wf.trigger.schedule!r} is not a cron expression")
    if wf.trigger.type == "event" and not wf.trigger.event:
        errors.append("trigger: an event trigger needs `event`")
    if wf.trigger.type == "webhook" and not wf.trigger.path:
        errors.append("trigger: a webhook trigger needs `path`")
    for step in wf.steps:
        if step.type != "wait":
            continue
        p = step.params
        if "duration" not in p and "until" not in p:
            errors.append(f"step {step.id}: wait needs `duration` or `until`")
        for key in ("duration", "offset"):
            if key not in p:
                continue
            try:
                delta = parse_duration(p[key])
            except ValueError as exc:
                errors.append(f"step {step.id}: {key}: {exc}")
                continue
            if key == "duration" and not timedelta(seconds=1) <= delta <= MAX_WAIT:
                errors.append(f"step {step.id}: duration {p[key]} is outside 1s..366 days")
            if key == "offset" and abs(delta) > MAX_WAIT:
                errors.append(f"step {step.id}: offset {p[key]} is beyond 366 days")
    return errors


def validate_workflow(data: dict[str, Any] | Workflow) -> ValidationReport:
    """Validate a workflow (a dict from a model, or a Workflow); collect every problem."""
    try:
        wf = data if isinstance(data, Workflow) else Workflow.model_validate(data)
    except ValidationError as exc:
        return ValidationReport(False, describe(exc))
    errors: list[str] = []
    steps = {s.id: s for s in wf.steps}
    dupes = sorted(i for i, n in Counter(s.id for s in wf.steps).items() if n > 1)
    if dupes:
        errors.append(f"duplicate step ids: {', '.join(dupes)}")
    parents: dict[str, set[str]] = defaultdict(set)
    children: dict[str, set[str]] = defaultdict(set)
    for c in wf.connections:
        for end in (c.source, c.target):
            if end not in steps:
                errors.append(f"connection {c.source} -> {c.target}: unknown step {end!r}")
        if c.source in steps and c.target in steps:
            parents[c.target].add(c.source)
            children[c.source].add(c.target)
        if c.source in steps and steps[c.source].type == "condition" and c.when is None:
            errors.append(f"connection {c.source} -> {c.target}: a condition's branch needs "
                          "`when` (true/false)")
    order: list[str] = []
    try:
        order = list(TopologicalSorter({s: parents[s] for s in steps}).static_order())
    except CycleError as exc:
        errors.append(f"the steps form a cycle: {' -> '.join(exc.args[1])}")
    entries = [s for s in steps if not parents[s]]
    if len(entries) != 1:
        errors.append(f"expected exactly one entry step (no incoming connection), found "
                      f"{len(entries)}: {', '.join(entries) or 'none'}")
    else:
        reached, todo = set(), [entries[0]]
        while todo:
            node = todo.pop()
            if node not in reached:
                reached.add(node)
                todo.extend(children[node])
        unreachable = [s for s in steps if s not in reached]
        if unreachable:
            errors.append(f"steps unreachable from {entries[0]}: {', '.join(unreachable)}")
    ancestors: dict[str, set[str]] = {}
    for node in order:
        ancestors[node] = set().union(*[{p, *ancestors.get(p, set())} for p in parents[node]])
    for step in wf.steps:
        missing = [p for p in REQUIRED_PARAMS[step.type] if p not in step.params]
        if missing:
            errors.append(f"step {step.id} ({step.type}): missing params {', '.join(missing)}")
        for scope, name, out in _references(step.params):
            if scope != "steps":
                continue
            if name not in steps:
                errors.append(f"step {step.id}: input references unknown step {name!r}")
            elif order and name not in ancestors.get(step.id, set()):
                errors.append(f"step {step.id}: input references {name!r}, which does not "
                              "run before it")
            elif out is None or out not in steps[name].outputs:
                errors.append(f"step {step.id}: input references output {out!r} that step "
                              f"{name!r} does not declare")
    errors.extend(_timing_errors(wf))
    errors.extend(runtime_errors(wf))
    return ValidationReport(not errors, errors, wf, order if not errors else [])
