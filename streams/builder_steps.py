"""The workflow builder on the stream, as three steps:

    workflow.requests --analysis--> requirements.analyzed --build--> workflows.generated
                                                     workflows.generated --> interfaces.generated

Wiring only: each step runs its pure entry (processors/workflows/steps.py) on a worker
thread (the event loop never waits on a model) inside the one step loop, which sends the
outputs, waits for the broker's acks (and the model-usage events' acks) and only then
records the position. A record that cannot be processed becomes a dead letter with the
reason and the stream goes on. The build step keeps its own version table
(processors/workflows/versions.py) so edits stack and a redelivery repeats its first answer.

Invariant: only valid workflows reach workflows.generated; a request the builder rejects
(invalid after repair, unknown workflow) is dead-lettered with the validator's reasons.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

import faust

from processors.llm.gateway import LlmGateway
from processors.pii.output_firewall import scan_job
from processors.workflows.generator import default_matcher
from processors.workflows.steps import (
    ANALYSIS_STEP,
    BUILD_STEP,
    INTERFACE_STEP,
    analysis_to_workflow,
    is_revision,
    request_to_analysis,
    workflow_to_interface,
)
from processors.workflows.versions import VersionRecords
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import GeneratedWorkflow, RequirementAnalysis, WorkflowRequest
from streams.process_pool import StepPool
from streams.step_loop import Send, step_agent
from streams.usage_sink import KafkaUsageSink

log = logging.getLogger("auterity.builder")
#: (tenant_id, workflow_id) -> the current workflow definition, or None
WorkflowLookup = Callable[[str, str], dict[str, Any] | None]


def wire(app: faust.App, settings: Settings, workflow_lookup: WorkflowLookup,
         gateway: LlmGateway, usage: KafkaUsageSink, firewall: StepPool) -> None:
    """Register the three builder steps on `app`; their model calls go through the worker's
    one `gateway`, reporting to `usage`; every result passes the output firewall
    (processors/pii/output_firewall.py) in `firewall`, the PII step's pool, before it is sent.

    `workflow_lookup(tenant_id, workflow_id)` returns the current definition of a workflow
    (or None); the worker hands it in (it reads the Postgres projection), so this module
    imports no projection.
    """
    def topic(spec: topics.TopicSpec) -> Any:
        return app.topic(spec.name(settings.topic_prefix), key_type=bytes, value_type=bytes,
                         partitions=spec.partitions)

    analyzed, workflows = topic(topics.REQUIREMENTS_ANALYZED), topic(topics.WORKFLOWS_GENERATED)
    interfaces = topic(topics.INTERFACES_GENERATED)
    # The build step's own version record per workflow (processors/workflows/versions.py),
    # keyed and partitioned like requirements.analyzed (keyed by target workflow id).
    versions = app.Table("workflow-versions", default=bytes, key_type=bytes, value_type=bytes,
                         partitions=topics.REQUIREMENTS_ANALYZED.partitions,
                         use_partitioner=True)

    @app.task
    async def _warm_up() -> None:
        await asyncio.to_thread(default_matcher)
        log.info("builder ready: template matcher loaded")

    async def on_request(ev: Any) -> list[Send]:
        req = serde.decode(ev.message.value, WorkflowRequest)
        out = await asyncio.to_thread(request_to_analysis, req, gateway, settings.max_text_chars)
        out = await firewall.run(scan_job, out)
        return [(analyzed, out.target_workflow_id.encode(), serde.encode(out))]

    async def on_analysis(ev: Any) -> list[Send]:
        an = serde.decode(ev.message.value, RequirementAnalysis)
        if an.intent == "none":
            return []  # nothing to build; the analysis itself is the answer (projected)
        key = an.target_workflow_id.encode()
        records = VersionRecords.load(versions[key])
        mine = records.of(an.tenant_id)
        first_answer = mine.replayed(an.event_id)
        if first_answer is not None:  # a redelivery: the same event again, not a new edit
            return [(workflows, key, first_answer)]
        existing, replayed = mine.base_for(an.event_id)
        if existing is None and replayed is None and is_revision(an) and an.workflow_id:
            # a workflow this step never built (made before the table, or elsewhere)
            existing = await asyncio.to_thread(workflow_lookup, an.tenant_id, an.workflow_id)
            if existing is not None:
                mine.remember(existing)
        out = await asyncio.to_thread(analysis_to_workflow, an, existing, gateway)
        out = await firewall.run(scan_job, out)
        encoded = serde.encode(out)
        mine.record(an.event_id, json.loads(out.definition_json), encoded)
        versions[key] = records.dump()
        return [(workflows, out.workflow_id.encode(), encoded)]

    async def on_workflow(ev: Any) -> list[Send]:
        gw = serde.decode(ev.message.value, GeneratedWorkflow)
        out = await asyncio.to_thread(workflow_to_interface, gw)
        out = await firewall.run(scan_job, out)
        return [(interfaces, gw.workflow_id.encode(), serde.encode(out))]

    step_agent(app, settings, topics.WORKFLOW_REQUESTS, ANALYSIS_STEP, on_request, batch=4,
               after_batch=usage.flush_or_raise)
    step_agent(app, settings, topics.REQUIREMENTS_ANALYZED, BUILD_STEP, on_analysis, batch=2,
               after_batch=usage.flush_or_raise)
    step_agent(app, settings, topics.WORKFLOWS_GENERATED, INTERFACE_STEP, on_workflow,
               batch=16, after_batch=usage.flush_or_raise)
