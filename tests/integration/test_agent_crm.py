"""The CRM action agents on the real stack: create_task and update_crm change Postgres once
per task id (through their results and the postgres_agents projection), model-free text
passes the output firewall, and a field a task may not set is refused with a dead letter."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from schemas import topics
from schemas.events import DeadLetter

from .conftest import wait_for
from .test_agent_deliveries import _topic
from .test_agent_tasks import _decoded, _request, _results, _send

#: a CRM id the output firewall once took for a name (`<PERSON>-004417`: found by review)
REF = "CRM-004417"


def _done(settings, req):
    [done] = _decoded(wait_for(lambda: _results(settings, req.task_id), 120, "the result"))
    return done


def test_crm_tasks_and_customer_fields_are_written_once_per_task(pipeline, pg):
    settings = pipeline
    tenant = f"dealer-m{uuid.uuid4().hex[:6]}"
    follow_up = _request(tenant, "create_task", json.dumps({
        "title": "Call back about the trade-in", "customer_ref": REF, "due_in_days": 3,
        "priority": "high", "assignee": "sales"}))
    first = _request(tenant, "update_crm", json.dumps({
        "customer_ref": REF, "fields": {"lead_status": "contacted",
                                             "vehicle_interest": "a used pickup"}}))
    _send(settings, follow_up, first)
    assert _done(settings, follow_up).status == "completed"
    [task_row] = wait_for(lambda: pg.execute(
        "SELECT event_id, created_at, customer_ref FROM crm_tasks WHERE tenant_id = %s",
        (tenant,)).fetchall(), 60, "the CRM task")
    assert _done(settings, first).status == "completed"
    second = _request(tenant, "update_crm", json.dumps({
        "customer_ref": REF, "fields": {
            "lead_status": "qualified",
            "notes": "Asked to call Dana Scully at 512-555-0143 tomorrow"}}))
    refused = _request(tenant, "update_crm", json.dumps({
        "customer_ref": REF, "fields": {"email": "dana@example.com"}}))
    _send(settings, second, refused, follow_up)  # follow_up again: a producer retry
    # the repeated request is answered with the same bytes, and the CRM task stays as it was

    def answers() -> list[bytes]:
        got = _results(settings, follow_up.task_id)
        return got if len(got) >= 2 else []

    assert len(set(wait_for(answers, 120, "the repeated create_task's answer"))) == 1

    bad = _done(settings, refused)
    # the error names what was wrong, never what the request held (keys included)
    assert bad.status == "failed" and (bad.error or "").endswith(
        "input does not match UpdateCrmInput: fields")
    assert "dana@example.com" not in (bad.error or "")
    wait_for(lambda: [d for d in _topic(settings, topics.DEAD_LETTERS, DeadLetter, tenant)
                      if d.step == "agent_tasks"], 60, "the refused task's dead letter")

    def fields() -> dict:
        rows = pg.execute("SELECT field, value FROM crm_customer_fields WHERE tenant_id = %s "
                          "AND customer_ref = %s", (tenant, REF)).fetchall()
        got = dict(rows)
        return got if got.get("lead_status") == "qualified" else {}

    got = wait_for(fields, 60, "the customer's latest CRM fields")
    assert got["vehicle_interest"] == "a used pickup"
    assert "512-555-0143" not in got["notes"] and "<PHONE_NUMBER>" in got["notes"]
    assert set(got) == {"lead_status", "vehicle_interest", "notes"}
    [(title, priority, assignee, due_at, created_at, event_id, ref)] = pg.execute(
        "SELECT title, priority, assignee, due_at, created_at, event_id, customer_ref "
        "FROM crm_tasks WHERE tenant_id = %s", (tenant,)).fetchall()
    assert (event_id, created_at, ref) == task_row and ref == REF
    assert (title, priority, assignee) == ("Call back about the trade-in", "high", "sales")
    assert due_at - created_at == timedelta(days=3)
    assert pg.execute("SELECT count(*) FROM crm_customer_updates WHERE tenant_id = %s",
                      (tenant,)).fetchone() == (2,)
