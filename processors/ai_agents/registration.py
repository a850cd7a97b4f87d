"""What an AI agent announces about itself: an `AgentRegistered` event.

The worker publishes one per agent it runs when it starts (streams/agent_steps.py); the
`ai_agents` table and its capability index are projections of them (projections/agent_sink.py).

Invariant: the event id is derived from the agent id and everything it declares, so a worker
restart that re-announces an unchanged agent publishes the same event (a no-op downstream),
and a changed declaration is a new event that wins (latest by time).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from processors.ai_agents.model import AiAgent
from schemas.events import SYSTEM_TENANT, AgentCapabilityRecord, AgentRegistered, utcnow
from schemas.ids import derived_id


def registration(agent: AiAgent, now: datetime | None = None) -> AgentRegistered:
    """The `AgentRegistered` event of `agent`."""
    capabilities = [AgentCapabilityRecord(
        task_type=c.task_type, description=c.description,
        input_schema_json=json.dumps(c.input_model.model_json_schema(), sort_keys=True),
        output_schema_json=json.dumps(c.output_model.model_json_schema(), sort_keys=True),
        cost_per_operation_usd=c.cost_per_operation_usd) for c in agent.CAPABILITIES]
    declared = json.dumps({"type": type(agent).__name__, "description": agent.description,
                           "capabilities": [c.model_dump() for c in capabilities]},
                          sort_keys=True)
    digest = hashlib.sha256(declared.encode()).hexdigest()[:16]
    return AgentRegistered(
        event_id=derived_id(f"{agent.agent_id}:{digest}", "agent-registered"),
        tenant_id=SYSTEM_TENANT, occurred_at=now or utcnow(), agent_id=agent.agent_id,
        agent_type=type(agent).__name__, description=agent.description,
        capabilities=capabilities)
