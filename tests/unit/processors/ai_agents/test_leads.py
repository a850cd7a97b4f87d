"""Lead assignment: a named salesperson is kept; otherwise the same lead always goes to the
same member of the team, and leads spread over it."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from processors.ai_agents.leads import AssignLeadAgent, parse_team
from processors.ai_agents.model import AgentTask

TEAM = parse_team("sp-1:Dana Ruiz, sp-2:Luis Ortega,sp-3:Mei Chen")


def _assign(agent: AssignLeadAgent, lead: str, **extra: str):
    task = AgentTask(task_id=f"t-{lead}", tenant_id="dealer-1", task_type="assign_lead",
                     input={"lead": lead, **extra})
    return asyncio.run(agent.run(task))


def test_a_lead_goes_to_the_same_salesperson_and_leads_spread() -> None:
    agent = AssignLeadAgent(TEAM)
    first = _assign(agent, "lead-42")
    assert first.success and first.output == _assign(agent, "lead-42").output
    counts = Counter(_assign(agent, f"lead-{i}").output["salesperson_id"] for i in range(300))
    assert set(counts) == {"sp-1", "sp-2", "sp-3"} and min(counts.values()) > 70
    kept = _assign(agent, "lead-7", salesperson_id="sp-9", salesperson_name="Ana Park")
    assert kept.output["salesperson_name"] == "Ana Park"


def test_without_a_team_the_task_says_what_to_set() -> None:
    out = _assign(AssignLeadAgent([]), "lead-1")
    assert not out.success and "AUTERITY_SALES_TEAM" in (out.error or "")
    with pytest.raises(ValueError, match="not id:Name"):
        parse_team("sp-1 Dana")
