"""Budgets survive a worker restart: today's recorded spend (ClickHouse `ai_model_usage`, via
the real usage projection) seeds the worker's one LLM gateway, and the worker publishes that
gateway's state for `auterity models`."""

from __future__ import annotations

import argparse
import uuid
from datetime import timedelta

import pytest

from cli import builder as cli_builder
from compose import processes as supervisor
from processors.llm.state import freshness, read_state, state_path
from projections.metrics_reader import open_metrics_reader
from projections.usage_spend import spend_today
from runtime.readiness import pid_alive
from runtime.settings import Settings
from schemas.events import ModelUsage, utcnow
from streams.usage_sink import KafkaUsageSink
from tests.integration.conftest import restart, wait_for


def _usage(tenant: str, **kw) -> ModelUsage:
    fields = dict(event_id=str(uuid.uuid4()), tenant_id=tenant, occurred_at=utcnow(),
                  user_id="u1", operation="analyze_requirements", model="gpt-4o-mini",
                  provider="openai", input_tokens=100, output_tokens=40)
    return ModelUsage(**{**fields, **kw})


def _publish(settings: Settings, events: list[ModelUsage]) -> None:
    sink = KafkaUsageSink(settings)
    for ev in events:
        sink(ev)
    assert sink.flush(30) == 0, "usage events not acknowledged"


def _rows(settings: Settings, tenant: str) -> int:
    with open_metrics_reader(settings) as r:
        return int(r.query(f"SELECT count() AS n FROM {r.database}.ai_model_usage FINAL "
                           f"WHERE tenant_id = '{tenant}'")[0]["n"])


def test_spend_today_sums_todays_cost_per_tenant(pipeline):
    s = pipeline
    prefix = f"spd{uuid.uuid4().hex[:6]}"
    a, b, old = f"{prefix}-a", f"{prefix}-b", f"{prefix}-old"
    now = utcnow()
    first = _usage(a, cost_usd=0.0012)
    _publish(s, [
        first, first,  # a redelivered event counts once (FINAL)
        _usage(a, cost_usd=0.0034),
        _usage(a, cost_usd=0.0, cache_hit=True, input_tokens=0, output_tokens=0),
        _usage(a, cost_usd=0.0, success=False, error_class="Timeout"),
        _usage(b, cost_usd=0.5),
        _usage(old, cost_usd=7.0, occurred_at=now - timedelta(hours=25)),  # another day
    ])
    wait_for(lambda: _rows(s, a) == 4 and _rows(s, b) == 1 and _rows(s, old) == 1, 120,
             "the usage projection to write the test's rows")

    spent = spend_today(s, day=now.date())
    assert spent[a] == pytest.approx(0.0046, abs=1e-9)
    assert spent[b] == pytest.approx(0.5, abs=1e-9)
    assert old not in spent
    earlier = spend_today(s, day=now.date(), before=now - timedelta(seconds=1))
    assert a not in earlier and b not in earlier  # only spend before the cut-off


def test_restarted_worker_seeds_its_budget_and_publishes_its_gateway(pipeline, capsys):
    s = pipeline
    tenant = f"rst{uuid.uuid4().hex[:6]}-dealer"
    _publish(s, [_usage(tenant, cost_usd=0.25), _usage(tenant, cost_usd=0.125)])
    wait_for(lambda: _rows(s, tenant) == 2, 120, "the usage projection")

    print(supervisor.stop(s, "worker"))
    restart(s, "worker")
    pid = supervisor.pid_of(s, "worker")
    path = state_path(s.home)

    def seeded_snapshot():
        state = read_state(path)
        return state if state and state.pid == pid and state.budgets_seeded else None

    state = wait_for(seeded_snapshot, 120, "the restarted worker's seeded gateway snapshot")
    assert freshness(state, pid_alive).live
    spend = {t.tenant_id: t for t in state.tenants}
    assert spend[tenant].spent_usd == pytest.approx(0.375, abs=1e-9)
    assert spend[tenant].budget_usd == state.default_budget_usd
    assert {d.name for d in state.deployments} >= {"local-small"}

    assert cli_builder.cmd_models(argparse.Namespace(json=False), s) == 0
    out = capsys.readouterr().out
    assert f"live state of the worker (pid {pid}" in out and "seeded from recorded usage" in out
    assert any(line.strip().startswith(tenant) and "$0.375000" in line
               for line in out.splitlines()), out
