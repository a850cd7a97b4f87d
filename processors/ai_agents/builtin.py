"""The AI agents the worker runs: the action agents `send_email` and `send_sms`
(processors/ai_agents/actions.py), `create_task` and `update_crm` (processors/ai_agents/
crm.py), the email campaign agent (processors/ai_agents/campaign.py), lead assignment
(processors/ai_agents/leads.py), the customer
intelligence agent (processors/ai_agents/intelligence.py) and

- `LlmGenerateAgent` (`llm_generate`, the workflow step type): a prompt in, generated text out,
  through the worker's one LLM gateway (router, budgets, usage events), operation
  `llm_generate`. The prompt carries what it remembers (similar past tasks and their
  outcomes, its latest tasks for the dealership) and the task's short-term context. Its
  output passes the output firewall before it is published (streams/agent_steps.py), like
  every model output.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, Field

from processors.ai_agents.actions import SendEmailAgent, SendSmsAgent
from processors.ai_agents.campaign import EmailCampaignAgent, VariantStats
from processors.ai_agents.crm import CreateTaskAgent, UpdateCrmAgent
from processors.ai_agents.dispatch import AgentRegistry
from processors.ai_agents.intelligence import CustomerIntelligenceAgent, Enricher, FactStore
from processors.ai_agents.leads import AssignLeadAgent, Salesperson
from processors.ai_agents.memory import as_prompt
from processors.ai_agents.model import AgentTask, AiAgent, Capability, TaskOutcome
from processors.llm.gateway import LlmGateway

OPERATION = "llm_generate"
_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"text": {"type": "string"}},
                           "required": ["text"], "additionalProperties": False}


class GenerateInput(BaseModel):
    prompt: str = Field(min_length=1, max_length=4000)
    instructions: str = Field(default="Answer briefly, for a car dealership's staff.",
                              max_length=1000)


class GenerateOutput(BaseModel):
    text: str


class LlmGenerateAgent(AiAgent):
    DESCRIPTION = "Generates text from a prompt through the LLM router (the llm_generate step)"
    CAPABILITIES = (Capability(
        task_type="llm_generate", description="generate text from a prompt (LLM router)",
        input_model=GenerateInput, output_model=GenerateOutput),)

    def __init__(self, gateway: LlmGateway, agent_id: str = "llm-generate-1") -> None:
        super().__init__(agent_id)
        self.gateway = gateway

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        assert isinstance(payload, GenerateInput)
        messages = [{"role": "system", "content": system_prompt(task, payload)},
                    {"role": "user", "content": payload.prompt}]
        answer = await asyncio.to_thread(
            self.gateway.complete_json, operation=OPERATION, tenant_id=task.tenant_id,
            messages=messages, schema=_SCHEMA)
        cost = sum(u.cost_usd for u in answer.usage)
        return TaskOutcome(success=True, output={"text": str(answer.data.get("text", ""))},
                           cost_usd=cost)


def system_prompt(task: AgentTask, payload: GenerateInput) -> str:
    """The instructions, then the task's context and what the agent remembers."""
    parts = [payload.instructions + ' Reply as JSON {"text": "..."}.']
    if task.context:
        parts.append("Context: " + json.dumps(task.context, sort_keys=True,
                                              ensure_ascii=False)[:2000])
    if remembered := as_prompt(task.memory):
        parts.append(remembered)
    return "\n\n".join(parts)


def worker_agents(gateway: LlmGateway, stats: VariantStats | None = None,
                  extra: Iterable[AiAgent] = (), facts: FactStore | None = None,
                  enricher: Enricher | None = None,
                  sales_team: Sequence[Salesperson] = ()) -> AgentRegistry:
    """The registry of the agents the worker runs (`stats`: the learned patterns the
    campaign agent splits its audience by; `extra`: configured plugins' agents; `facts` and
    `enricher`: what the customer intelligence agent reads, without `facts` it is not run)."""
    agents: list[AiAgent] = [LlmGenerateAgent(gateway), SendEmailAgent(), SendSmsAgent(),
                             CreateTaskAgent(), UpdateCrmAgent(),
                             EmailCampaignAgent(gateway, stats), AssignLeadAgent(sales_team)]
    if facts is not None:
        agents.append(CustomerIntelligenceAgent(facts, enricher))
    return AgentRegistry([*agents, *extra])
