"""What an AI agent remembers: short-term context, a context window, long-term memories.

- **Short-term context** travels in the task's events: `AgentTaskRequested.context_json` (a
  workflow run's state, the previous step's output) reaches the agent as `AgentTask.context`.
- **Long-term memory** is one `Memory` per completed task (its type by outcome), stored with
  an embedding of `memory_text` in Postgres/pgvector (projections/agent_memory.py, a
  projection of agent.tasks.completed, so it can be rebuilt from the log). Before a task
  runs, the step recalls (`MemoryRecall`) the `RECALL_K` past tasks of the same type and
  tenant most similar to it, and
- the **context window**: the agent's `CONTEXT_WINDOW` latest memories for that tenant,
  bounded again to `CONTEXT_CHARS` characters (`bounded_window`).

Invariants:
- a memory never crosses tenants: recall is by (tenant, task type); the table has row-level
  security per tenant;
- a memory expires `EXPIRY[memory_type]` after the event that made it (`expires_at`, fixed by
  the log, so a rebuild expires it at the same moment); an expired memory is never recalled;
- `memory_text` holds only what the completed event holds after the output firewall, and a
  request's input must already be pseudonymised (schemas/events.py AgentTaskRequested), so
  no raw PII is embedded or recalled.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

MemoryType = Literal["task", "failure", "feedback"]

#: how long each kind of memory is recalled after the event that made it
EXPIRY: dict[str, dt.timedelta] = {
    "task": dt.timedelta(days=90),      # what worked, for the same kind of task
    "failure": dt.timedelta(days=30),   # what failed: useful soon, misleading once fixed
    "feedback": dt.timedelta(days=365),  # what customers did (replied, booked, bounced)
}
#: similar past tasks handed to an agent with each task
RECALL_K = 5
#: an agent's latest memories per tenant handed with each task, and their character budget
CONTEXT_WINDOW = 5
CONTEXT_CHARS = 4000
#: characters of a task's input and output kept in its memory text
MEMORY_TEXT_CHARS = 1500
_FIELD_CHARS = 400


class Memory(BaseModel):
    """One remembered task (or outcome) as an agent receives it."""

    model_config = ConfigDict(frozen=True)

    task_id: str
    agent_id: str
    task_type: str
    memory_type: MemoryType
    content: str
    success: bool
    similarity: float | None = Field(default=None, description="cosine, recalled memories")
    created_at: dt.datetime


class Recollection(BaseModel):
    """What a task is handed from memory: similar past tasks, and the agent's latest."""

    model_config = ConfigDict(frozen=True)

    similar: tuple[Memory, ...] = ()
    recent: tuple[Memory, ...] = ()

    def task_ids(self) -> list[str]:
        """The ids of the tasks recalled, similar first, each once."""
        return list(dict.fromkeys(m.task_id for m in (*self.similar, *self.recent)))


class MemoryRecall(Protocol):
    """Recall for one task (implemented over pgvector in projections/agent_memory.py)."""

    def recall(self, tenant_id: str, agent_id: str, task_type: str, text: str, *,
               k: int = RECALL_K, window: int = CONTEXT_WINDOW,
               exclude_task_id: str | None = None) -> Recollection:
        """The `k` memories of (tenant, task type) most similar to `text` and the agent's
        `window` latest for the tenant, never the task `exclude_task_id` itself."""


def memory_type(success: bool) -> MemoryType:
    return "task" if success else "failure"


def expires_at(memory_kind: str, occurred_at: dt.datetime) -> dt.datetime:
    return occurred_at + EXPIRY[memory_kind]


def _short(value: Any) -> Any:
    """`value` with long strings cut to _FIELD_CHARS (a prompt's gist, not its whole)."""
    if isinstance(value, str):
        return value if len(value) <= _FIELD_CHARS else value[:_FIELD_CHARS] + "..."
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_short(v) for v in value[:20]]
    return value


def memory_text(task_type: str, task_input: dict[str, Any], output: dict[str, Any] | None = None,
                error: str | None = None) -> str:
    """The text a task is remembered (and recalled) by: its type, input and outcome, each
    long field cut, the whole at most MEMORY_TEXT_CHARS."""
    parts = [f"{task_type}: {json.dumps(_short(task_input), sort_keys=True, ensure_ascii=False)}"]
    if output:
        parts.append(f"-> {json.dumps(_short(output), sort_keys=True, ensure_ascii=False)}")
    if error:
        parts.append(f"-> failed: {error[:_FIELD_CHARS]}")
    return " ".join(parts)[:MEMORY_TEXT_CHARS]


def query_text(task_type: str, task_input: dict[str, Any]) -> str:
    """What a new task is compared with past memories by (its type and input)."""
    return memory_text(task_type, task_input)


def bounded_window(memories: Sequence[Memory], *, window: int = CONTEXT_WINDOW,
                   chars: int = CONTEXT_CHARS) -> tuple[Memory, ...]:
    """The newest `window` memories whose contents fit in `chars` characters together."""
    kept: list[Memory] = []
    used = 0
    for m in sorted(memories, key=lambda m: m.created_at, reverse=True)[:window]:
        if used + len(m.content) > chars:
            break
        kept.append(m)
        used += len(m.content)
    return tuple(kept)


def as_prompt(recollection: Recollection, *, chars: int = CONTEXT_CHARS) -> str:
    """The recollection as lines for a model prompt (empty if there is nothing), similar
    tasks first, within `chars` characters."""
    lines: list[str] = []
    seen: set[str] = set()
    for title, memories in (("Similar past tasks (most similar first)", recollection.similar),
                            ("Your latest tasks for this dealership", recollection.recent)):
        shown = [m for m in memories if m.task_id not in seen]
        if not shown:
            continue
        lines.append(f"{title}:")
        for m in shown:
            seen.add(m.task_id)
            mark = "ok" if m.success else "FAILED"
            lines.append(f"- [{mark}] {m.content}")
    text = "\n".join(lines)
    return text[:chars]
