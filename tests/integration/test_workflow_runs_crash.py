"""kill -9 of the worker during a wait and while the runs are sending: every run resumes,
no step runs twice and none is skipped — counted at the receivers."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections import Counter
from datetime import timedelta

from compose import processes as supervisor
from connectors.ingest import produce
from processors.workflows.templates import get_template
from runtime import clock
from runtime.kafka_auth import Principal
from schemas import topics
from schemas.events import CustomerContact, DealershipEvent, GeneratedWorkflow, utcnow
from tests.integration.conftest import restart, wait_for

N = 12


def _kill_worker(settings) -> None:
    pid = supervisor.pid_of(settings, "worker")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: supervisor.pid_of(settings, "worker") != pid, 30, "the worker to die")
    restart(settings, "worker")
    assert supervisor.pid_of(settings, "worker") not in (None, pid)


def _diagnose(pg, tenant: str) -> object:
    return pg.execute("SELECT step_id, status, count(*) FROM workflow_step_runs WHERE "
                      "tenant_id = %s GROUP BY step_id, status ORDER BY 1, 2",
                      (tenant,)).fetchall(), pg.execute(
        "SELECT kind, step_id, count(*) FROM workflow_run_events WHERE tenant_id = %s "
        "GROUP BY kind, step_id ORDER BY 1, 2", (tenant,)).fetchall()


def test_runs_survive_kill_minus_nine_with_exact_counts(pipeline, deliveries, pg) -> None:
    settings = pipeline
    smtp, gateway = deliveries
    tenant = f"dealer-k{uuid.uuid4().hex[:6]}"
    customers = [f"CRM-{i}" for i in range(N)]
    phones = {c: f"+1210{uuid.uuid4().int % 10**7:07d}" for c in customers}
    emails = {c: f"{c.lower()}-{tenant}@example.com" for c in customers}
    assert produce(settings, topics.CUSTOMERS_RAW, [CustomerContact(
        event_id=f"{tenant}-{c}", tenant_id=tenant, occurred_at=utcnow(), customer_id=c,
        first_name="Sam", phone=phones[c], email=emails[c]) for c in customers]).rejected == []
    wf = get_template("service_appointment_reminder").instantiate(workflow_id=f"wf-{tenant}")
    assert produce(settings, topics.WORKFLOWS_GENERATED, [GeneratedWorkflow(
        event_id=f"{tenant}-wf", tenant_id=tenant, occurred_at=utcnow(), workflow_id=wf["id"],
        name=wf["name"], definition_json=json.dumps(wf), valid=True)],
        principal=Principal.ADMIN).rejected == []
    wait_for(lambda: f"workflow {wf['id']} v1 of {tenant} runs on" in (
        settings.logs_dir / "worker.log").read_text(errors="replace"), 120,
        "the worker to know the published workflow")
    appointment = clock.now(settings) + timedelta(days=7)
    assert produce(settings, topics.DEALERSHIP_EVENTS, [DealershipEvent(
        event_id=f"{tenant}-s-{c}", tenant_id=tenant, occurred_at=utcnow(),
        fact="service.appointment_scheduled", customer_ref=c, appointment_id=f"apt-{c}",
        appointment_at=appointment, vehicle="2020 Toyota Camry")
        for c in customers]).rejected == []

    def steps(step: str, status: str) -> int:
        row = pg.execute("SELECT count(*) FROM workflow_step_runs WHERE tenant_id = %s AND "
                         "step_id = %s AND status = %s", (tenant, step, status)).fetchone()
        return int(row[0])

    wait_for(lambda: steps("wait_before_appointment", "waiting") == N, 300,
             "every run waiting for its day")

    # kill -9 during the wait: the timers are in the worker's changelogged table
    _kill_worker(settings)
    clock.advance(settings, appointment - timedelta(days=3) - clock.now(settings)
                  + timedelta(minutes=1))

    def texts() -> Counter:
        return Counter(m.to for m in gateway.requests if m.to in phones.values())

    # kill -9 again while the texts are going out
    wait_for(lambda: len(texts()) >= 2, 180, "the first texts")
    _kill_worker(settings)
    try:
        wait_for(lambda: len({m.to for m in gateway.delivered.values()
                              if m.to in phones.values()}) == N, 240, "every reminder text")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; steps: {_diagnose(pg, tenant)}") from None
    wait_for(lambda: steps("wait_for_reply", "waiting") == N, 180, "every run waiting again")

    clock.advance(settings, timedelta(days=1, minutes=1))
    try:
        wait_for(lambda: pg.execute(
            "SELECT count(*) FROM workflow_runs WHERE tenant_id = %s AND status = "
            "'completed'", (tenant,)).fetchone()[0] == N, 240, "every run completed")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; steps: {_diagnose(pg, tenant)}") from None
    delivered = Counter(m.to for m in gateway.delivered.values() if m.to in phones.values())
    assert delivered == Counter(phones.values())  # one text each: none skipped, none twice
    mails = Counter(m["To"] for m in smtp.messages if m["To"] in emails.values())
    assert mails == Counter(emails.values())  # one coupon each
    scheduled = pg.execute(
        "SELECT step_id, count(*) FROM workflow_run_events WHERE tenant_id = %s AND kind = "
        "'step_scheduled' GROUP BY step_id", (tenant,)).fetchall()
    assert dict(scheduled) == {"send_reminder": N, "email_coupon": N, "log_coupon_sent": N}
