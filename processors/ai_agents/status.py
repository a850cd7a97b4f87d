"""An agent's status, derived from its task events (never stored on its own).

Events, in log order, for one agent: a task `dispatched` to it, `retrying` (it failed and
waits for a retry after backoff), `completed` or `failed` (final). The status is:

- `working` while any dispatched task is neither final nor waiting for a retry;
- `waiting` while every open task waits for a retry;
- otherwise, with no open task: `error` if its last final task failed, `completed` if it
  succeeded, `idle` if it has had no task.

Invariant: a fold of the same events gives the same status; events of a task already final
(a redelivered completion) change nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Literal

TaskEventKind = Literal["dispatched", "retrying", "completed", "failed"]


class AgentStatus(StrEnum):
    IDLE = "idle"
    WORKING = "working"
    WAITING = "waiting"
    ERROR = "error"
    COMPLETED = "completed"


def agent_status(events: Iterable[tuple[TaskEventKind, str]]) -> AgentStatus:
    """The status after `events` ((kind, task id) pairs in log order); see the module doc."""
    open_tasks: dict[str, TaskEventKind] = {}
    final: set[str] = set()
    last: TaskEventKind | None = None
    for kind, task_id in events:
        if task_id in final:
            continue
        if kind in ("completed", "failed"):
            final.add(task_id)
            open_tasks.pop(task_id, None)
            last = kind
        elif kind in ("dispatched", "retrying"):
            open_tasks[task_id] = kind
        else:
            raise ValueError(f"unknown task event kind {kind!r}")
    if open_tasks:
        if all(k == "retrying" for k in open_tasks.values()):
            return AgentStatus.WAITING
        return AgentStatus.WORKING
    if last is None:
        return AgentStatus.IDLE
    return AgentStatus.ERROR if last == "failed" else AgentStatus.COMPLETED
