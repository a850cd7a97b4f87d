"""The AI agent contract: capabilities, typed tasks and outcomes.

An agent declares what it can do (`Capability`: a task type with its input and output
models and a cost per operation) and implements `can_handle` and `execute`. It knows no
Kafka, store or settings: the stream step (issue 11, later slices) hands it an `AgentTask`
and publishes its `TaskOutcome`.

Invariant (`AgentTask.payload`): an agent only ever sees input that validated against the
input model of the capability it runs; invalid input is a `TaskInputError` naming the
fields, raised before `execute`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from processors.ai_agents.memory import Recollection
from schemas.ids import CUSTOMER_REF_PATTERN, VARIANT_PATTERN


class TaskInputError(ValueError):
    """A task's input does not match the capability's input model."""


class Capability(BaseModel):
    """One thing an agent can do: a task type, its typed input and output, its cost."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    task_type: str = Field(min_length=1, pattern=r"^[a-z][a-z0-9_.-]*$")
    description: str = Field(min_length=1)
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    cost_per_operation_usd: float = Field(default=0.0, ge=0.0)
    timeout_s: float | None = Field(
        default=None, gt=0, le=3600, description="how long one attempt may take (None: the "
        "dispatch policy's timeout); for tasks of many model calls")


class AgentTask(BaseModel):
    """A task as an agent receives it: ids, type, the raw input (a JSON object), the
    short-term context its request carried and what the agent remembers of similar tasks
    (processors/ai_agents/memory.py)."""

    model_config = ConfigDict(frozen=True)

    task_id: str = Field(min_length=1)
    tenant_id: str = Field(min_length=1)
    task_type: str = Field(min_length=1)
    input: dict[str, Any]
    context: dict[str, Any] = Field(default_factory=dict)
    memory: Recollection = Recollection()

    def payload(self, capability: Capability) -> BaseModel:
        """The input validated against `capability.input_model` (module invariant)."""
        try:
            return capability.input_model.model_validate(self.input)
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) or "(input)"
                               for e in exc.errors())
            raise TaskInputError(
                f"task {self.task_id} ({self.task_type}): input does not match "
                f"{capability.input_model.__name__}: {fields}") from exc


class Delivery(BaseModel):
    """A message an action agent decided to send: to a customer by reference, its text a
    template (processors/ai_agents/placeholders.py). The step puts it on the outbox topic;
    the delivery connector sends it once per `delivery_id`."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str = Field(min_length=1)
    channel: Literal["email", "sms"]
    customer_ref: str = Field(min_length=1, max_length=128, pattern=CUSTOMER_REF_PATTERN)
    subject: str = Field(default="", max_length=300)
    body: str = Field(min_length=1, max_length=20_000)
    variant: str | None = Field(default=None, max_length=64, pattern=VARIANT_PATTERN)
    campaign_id: str | None = Field(default=None, max_length=128)


class TaskOutcome(BaseModel):
    """What an agent returns: the output (of the capability's output model) or an error,
    and the messages it decided to send (`deliveries`, only with success)."""

    model_config = ConfigDict(frozen=True)

    success: bool
    output: dict[str, Any] = Field(default_factory=dict)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    cost_usd: float = Field(default=0.0, ge=0.0)
    error: str | None = None
    deliveries: tuple[Delivery, ...] = ()


class AiAgent(abc.ABC):
    """An AI agent: `agent_id`, its `CAPABILITIES`, `can_handle` and `execute`."""

    CAPABILITIES: ClassVar[Sequence[Capability]] = ()
    #: what the agent is for, in a sentence (shown by `auterity agents list`)
    DESCRIPTION: ClassVar[str] = ""

    @property
    def description(self) -> str:
        return self.DESCRIPTION or type(self).__name__

    def __init__(self, agent_id: str) -> None:
        if not agent_id:
            raise ValueError("an AI agent needs an id")
        self.agent_id = agent_id

    def capability(self, task_type: str) -> Capability | None:
        """The capability serving `task_type`, if any."""
        return next((c for c in self.CAPABILITIES if c.task_type == task_type), None)

    def can_handle(self, task: AgentTask) -> bool:
        """Whether this agent declares the task's type and its input validates; subclasses
        may refuse more (a region, a language) but never accept an undeclared type."""
        capability = self.capability(task.task_type)
        if capability is None:
            return False
        try:
            task.payload(capability)
        except TaskInputError:
            return False
        return True

    async def run(self, task: AgentTask) -> TaskOutcome:
        """Validate the input, `execute`, and return the output as the output model has it
        (validated and coerced; a mismatch is a failed outcome)."""
        capability = self.capability(task.task_type)
        if capability is None:
            raise TaskInputError(f"agent {self.agent_id} has no capability {task.task_type!r}")
        outcome = await self.execute(task, task.payload(capability))
        if outcome.success:
            try:
                output = capability.output_model.model_validate(outcome.output)
            except ValidationError as exc:
                return TaskOutcome(success=False, cost_usd=outcome.cost_usd,
                                   error=f"agent {self.agent_id} returned output that is no "
                                         f"{capability.output_model.__name__}: {exc.errors()}")
            # what is published is the validated output, in its model's JSON form
            return outcome.model_copy(update={"output": output.model_dump(mode="json")})
        return outcome

    @abc.abstractmethod
    async def execute(self, task: AgentTask, payload: BaseModel) -> TaskOutcome:
        """Do the work; `payload` is the validated input."""
