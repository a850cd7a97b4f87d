"""The worker has ONE LLM gateway (one router, one spend ledger, one usage sink) shared by the
builder, media and AI agent steps; at start its ledger is seeded in the background and its state is
published for `auterity models`. No Kafka: the usage sink's producer is never built."""

from __future__ import annotations

import json
import os
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from processors.llm.gateway import LlmGateway
from processors.llm.spend import SpendLedger
from processors.llm.usage import CollectingSink
from runtime.settings import Settings
from streams import (
    agent_steps,
    builder_steps,
    delivery_steps,
    media_steps,
    redaction_step,
    run_steps,
)
from streams import app as app_module
from streams.usage_sink import KafkaUsageSink
from tests.unit.processors.llm.test_gateway import call, config


@pytest.fixture
def created(monkeypatch) -> dict[str, list[object]]:
    """Every LlmGateway, SpendLedger and KafkaUsageSink constructed while the test runs."""
    made: dict[str, list[object]] = {"gateways": [], "ledgers": [], "sinks": []}

    def counting(cls: type, key: str, build_producer: bool = True) -> None:
        original = cls.__init__

        def init(self, *args, **kwargs):
            made[key].append(self)
            if build_producer:
                original(self, *args, **kwargs)
            else:  # a usage sink without a Kafka producer
                self.producer, self.topic = None, "model.usage"

        monkeypatch.setattr(cls, "__init__", init)

    counting(LlmGateway, "gateways")
    counting(SpendLedger, "ledgers")
    counting(KafkaUsageSink, "sinks", build_producer=False)
    return made


def _settings(tmp_path: Path) -> Settings:
    # the app's broker login is read when it is built (nothing connects)
    return Settings(home=tmp_path, media_workers=1, redaction_workers=1,
                    kafka_pii_step_password="unused")


def test_worker_app_builds_one_gateway_ledger_and_sink_shared_by_builder_and_media(
        tmp_path, created, monkeypatch):
    agents: list[tuple[str, object]] = []  # (step, after_batch): no Kafka topics created
    for module in (redaction_step, builder_steps, media_steps, agent_steps, delivery_steps,
                   run_steps):
        monkeypatch.setattr(module, "step_agent", lambda app, settings, spec, step, *a, **kw:
                            agents.append((step, kw.get("after_batch"))))
    handed: dict[str, tuple[object, ...]] = {}
    for name, module in (("builder", builder_steps), ("media", media_steps),
                         ("agents", agent_steps)):
        def spy(*args, _name=name, _original=module.wire, **kwargs):
            handed[_name] = args + tuple(kwargs.values())
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, "wire", spy)
    app_module.create_app(_settings(tmp_path), lambda tenant, workflow: None)
    assert len(created["gateways"]) == 1, "one LLM gateway (router) per worker process"
    assert len(created["ledgers"]) == 1, "one spend ledger per worker process"
    assert len(created["sinks"]) == 1, "one model-usage sink per worker process"
    [gateway], [ledger], [sink] = created["gateways"], created["ledgers"], created["sinks"]
    assert gateway.ledger is ledger and gateway.sink is sink
    # the AI agents' registry holds agents built on the same gateway
    assert all(getattr(a, "gateway", gateway) is gateway
               for a in handed["agents"][2].agents())  # type: ignore[attr-defined]
    for name in ("builder", "media"):
        assert any(a is gateway for a in handed[name]), f"{name} steps use another gateway"
        assert any(a is sink for a in handed[name]), f"{name} steps flush another usage sink"
    flushed = [step for step, after in agents if after is not None]
    assert flushed and all(after == sink.flush_or_raise for _, after in agents if after)


class FlakyStore:
    """Today's recorded spend, after the store was unreachable `fail` times."""

    def __init__(self, spent: dict[str, float], fail: int) -> None:
        self.spent, self.fail, self.calls = spent, fail, 0

    def __call__(self, day: date, before: datetime) -> dict[str, float]:
        self.calls += 1
        if self.calls <= self.fail:
            raise ConnectionError("ClickHouse unreachable")
        return dict(self.spent)


def _wait(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("timed out")


def _fast(init):
    def fast_init(self, snapshot, path, interval_s=5.0, min_gap_s=0.5):
        init(self, snapshot, path, interval_s=0.1, min_gap_s=0.01)
    return fast_init


def test_worker_seeds_budgets_in_background_and_publishes_its_state(tmp_path, monkeypatch):
    from processors.llm.state import read_state, state_path
    from streams import worker

    monkeypatch.setattr(worker.StatePublisher, "__init__", _fast(worker.StatePublisher.__init__))
    cfg = config(budgets={"default_usd_per_day": 1.0, "on_exceeded": "downgrade"})
    models = app_module.ModelAccess(LlmGateway(cfg, CollectingSink(), ledger=SpendLedger()),
                                    usage=None)  # type: ignore[arg-type]
    store = FlakyStore({"dealer-1": 1.0}, fail=1)
    publisher = worker.start_model_services(_settings(tmp_path), models, store,
                                            seed_retry_s=0.05)
    try:
        path = state_path(tmp_path)
        first = _wait(lambda: read_state(path))
        assert first.pid == os.getpid()
        # the worker runs while the store is unreachable, and its state says budgets are unseeded
        unseeded = _wait(lambda: (s := read_state(path)) and s.seed_error and s)
        assert not unseeded.budgets_seeded and "ClickHouse unreachable" in unseeded.seed_error
        _wait(lambda: models.gateway.ledger.seeded)
        result = call(models.gateway, tenant="dealer-1")  # $1.00 of $1.00 spent before start
        assert result.model == "free-local" and result.downgraded
        assert call(models.gateway, tenant="dealer-2").model == "mini"
        seeded = _wait(lambda: (s := read_state(path)) and s.budgets_seeded
                       and any(t.tenant_id == "dealer-2" for t in s.tenants) and s)
        spend = {t.tenant_id: t.spent_usd for t in seeded.tenants}
        assert spend["dealer-1"] == pytest.approx(1.0) and spend["dealer-2"] > 0
        assert not list(path.parent.glob(".llm-state.json.*")), "temporary files left behind"
        json.loads(path.read_text())  # always a whole document
    finally:
        publisher.stop()
    assert not state_path(tmp_path).exists(), "a stopped worker leaves no live snapshot"


def test_publisher_writes_soon_after_a_change(tmp_path):
    from processors.llm.state import StatePublisher, read_state, state_path

    gw = LlmGateway(config(), CollectingSink())
    publisher = StatePublisher(gw.state, state_path(tmp_path), interval_s=60, min_gap_s=0.01)
    gw.add_listener(publisher.notify)
    publisher.start()
    try:
        _wait(lambda: read_state(state_path(tmp_path)))
        call(gw, tenant="dealer-9")
        # the periodic write is a minute away: this one is the change notification's
        _wait(lambda: any(t.tenant_id == "dealer-9"
                          for t in read_state(state_path(tmp_path)).tenants), timeout=5)
    finally:
        publisher.stop()
