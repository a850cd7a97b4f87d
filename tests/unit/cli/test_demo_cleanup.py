"""`auterity demo --stop` stops what it started also when the demo fails part-way
(a failed wait used to leave the projections process running, holding its port)."""

import pytest

import cli.demo as demo
from runtime.settings import Settings


def test_a_failed_demo_with_stop_stops_the_processes_and_the_stack(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(demo.stack_health, "up", lambda settings: [])
    monkeypatch.setattr(demo.kafka_clients, "ensure_topics", lambda *a, **k: None)
    monkeypatch.setattr(demo.supervisor, "start", lambda s, name: calls.append(f"start {name}"))

    def not_ready(settings: Settings, name: str) -> None:
        raise TimeoutError(f"{name} never became ready")

    monkeypatch.setattr(demo.supervisor, "wait_ready", not_ready)
    monkeypatch.setattr(demo.supervisor, "stop", lambda s, name: calls.append(f"stop {name}"))
    monkeypatch.setattr(demo.stack, "down", lambda settings: calls.append("stack down"))
    with pytest.raises(TimeoutError):
        demo.run_demo(Settings(), 10, 1, 10.0, keep_running=False)
    assert [c for c in calls if c.startswith("stop")] == [
        f"stop {name}" for name in demo.supervisor.PROCESSES]
    assert calls[-1] == "stack down"


def test_a_failed_demo_without_stop_leaves_the_stack_as_the_readme_says(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(demo.stack_health, "up", lambda settings: [])
    monkeypatch.setattr(demo.kafka_clients, "ensure_topics", lambda *a, **k: None)

    def broken(settings: Settings, name: str) -> None:
        raise RuntimeError("cannot start")

    monkeypatch.setattr(demo.supervisor, "start", broken)
    monkeypatch.setattr(demo.supervisor, "stop", lambda s, name: calls.append(f"stop {name}"))
    monkeypatch.setattr(demo.stack, "down", lambda settings: calls.append("stack down"))
    with pytest.raises(RuntimeError):
        demo.run_demo(Settings(), 10, 1, 10.0, keep_running=True)
    assert calls == []
