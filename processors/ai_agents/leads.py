"""The lead assignment agent (`assign_lead`, the workflow step type): which salesperson a new
lead goes to.

A lead whose fact already names its salesperson keeps them. Otherwise it goes to one of the
dealership's sales team (`team`, given by the deployment: AUTERITY_SALES_TEAM, `id:Name`
pairs) by the lead id's hash: every worker, and every retry, picks the same person for a
lead, and leads spread evenly over the team (the stateless form of round robin; the output
says so in `assigned_by`).

Invariant: the same lead and team give the same salesperson (a redelivered or retried task
assigns nobody else); staff are named, customers never are.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from pydantic import BaseModel, Field

from processors.ai_agents.model import AgentTask, AiAgent, Capability, TaskOutcome
from schemas.ids import CUSTOMER_REF_PATTERN

STRATEGIES = ("round_robin", "balanced", "least_busy", "by_source")


class Salesperson(BaseModel):
    id: str = Field(min_length=1, max_length=64, pattern=CUSTOMER_REF_PATTERN)
    name: str = Field(min_length=1, max_length=100)


class AssignLeadInput(BaseModel):
    lead: str = Field(min_length=1, max_length=128)
    strategy: str = Field(default="round_robin", max_length=32)
    salesperson_id: str | None = Field(default=None, max_length=64)
    salesperson_name: str | None = Field(default=None, max_length=100)


class Assigned(BaseModel):
    salesperson_id: str
    salesperson_name: str
    assigned_by: str


def parse_team(text: str) -> list[Salesperson]:
    """`id:Name,id:Name` -> the team; ValueError naming a bad entry."""
    team = []
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue
        sid, sep, name = entry.partition(":")
        if not sep:
            raise ValueError(f"AUTERITY_SALES_TEAM entry {entry!r} is not id:Name")
        team.append(Salesperson(id=sid.strip(), name=name.strip()))
    return team


def pick(lead: str, team: Sequence[Salesperson]) -> Salesperson:
    h = int.from_bytes(hashlib.blake2b(lead.encode(), digest_size=8).digest(), "big")
    return team[h % len(team)]


class AssignLeadAgent(AiAgent):
    DESCRIPTION = "Assigns a new lead to a salesperson of the dealership's sales team"
    CAPABILITIES = (Capability(
        task_type="assign_lead", description="a lead's salesperson (kept if the lead names "
        "one, else spread evenly over the team by lead id)", input_model=AssignLeadInput,
        output_model=Assigned),)

    def __init__(self, team: Sequence[Salesperson], agent_id: str = "assign-lead-1") -> None:
        super().__init__(agent_id)
        self.team = list(team)

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        assert isinstance(payload, AssignLeadInput)
        if payload.salesperson_id:
            return TaskOutcome(success=True, confidence=1.0, output={
                "salesperson_id": payload.salesperson_id,
                "salesperson_name": payload.salesperson_name or payload.salesperson_id,
                "assigned_by": "named by the lead"})
        if not self.team:
            return TaskOutcome(success=False, error="no sales team to assign leads to (set "
                                                    "AUTERITY_SALES_TEAM=id:Name,...)")
        person = pick(payload.lead, self.team)
        return TaskOutcome(success=True, confidence=1.0, output={
            "salesperson_id": person.id, "salesperson_name": person.name,
            "assigned_by": f"{payload.strategy}: lead id hash over {len(self.team)} "
                           "salespeople"})
