"""AI agents the integration suite's worker loads through AUTERITY_AGENT_PLUGINS (streams/
agent_plugins.py): two trade-in valuation agents for one task type, one of which always
fails (its valuation service is down), to show selection moving away from it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from processors.ai_agents.model import AgentTask, AiAgent, Capability, TaskOutcome
from processors.llm.gateway import LlmGateway

TASK_TYPE = "trade_in_quote"


class QuoteInput(BaseModel):
    vin: str = Field(min_length=17, max_length=17)


class QuoteOutput(BaseModel):
    trade_in_usd: int


class _QuoteAgent(AiAgent):
    CAPABILITIES = (Capability(task_type=TASK_TYPE, description="a trade-in value for a VIN",
                               input_model=QuoteInput, output_model=QuoteOutput),)


class BrokenQuoteAgent(_QuoteAgent):
    DESCRIPTION = "Trade-in values from a valuation service that is down"

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        raise ConnectionError("the valuation service refused the connection")


class SteadyQuoteAgent(_QuoteAgent):
    DESCRIPTION = "Trade-in values from the dealership's own price book"

    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        assert isinstance(payload, QuoteInput)
        return TaskOutcome(success=True, confidence=0.9,
                           output={"trade_in_usd": 9000 + sum(map(ord, payload.vin)) % 1000})


def agents(gateway: LlmGateway) -> list[AiAgent]:
    return [BrokenQuoteAgent("quote-broken-1"), SteadyQuoteAgent("quote-steady-1")]
