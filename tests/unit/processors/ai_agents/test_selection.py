"""Best-agent selection: cold start, learning from failures, exploration, determinism."""

import pytest

from processors.ai_agents.selection import (
    MIN_RUNS,
    NoCapableAgentError,
    PerformanceBook,
    RecordedPerformance,
    choose_agent,
)

TYPE = "draft_email"


def test_a_new_agent_is_tried_before_the_ranking_counts() -> None:
    book = PerformanceBook()
    for _ in range(10):
        book.record("veteran", TYPE, success=True, execution_ms=200, confidence=0.9)
    choice = choose_agent("t-1", TYPE, ["veteran", "newcomer"], book)
    assert choice.agent_id == "newcomer" and choice.reason.startswith("cold start")


def test_selection_moves_away_from_an_agent_that_keeps_failing() -> None:
    book = PerformanceBook()
    for _ in range(MIN_RUNS):
        book.record("a", TYPE, success=True, execution_ms=100, confidence=0.8)
        book.record("b", TYPE, success=True, execution_ms=300, confidence=0.8)
    picks = {choose_agent(f"t-{i}", TYPE, ["a", "b"], book, exploration_share=0.0).agent_id
             for i in range(20)}
    assert picks == {"a"}  # faster at equal success
    for _ in range(6):
        book.record("a", TYPE, success=False, execution_ms=100)
    choice = choose_agent("t-99", TYPE, ["a", "b"], book, exploration_share=0.0)
    assert choice.agent_id == "b", choice
    assert "success 3/3" in choice.reason


def test_cost_and_latency_lower_the_utility() -> None:
    book = PerformanceBook()
    for _ in range(MIN_RUNS):
        book.record("cheap", TYPE, success=True, execution_ms=500, cost_usd=0.001)
        book.record("dear", TYPE, success=True, execution_ms=500, cost_usd=0.2)
    assert choose_agent("x", TYPE, ["dear", "cheap"], book,
                        exploration_share=0.0).agent_id == "cheap"


def test_exploration_takes_its_share_and_is_fixed_by_the_task_id() -> None:
    book = PerformanceBook()
    for _ in range(MIN_RUNS):
        book.record("best", TYPE, success=True, execution_ms=10, confidence=0.9)
        book.record("second", TYPE, success=True, execution_ms=900, confidence=0.6)
    choices = [choose_agent(f"task-{i}", TYPE, ["best", "second"], book, exploration_share=0.1)
               for i in range(5000)]
    explored = sum(c.agent_id == "second" for c in choices)
    assert 400 <= explored <= 600, explored
    assert all(c.reason.startswith("exploration") for c in choices if c.agent_id == "second")
    # a redelivered task goes to the same agent, whatever the candidates' order
    again = [choose_agent(f"task-{i}", TYPE, ["second", "best"], book, exploration_share=0.1)
             for i in range(5000)]
    assert again == choices


def test_no_capable_agent_is_a_clear_error() -> None:
    with pytest.raises(NoCapableAgentError, match="draft_email"):
        choose_agent("t", TYPE, [], PerformanceBook())
    with pytest.raises(ValueError, match="exploration_share"):
        choose_agent("t", TYPE, ["a"], PerformanceBook(), exploration_share=1.5)


def test_a_book_seeded_with_recorded_failures_skips_the_trials() -> None:
    book = PerformanceBook()
    assert book.seed([
        RecordedPerformance("broken", "quote", 5, 0, 500.0, 0.0, 0.0, 0),
        RecordedPerformance("steady", "quote", 4, 4, 400.0, 0.0, 3.6, 4)]) == 2
    choice = choose_agent("t-1", "quote", ["broken", "steady"], book, exploration_share=0.0)
    assert choice.agent_id == "steady" and choice.reason.startswith("best utility")
    assert book.of("steady", "quote").mean_confidence == pytest.approx(0.9)
