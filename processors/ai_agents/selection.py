"""Best-agent selection from learned performance per task type.

`PerformanceBook` is a fold of completed tasks: per (agent, task type) the runs, successes,
execution time, cost and confidence. `choose_agent` picks among the agents able to take a
task:

1. **cold start**: an agent with fewer than `min_runs` runs of the type is tried first (the
   one with the fewest runs; ties by agent id), so a new agent gets a fair trial;
2. **exploration**: a share `exploration_share` of tasks, chosen by a hash of the task id, go
   to the runner-up, so a ranking that has gone stale is re-measured;
3. otherwise the best **utility**: smoothed success rate x mean confidence, less
   `LATENCY_WEIGHT` per second of mean execution time and `COST_WEIGHT` per USD of mean cost.

Invariant: the choice is a pure function of (task id, candidates, book): a redelivered task
is given to the same agent as long as the book has not changed, and every choice carries
its reason (recorded on the completed event).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

#: runs of a task type below which an agent is still on trial
MIN_RUNS = 3
#: the share of tasks sent to the runner-up to keep measuring it
EXPLORATION_SHARE = 0.1
#: utility lost per second of mean execution time, and per USD of mean cost
LATENCY_WEIGHT = 0.01
COST_WEIGHT = 1.0
#: confidence assumed for an agent that reports none
DEFAULT_CONFIDENCE = 0.5


class NoCapableAgentError(LookupError):
    """No registered agent can take the task."""


@dataclass
class TypeStats:
    """Performance of one agent on one task type."""

    runs: int = 0
    successes: int = 0
    total_ms: float = 0.0
    total_cost_usd: float = 0.0
    confidence_sum: float = 0.0
    confidence_runs: int = 0

    def record(self, success: bool, execution_ms: float, cost_usd: float,
               confidence: float | None) -> None:
        self.runs += 1
        self.successes += int(success)
        self.total_ms += max(0.0, execution_ms)
        self.total_cost_usd += max(0.0, cost_usd)
        if confidence is not None:
            self.confidence_sum += confidence
            self.confidence_runs += 1

    @property
    def success_rate(self) -> float:
        """Laplace-smoothed: (successes + 1) / (runs + 2); 0.5 before any run."""
        return (self.successes + 1) / (self.runs + 2)

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.runs if self.runs else 0.0

    @property
    def mean_cost_usd(self) -> float:
        return self.total_cost_usd / self.runs if self.runs else 0.0

    @property
    def mean_confidence(self) -> float:
        return (self.confidence_sum / self.confidence_runs if self.confidence_runs
                else DEFAULT_CONFIDENCE)

    def utility(self) -> float:
        return (self.success_rate * self.mean_confidence - LATENCY_WEIGHT * self.mean_ms / 1000
                - COST_WEIGHT * self.mean_cost_usd)


@dataclass
class PerformanceBook:
    """Per (agent id, task type) `TypeStats`, folded from completed tasks."""

    stats: dict[tuple[str, str], TypeStats] = field(default_factory=dict)

    def record(self, agent_id: str, task_type: str, *, success: bool, execution_ms: float,
               cost_usd: float = 0.0, confidence: float | None = None) -> None:
        self.stats.setdefault((agent_id, task_type), TypeStats()).record(
            success, execution_ms, cost_usd, confidence)

    def of(self, agent_id: str, task_type: str) -> TypeStats:
        return self.stats.get((agent_id, task_type), TypeStats())

    def seed(self, recorded: Iterable[RecordedPerformance]) -> int:
        """Start from performance recorded elsewhere (Postgres agent_tasks, at start-up), so
        a restarted worker does not put every agent back on trial; returns the rows taken.
        Adds to what the book holds."""
        n = 0
        for r in recorded:
            s = self.stats.setdefault((r.agent_id, r.task_type), TypeStats())
            s.runs += r.runs
            s.successes += r.successes
            s.total_ms += r.total_ms
            s.total_cost_usd += r.total_cost_usd
            s.confidence_sum += r.confidence_sum
            s.confidence_runs += r.confidence_runs
            n += 1
        return n


class RecordedPerformance(NamedTuple):
    """One (agent, task type)'s recorded totals (what `TypeStats` folds)."""

    agent_id: str
    task_type: str
    runs: int
    successes: int
    total_ms: float
    total_cost_usd: float
    confidence_sum: float
    confidence_runs: int


@dataclass(frozen=True)
class Choice:
    agent_id: str
    reason: str


def _unit_hash(task_id: str) -> float:
    """A number in [0, 1) fixed by the task id."""
    digest = hashlib.blake2b(task_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def choose_agent(task_id: str, task_type: str, candidates: Sequence[str],
                 book: PerformanceBook, *, min_runs: int = MIN_RUNS,
                 exploration_share: float = EXPLORATION_SHARE) -> Choice:
    """The agent (among `candidates`, the ids of agents able to take the task) that runs
    it, and why (module doc)."""
    if not candidates:
        raise NoCapableAgentError(f"no registered agent can handle task type {task_type!r}")
    if not 0.0 <= exploration_share < 1.0:
        raise ValueError(f"exploration_share {exploration_share} is not in [0, 1)")
    ids = sorted(set(candidates))
    stats = {a: book.of(a, task_type) for a in ids}
    on_trial = [a for a in ids if stats[a].runs < min_runs]
    if on_trial:
        pick = min(on_trial, key=lambda a: (stats[a].runs, a))
        return Choice(pick, f"cold start: {stats[pick].runs} of {min_runs} trial runs of "
                            f"{task_type}")
    ranked = sorted(ids, key=lambda a: (-stats[a].utility(), a))
    best = stats[ranked[0]]
    if len(ranked) > 1 and _unit_hash(task_id) < exploration_share:
        pick = ranked[1]
        return Choice(pick, f"exploration ({exploration_share:.0%} of tasks): runner-up, "
                            f"utility {stats[pick].utility():.3f} vs {best.utility():.3f}")
    s = best
    return Choice(ranked[0], f"best utility {s.utility():.3f} of {len(ids)}: success "
                             f"{s.successes}/{s.runs}, {s.mean_ms:.0f} ms, "
                             f"${s.mean_cost_usd:.4f}, confidence {s.mean_confidence:.2f}")
