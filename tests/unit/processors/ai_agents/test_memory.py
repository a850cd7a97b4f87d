"""What an AI agent is handed from memory: the text a task is remembered by, the bounded
context window, the prompt lines, expiry, and dispatch handing the recollection on."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from pydantic import BaseModel

from processors.ai_agents.builtin import GenerateInput, system_prompt
from processors.ai_agents.dispatch import AgentRegistry, TaskRejected, dispatch
from processors.ai_agents.memory import (
    EXPIRY,
    MEMORY_TEXT_CHARS,
    Memory,
    Recollection,
    as_prompt,
    bounded_window,
    expires_at,
    memory_text,
)
from processors.ai_agents.model import AgentTask, AiAgent, TaskOutcome
from processors.ai_agents.selection import PerformanceBook

from .test_dispatch import CAP, FAST, no_sleep, request

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def mem(task_id: str, content: str, minutes: int = 0, success: bool = True,
        similarity: float | None = None) -> Memory:
    return Memory(task_id=task_id, agent_id="a-1", task_type="draft_sms",
                  memory_type="task" if success else "failure", content=content,
                  success=success, similarity=similarity,
                  created_at=T0 + dt.timedelta(minutes=minutes))


def test_memory_text_cuts_long_fields_and_the_whole() -> None:
    text = memory_text("llm_generate", {"prompt": "x" * 5000}, {"text": "done"})
    assert text.startswith("llm_generate: ") and "x" * 400 + "..." in text
    assert "x" * 401 not in text and text.endswith('-> {"text": "done"}')
    many = memory_text("t", {f"k{i}": "y" * 300 for i in range(20)})
    assert len(many) == MEMORY_TEXT_CHARS
    failed = memory_text("t", {"a": 1}, None, "timed out after 60 s")
    assert failed.endswith("-> failed: timed out after 60 s")


def test_the_context_window_is_the_newest_within_count_and_characters() -> None:
    memories = [mem(f"t{i}", "m" * 1000, minutes=i) for i in range(8)]
    window = bounded_window(memories, window=5, chars=3500)
    assert [m.task_id for m in window] == ["t7", "t6", "t5"]  # a 4th would pass 3500 chars
    assert [m.task_id for m in bounded_window(memories, window=2)] == ["t7", "t6"]


def test_prompt_lines_put_similar_first_once_and_mark_failures() -> None:
    rec = Recollection(similar=(mem("a", "brake squeal", similarity=0.9),
                                mem("b", "oil change", success=False, similarity=0.5)),
                       recent=(mem("b", "oil change", success=False), mem("c", "tyres")))
    text = as_prompt(rec)
    assert text.index("brake squeal") < text.index("oil change") < text.index("tyres")
    assert text.count("oil change") == 1 and "[FAILED] oil change" in text
    assert rec.task_ids() == ["a", "b", "c"]
    assert as_prompt(Recollection()) == ""


def test_each_memory_type_expires_after_its_own_time() -> None:
    assert expires_at("failure", T0) - T0 == EXPIRY["failure"] < EXPIRY["task"]
    assert expires_at("feedback", T0) - T0 == EXPIRY["feedback"]


class Remembering(AiAgent):
    CAPABILITIES = (CAP,)
    seen: list[AgentTask]

    def __init__(self) -> None:
        super().__init__("sms-memory")
        self.seen = []

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        self.seen.append(task)
        return TaskOutcome(success=True, output={"text": "ok"})


def test_dispatch_hands_the_recollection_to_the_agent_and_records_it() -> None:
    agent = Remembering()
    asked: list[tuple[str, str]] = []

    async def recall(task: AgentTask, agent_id: str) -> Recollection:
        asked.append((task.task_id, agent_id))
        return Recollection(similar=(mem("old-1", "a similar reminder", similarity=0.8),))

    req = request(task_id="task-memory")
    req = req.model_copy(update={"context_json": json.dumps({"step": "remind"})})
    done = asyncio.run(dispatch(req, AgentRegistry([agent]), PerformanceBook(), FAST,
                                no_sleep, recall=recall))
    assert asked == [("task-memory", "sms-memory")]
    [task] = agent.seen
    assert task.memory.similar[0].task_id == "old-1" and task.context == {"step": "remind"}
    assert done.recalled_task_ids == ["old-1"] and done.memory_error is None
    assert done.memory_text.startswith("draft_sms: ") and '"text": "ok"' in done.memory_text


def test_a_failing_memory_store_is_reported_and_the_task_still_runs() -> None:
    agent = Remembering()

    async def down(task: AgentTask, agent_id: str) -> Recollection:
        raise ConnectionError("Postgres is restarting")

    done = asyncio.run(dispatch(request(), AgentRegistry([agent]), PerformanceBook(), FAST,
                                no_sleep, recall=down))
    assert done.status == "completed" and len(agent.seen) == 1
    assert done.memory_error == "memory unavailable: ConnectionError: Postgres is restarting"
    assert done.recalled_task_ids == []


def test_a_context_that_is_no_object_is_rejected() -> None:
    req = request().model_copy(update={"context_json": "[1, 2]"})
    with pytest.raises(TaskRejected) as err:
        asyncio.run(dispatch(req, AgentRegistry([Remembering()]), PerformanceBook(), FAST,
                             no_sleep))
    assert err.value.kind == "bad_task_input" and "context_json is a list" in str(err.value)
    assert err.value.completed.memory_text == ""  # a rejection is no memory


def test_the_generate_prompt_carries_context_and_memory() -> None:
    task = AgentTask(task_id="t", tenant_id="d", task_type="llm_generate", input={},
                     context={"customer": "<PERSON_1>"},
                     memory=Recollection(similar=(mem("p", "wrote a brake reminder"),)))
    prompt = system_prompt(task, GenerateInput(prompt="write"))
    assert 'Context: {"customer": "<PERSON_1>"}' in prompt
    assert "Similar past tasks" in prompt and "wrote a brake reminder" in prompt
    bare = system_prompt(AgentTask(task_id="t", tenant_id="d", task_type="llm_generate",
                                   input={}), GenerateInput(prompt="write"))
    assert "Context" not in bare and "past tasks" not in bare
