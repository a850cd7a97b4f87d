"""`auterity models` shows the WORKER's gateway (cooldowns, failures, spend vs budget) from the
snapshot it publishes, and says so when there is no live worker (configuration only)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cli import builder as cli_builder
from processors.llm.gateway import LlmGateway
from processors.llm.spend import SpendLedger
from processors.llm.state import state_path, write_state
from processors.llm.usage import CollectingSink
from runtime.settings import Settings
from tests.unit.processors.llm.test_gateway import ANSWER, MSGS, SCHEMA, config


@pytest.fixture
def settings(tmp_path: Path, monkeypatch) -> Settings:
    # ClickHouse's recorded usage is another source; keep this test to the worker's state
    monkeypatch.setattr(cli_builder, "_recorded_spend", lambda s: "unavailable: not in test")
    return Settings(home=tmp_path)


def _gateway_with_a_cooldown() -> LlmGateway:
    """`mini` fails like a rate-limited provider until the Router cools it down."""
    cfg = config(router={"num_retries": 0, "allowed_fails": 1, "cooldown_time_s": 600})
    for m in cfg.models:
        m.litellm_params["mock_response"] = (
            "litellm.RateLimitError" if m.name == "mini" else ANSWER)
    ledger = SpendLedger()
    ledger.seed({"dealer-1": 0.42})
    gw = LlmGateway(cfg, CollectingSink(), ledger=ledger)
    for i in range(3):  # answered by the fallback while `mini` fails, then cools down
        served = gw.complete_json(operation="good", tenant_id="dealer-1", messages=MSGS,
                                  schema=SCHEMA, temperature=0.01 * i)
        assert served.model == "free-local"
    return gw


def _models(settings: Settings, capsys, as_json: bool = False) -> str:
    assert cli_builder.cmd_models(argparse.Namespace(json=as_json), settings) == 0
    return capsys.readouterr().out


def test_models_shows_the_workers_cooldown_from_its_snapshot(settings, capsys):
    gw = _gateway_with_a_cooldown()
    write_state(state_path(settings.home), gw.state())  # as the worker's publisher does

    out = _models(settings, capsys)
    [mini] = [line for line in out.splitlines() if line.startswith("mini ")]
    assert "cooling down until" in mini and "RateLimitError" in mini, out
    [local] = [line for line in out.splitlines() if line.startswith("free-local ")]
    assert local.rstrip().endswith("ok")
    assert "live state of the worker" in out and f"pid {os.getpid()}" in out
    assert "dealer-1" in out and "$0.420000 of $1.00" in out
    assert "configuration only" not in out

    data = json.loads(_models(settings, capsys, as_json=True))
    assert data["source"] == "worker"
    [mini_state] = [d for d in data["worker"]["deployments"] if d["name"] == "mini"]
    assert mini_state["health"] == "cooling_down" and mini_state["cooldown_until"]
    assert mini_state["failures_last_minute"] >= 2


def test_models_without_a_worker_shows_the_configuration_only(settings, capsys):
    out = _models(settings, capsys)
    assert "worker not running" in out and "configuration only" in out
    assert "cooling down" not in out and " ok" not in out  # no health is claimed
    data = json.loads(_models(settings, capsys, as_json=True))
    assert data["source"] == "configuration" and "worker" not in data and data["models"]


def test_models_treats_a_snapshot_of_an_exited_worker_as_not_running(settings, capsys):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    gw = _gateway_with_a_cooldown()
    write_state(state_path(settings.home), gw.state(pid=gone.pid))
    out = _models(settings, capsys)
    assert f"pid {gone.pid}) is not running" in out and "configuration only" in out
    assert "cooling down" not in out


def test_models_treats_an_old_snapshot_as_stale(settings, capsys):
    state = _gateway_with_a_cooldown().state()
    old = state.model_copy(update={"written_at": datetime.now(UTC) - timedelta(minutes=5)})
    write_state(state_path(settings.home), old)
    out = _models(settings, capsys)
    assert "stale: written 300s ago" in out and "configuration only" in out
