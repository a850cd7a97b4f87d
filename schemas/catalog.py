"""The repo's own schema catalog: a stable Confluent schema id for each event schema.

Invariant: an id is never reused or renumbered. A schema change that is not backward
compatible gets a new record name (and so a new id); compatible changes keep the id.
A schema registry (Apicurio, Confluent-compatible) can take over the ids later.
"""

from __future__ import annotations

from schemas import events

SCHEMA_IDS: dict[str, int] = {
    "ConversationMessageRaw": 1,
    "ConversationMessageRedacted": 2,
    "WorkflowRequest": 3,
    "RequirementAnalysis": 4,
    "GeneratedWorkflow": 5,
    "GeneratedInterface": 6,
    "DocumentUploaded": 7,
    "DocumentExtracted": 8,
    "CallRecorded": 9,
    "CallAnalyzed": 10,
    "AgentTaskRequested": 11,
    "AgentTaskCompleted": 12,
    "ModelUsage": 13,
    "Alert": 14,
    "AuditRecord": 15,
    "DeadLetter": 16,
    "RestrictedFields": 17,
    "AgentRegistered": 18,
    "CustomerContact": 19,
    "DeliveryRequested": 20,
    "DeliveryCompleted": 21,
    "DeliveryOutcome": 22,
    "DealershipEvent": 23,
    "WorkflowRunEvent": 24,
    "WorkflowRunInput": 25,
}

MODELS_BY_NAME: dict[str, type[events.Event]] = {m.__name__: m for m in events.EVENT_MODELS}
MODELS_BY_ID: dict[int, type[events.Event]] = {
    SCHEMA_IDS[name]: model for name, model in MODELS_BY_NAME.items()
}


def schema_id(model: type[events.Event]) -> int:
    return SCHEMA_IDS[model.__name__]
