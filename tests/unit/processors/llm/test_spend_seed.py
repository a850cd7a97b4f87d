"""Budgets survive a restart: a new process's ledger is seeded with today's recorded spend
(in the background, retrying while the store is unreachable) before it routes calls."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from processors.llm.gateway import BudgetExceeded, LlmGateway, estimate_tokens
from processors.llm.spend import SpendLedger, start_seeding
from processors.llm.usage import CollectingSink
from tests.unit.processors.llm.test_gateway import MSGS, call, config


class RecordedSpend:
    """What ClickHouse would answer: the spend of the first "process", after `fail` errors."""

    def __init__(self, spent: dict[str, float], fail: int = 0) -> None:
        self.spent, self.fail = spent, fail
        self.asked: list[tuple[date, datetime]] = []

    def __call__(self, day: date, before: datetime) -> dict[str, float]:
        self.asked.append((day, before))
        if len(self.asked) <= self.fail:
            raise ConnectionError("ClickHouse unreachable")
        return dict(self.spent)


def _mini_estimate() -> float:
    """What the gateway estimates one `good` call on `mini` costs (budgets compare this)."""
    return config().model("mini").estimated_cost(estimate_tokens(MSGS), 256)


def _first_process_spend(at_least: float) -> dict[str, float]:
    """Run `mini` calls until dealer-1 has spent `at_least`; return the recorded spend."""
    sink = CollectingSink()
    gw = LlmGateway(config(budgets={"default_usd_per_day": 1.0}), sink)
    for i in range(200):
        assert call(gw, temperature=0.001 * i).model == "mini"  # distinct: no cache hits
        if sum(e.cost_usd for e in sink.events) >= at_least:
            return {"dealer-1": sum(e.cost_usd for e in sink.events)}
    raise AssertionError("the first process never spent enough")


def _seeded(ledger: SpendLedger, source: RecordedSpend, **kw) -> None:
    done = threading.Event()
    start_seeding(ledger, source, retry_s=0.01, max_retry_s=0.02,
                  on_change=lambda: ledger.seeded and done.set(), **kw)
    assert done.wait(5), f"ledger not seeded; asked {len(source.asked)} time(s)"


def test_seeded_gateway_downgrades_a_tenant_over_budget_right_after_restart():
    estimate = _mini_estimate()
    budget = estimate * 1.5  # a fresh tenant can afford a call; one that spent 0.6x cannot
    recorded = _first_process_spend(at_least=estimate * 0.6)
    cfg = config(budgets={"default_usd_per_day": budget, "on_exceeded": "downgrade"})

    unseeded = LlmGateway(cfg, CollectingSink())  # the defect: a restart starts at $0
    assert call(unseeded).model == "mini"

    ledger = SpendLedger()
    _seeded(ledger, RecordedSpend(recorded))
    restarted = LlmGateway(cfg, CollectingSink(), ledger=ledger)
    result = call(restarted)
    assert result.model == "free-local" and result.downgraded
    assert "dealer-1" in result.downgraded
    assert call(restarted, tenant="dealer-2").model == "mini"  # others keep their budget


def test_seeded_gateway_rejects_when_configured():
    estimate = _mini_estimate()
    recorded = _first_process_spend(at_least=estimate * 0.6)
    cfg = config(budgets={"default_usd_per_day": estimate * 1.5, "on_exceeded": "reject"})
    ledger = SpendLedger()
    _seeded(ledger, RecordedSpend(recorded))
    sink = CollectingSink()
    with pytest.raises(BudgetExceeded, match="dealer-1"):
        call(LlmGateway(cfg, sink, ledger=ledger))
    assert sink.events[-1].error_class == "BudgetExceeded"


def test_seeding_retries_while_the_store_is_unreachable_and_says_so(caplog):
    caplog.set_level(logging.WARNING, logger="auterity.llm.spend")
    ledger = SpendLedger()
    source = RecordedSpend({"dealer-1": 2.5}, fail=2)
    _seeded(ledger, source)
    assert len(source.asked) == 3 and ledger.spent("dealer-1") == pytest.approx(2.5)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("NOT seeded" in w for w in warnings)
    assert "ClickHouse unreachable" in warnings[0]
    # the cut-off is the ledger's creation: this process's own calls are added, not re-read
    assert all(day == ledger.created_at.date() and before == ledger.created_at
               for day, before in source.asked)


def test_seeding_replaces_the_baseline_and_keeps_own_spend():
    ledger = SpendLedger()
    ledger.add("dealer-1", 0.25)
    ledger.seed({"dealer-1": 1.0, "dealer-2": 3.0})
    ledger.seed({"dealer-1": 1.0, "dealer-2": 3.0})  # a second seed does not double
    assert ledger.spent("dealer-1") == pytest.approx(1.25)
    assert ledger.totals() == pytest.approx({"dealer-1": 1.25, "dealer-2": 3.0})


def test_a_baseline_of_a_past_day_is_ignored():
    today = datetime.now(UTC).date()
    ledger = SpendLedger(today=lambda: today)
    ledger.seed({"dealer-1": 9.0}, day=today - timedelta(days=1))
    assert ledger.spent("dealer-1") == 0.0 and ledger.seeded
