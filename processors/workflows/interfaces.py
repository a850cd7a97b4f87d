"""Interface generation: the screen a manager gets next to a validated workflow.

`generate_interface(workflow)` returns an `InterfaceDefinition` in the seed spec's shape
(GeneratedInterface: id, layout, components, theme, responsive; UIComponent: id, type, props,
children). It is declarative: it names fields, metric keys and table columns; it reads no data.

Components, in this order:
- a **form** of the workflow's inputs (always): one field per distinct `{{trigger.<field>}}`
  referenced anywhere in step params, typed from the field name; event and webhook triggers
  get a manual "start a run" submit, schedule triggers show their cron instead;
- a **dashboard** of its metrics (always): runs started/completed/failed, median run duration,
  messages sent per channel, one "% <condition>" ratio per condition step, tasks created and
  staff notifications; each metric names the ClickHouse-style metric key(s) it reads;
- a **chart** of messages sent per day by channel (only when the workflow sends messages);
- a **list** of the staff follow-ups it creates (only with create_task / notify_staff steps);
- a **table** of its runs (always) with server-side paging and sorting.

Invariants:
- every `{{trigger.x}}` referenced in any step's params appears exactly once as a form field;
  a field is `required` when a step that runs on every path (no condition upstream) uses it;
- the output is a pure function of the workflow: the same workflow gives the same definition,
  byte for byte, in any process (component ids derive from the workflow id, orderings follow
  the step list and a stable topological order, never set or hash order);
- the layout is "sidebar" when there are more than `SIDEBAR_ABOVE` components (the form
  moves to a side panel), else "grid"; theme "default"; responsive True;
- only a valid workflow gets an interface: an invalid one raises ValueError with its errors.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from processors.workflows.validator import REFERENCE, validate_workflow
from schemas.workflow_dsl import Step, Workflow

ComponentType = Literal["form", "dashboard", "list", "chart", "table"]
Layout = Literal["grid", "flex", "sidebar"]
FieldType = Literal["email", "phone", "date", "datetime", "number", "boolean", "text"]

SIDEBAR_ABOVE = 3  # more components than this: sidebar layout
CHANNEL_OF_STEP = {"send_sms": "sms", "send_email": "email"}
RUN_STATUSES = ("running", "waiting", "completed", "failed", "cancelled")


class UIComponent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    type: ComponentType
    props: dict[str, Any] = Field(default_factory=dict)
    children: list[UIComponent] | None = None


class InterfaceDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    layout: Layout
    components: list[UIComponent]
    theme: str = "default"
    responsive: bool = True


def stable_order(step_ids: list[str], edges: Iterable[tuple[str, str]]) -> list[str]:
    """Step ids in topological order; ties (and any steps left in a cycle) in list order.

    Unlike graphlib's order this does not depend on set iteration, so it is the same in every
    process. Edges naming unknown steps are ignored.
    """
    index = {s: i for i, s in enumerate(step_ids)}
    children: dict[str, list[str]] = {s: [] for s in step_ids}
    indegree = dict.fromkeys(step_ids, 0)
    for source, target in edges:
        if source in index and target in index:
            children[source].append(target)
            indegree[target] += 1
    ready = sorted((s for s in step_ids if indegree[s] == 0), key=index.__getitem__)
    order: list[str] = []
    while ready:
        node = ready.pop(0)
        order.append(node)
        for child in children[node]:
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
        ready.sort(key=index.__getitem__)
    order.extend(s for s in step_ids if s not in set(order))
    return order


def trigger_references(value: Any) -> list[str]:
    """Distinct `{{trigger.<field>}}` field names in `value` (nested), in order of appearance."""
    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            for m in REFERENCE.finditer(v):
                if m[1] == "trigger" and m[2] not in found:
                    found.append(m[2])
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    return found


_BOOLEAN_WORDS = frozenset({"consent", "opt", "optin", "opted", "subscribed", "unsubscribed",
                            "confirmed", "bounced", "flag", "enabled"})
_NUMBER_WORDS = frozenset({"count", "amount", "price", "total", "mileage", "miles", "odometer",
                           "qty", "quantity", "number", "num", "score", "year", "age", "payment",
                           "balance", "apr", "rate", "days", "months", "term", "cost", "value"})


def guess_field_type(name: str) -> FieldType:
    """A form field type from a trigger field name: customer_email -> email, customer_phone ->
    phone, appointment_at -> datetime, purchase_date -> date, sms_opt_in -> boolean,
    mileage -> number, anything else -> text. First match wins, in that order."""
    tokens = [t for t in re.split(r"[_\W]+", name.lower()) if t]
    if not tokens:
        return "text"
    words = set(tokens)
    if words & {"email", "mail"}:
        return "email"
    if words & {"phone", "mobile", "cell", "telephone", "tel"}:
        return "phone"
    if tokens[-1] == "at" or words & {"datetime", "time", "timestamp"}:
        return "datetime"
    if tokens[-1] == "on" or words & {"date", "birthday", "dob"}:
        return "date"
    if tokens[0] in ("is", "has") or words & _BOOLEAN_WORDS:
        return "boolean"
    if words & _NUMBER_WORDS:
        return "number"
    return "text"


def _label(name: str) -> str:
    words = re.sub(r"[_\s]+", " ", name).strip()
    return words[:1].upper() + words[1:]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "workflow"


def metric_key(name: str, **labels: str) -> str:
    """A ClickHouse/Prometheus-style metric key: name{label="value",...} in the given order."""
    def quote(v: str) -> str:
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return name + "{" + ",".join(f"{k}={quote(v)}" for k, v in labels.items()) + "}"


def _ancestors(order: list[str], parents: dict[str, list[str]]) -> dict[str, set[str]]:
    result: dict[str, set[str]] = {}
    for node in order:
        acc: set[str] = set()
        for p in parents.get(node, []):
            acc |= {p, *result.get(p, set())}
        result[node] = acc
    return result


def _form(wf: Workflow, order: list[Step], cid: str) -> UIComponent:
    steps = {s.id: s for s in wf.steps}
    parents: dict[str, list[str]] = {}
    for c in wf.connections:
        parents.setdefault(c.target, []).append(c.source)
    ancestors = _ancestors([s.id for s in order], parents)
    fields: dict[str, dict[str, Any]] = {}
    for step in order:
        unconditional = not any(steps[a].type == "condition" for a in ancestors[step.id])
        for name in trigger_references(step.params):
            field = fields.setdefault(name, {
                "name": name, "label": _label(name), "type": guess_field_type(name),
                "required": False, "used_by": []})
            field["required"] = field["required"] or unconditional
            field["used_by"].append(step.id)
    t = wf.trigger
    props: dict[str, Any] = {
        "title": f"Start: {wf.name}",
        "fields": list(fields.values()),
        "trigger": t.model_dump(mode="json", exclude_none=True),
    }
    if t.type == "schedule":
        props["schedule"] = {"cron": t.schedule, "note": "runs on this schedule"}
        props["submit"] = None
    else:
        source = {"event": t.event} if t.type == "event" else {"method": "POST", "path": t.path}
        props["submit"] = {"action": "start_run", "label": "Start a run manually", **source}
    return UIComponent(id=cid, type="form", props=props)


def _dashboard(wf: Workflow, order: list[Step], cid: str) -> UIComponent:
    w = wf.id
    metrics: list[dict[str, Any]] = [
        {"id": f"runs_{status}", "label": f"Runs {status}", "kind": "counter", "unit": "runs",
         "metric": metric_key("workflow_runs_total", workflow_id=w, status=status)}
        for status in ("started", "completed", "failed")
    ]
    metrics.append({"id": "run_duration_p50", "label": "Median run duration", "kind": "quantile",
                    "unit": "seconds", "quantile": 0.5,
                    "metric": metric_key("workflow_run_duration_seconds", workflow_id=w,
                                         quantile="0.5")})
    channels: dict[str, list[str]] = {}
    for step in order:
        if step.type in CHANNEL_OF_STEP:
            channels.setdefault(CHANNEL_OF_STEP[step.type], []).append(step.id)
    for channel in sorted(channels, key=list(CHANNEL_OF_STEP.values()).index):
        metrics.append({"id": f"messages_sent_{channel}", "label": f"{channel.upper()} sent"
                        if channel == "sms" else f"{channel.capitalize()}s sent",
                        "kind": "counter", "unit": "messages", "steps": channels[channel],
                        "metric": metric_key("workflow_messages_sent_total", workflow_id=w,
                                             channel=channel)})
    for step in order:
        if step.type != "condition":
            continue
        metrics.append({
            "id": f"condition_{step.id}_true_rate", "label": f"% {_label(step.name or step.id)}",
            "kind": "ratio", "unit": "percent", "step": step.id,
            "expression": step.params.get("expression"),
            "metric": metric_key("workflow_condition_evaluations_total", workflow_id=w,
                                 step_id=step.id, branch="true"),
            "denominator": metric_key("workflow_condition_evaluations_total", workflow_id=w,
                                      step_id=step.id)})
    for step_type, mid, label, name in (
            ("create_task", "tasks_created", "Tasks created", "workflow_tasks_created_total"),
            ("notify_staff", "staff_notified", "Staff notifications",
             "workflow_staff_notifications_total")):
        used = [s.id for s in order if s.type == step_type]
        if used:
            metrics.append({"id": mid, "label": label, "kind": "counter", "unit": step_type,
                            "steps": used, "metric": metric_key(name, workflow_id=w)})
    return UIComponent(id=cid, type="dashboard", props={
        "title": f"{wf.name}: performance", "time_range": "P7D", "refresh_seconds": 60,
        "metrics": metrics})


def _chart(wf: Workflow, order: list[Step], cid: str) -> UIComponent | None:
    channels = list(dict.fromkeys(CHANNEL_OF_STEP[s.type] for s in order
                                  if s.type in CHANNEL_OF_STEP))
    if not channels:
        return None
    return UIComponent(id=cid, type="chart", props={
        "title": "Messages sent per day", "kind": "bar", "x": "day", "time_range": "P30D",
        "series": [{"label": c, "metric": metric_key("workflow_messages_sent_total",
                                                     workflow_id=wf.id, channel=c)}
                   for c in channels]})


def _followups(wf: Workflow, order: list[Step], cid: str) -> UIComponent | None:
    staff = [s for s in order if s.type in ("create_task", "notify_staff")]
    if not staff:
        return None
    return UIComponent(id=cid, type="list", props={
        "title": "Staff follow-ups",
        "source": {"table": "workflow_staff_actions", "filter": {"workflow_id": wf.id}},
        "item": {"title": "title", "subtitle": "assignee", "meta": ["created_at", "status"]},
        "steps": [{"step_id": s.id, "type": s.type,
                   "assignee": s.params.get("assignee", s.params.get("role"))} for s in staff],
        "empty_text": "No follow-ups yet"})


def _runs_table(wf: Workflow, order: list[Step], cid: str) -> UIComponent:
    columns = [
        {"key": "run_id", "label": "Run", "type": "text", "sortable": False},
        {"key": "started_at", "label": "Started at", "type": "datetime", "sortable": True},
        {"key": "status", "label": "Status", "type": "enum", "sortable": True,
         "options": list(RUN_STATUSES)},
        {"key": "current_step", "label": "Current step", "type": "enum", "sortable": True,
         "options": [{"value": s.id, "label": s.name or _label(s.id)} for s in order]},
        {"key": "customer", "label": "Customer", "type": "text", "sortable": True,
         "pii": "pseudonymized"},
        {"key": "last_error", "label": "Last error", "type": "text", "sortable": False},
    ]
    return UIComponent(id=cid, type="table", props={
        "title": "Runs",
        "source": {"table": "workflow_runs", "filter": {"workflow_id": wf.id}},
        "row_key": "run_id",
        "columns": columns,
        "paging": {"mode": "server", "page_size": 25, "page_size_options": [10, 25, 50, 100]},
        "sorting": {"mode": "server", "default": {"column": "started_at", "direction": "desc"}},
        "filters": [{"column": "status", "type": "enum"}]})


def generate_interface(workflow: Workflow | dict[str, Any],
                       interface_id: str | None = None) -> InterfaceDefinition:
    """The interface of a valid workflow (see the module docstring for its invariants).

    `interface_id` defaults to `ui-<workflow id>-v<version>`. Raises ValueError when the
    workflow does not validate.
    """
    report = validate_workflow(workflow)
    if not report.valid or report.workflow is None:
        raise ValueError("cannot generate an interface for an invalid workflow: "
                         + "; ".join(report.errors))
    wf = report.workflow
    steps = {s.id: s for s in wf.steps}
    order = [steps[i] for i in stable_order([s.id for s in wf.steps],
                                            ((c.source, c.target) for c in wf.connections))]
    prefix = _slug(wf.id)
    parts = [
        _form(wf, order, f"{prefix}-form"),
        _dashboard(wf, order, f"{prefix}-dashboard"),
        _chart(wf, order, f"{prefix}-messages-chart"),
        _followups(wf, order, f"{prefix}-followups"),
        _runs_table(wf, order, f"{prefix}-runs"),
    ]
    components = [c for c in parts if c is not None]
    layout: Layout = "sidebar" if len(components) > SIDEBAR_ABOVE else "grid"
    for c in components:
        c.props["region"] = "sidebar" if layout == "sidebar" and c.type == "form" else "main"
    return InterfaceDefinition(id=interface_id or f"ui-{wf.id}-v{wf.version}", layout=layout,
                               components=components, theme="default", responsive=True)


def component_metadata(defn: InterfaceDefinition) -> dict[str, Any]:
    """Summary of a definition for GeneratedInterface.component_metadata_json: component
    counts by type, form field count and names, and every metric key the definition reads."""
    by_type: dict[str, int] = {}
    fields: list[str] = []
    keys: list[str] = []

    def visit(c: UIComponent) -> None:
        by_type[c.type] = by_type.get(c.type, 0) + 1
        if c.type == "form":
            fields.extend(f["name"] for f in c.props.get("fields", []))
        for item in [*c.props.get("metrics", []), *c.props.get("series", [])]:
            for k in ("metric", "denominator"):
                if item.get(k) and item[k] not in keys:
                    keys.append(item[k])
        for child in c.children or []:
            visit(child)

    for component in defn.components:
        visit(component)
    return {"layout": defn.layout, "component_count": sum(by_type.values()),
            "by_type": by_type, "field_count": len(fields), "fields": fields,
            "metric_keys": keys}
