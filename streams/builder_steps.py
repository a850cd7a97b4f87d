"""The workflow builder on the stream, as three steps:

    workflow.requests --analysis--> requirements.analyzed --build--> workflows.generated
                                                     workflows.generated --> interfaces.generated

Each agent takes small batches, admits them gap-free (`StepProgress`), runs the CPU/model
work on a worker thread (the event loop never waits on a model), sends its outputs, waits
for the broker's acks (and for the model-usage events' acks), and only then records its
position. A record that cannot be processed becomes a dead letter with the reason and the
stream goes on. Output ids derive from input ids, so a redelivery repeats the same events.

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

from processors.analysis.analyzer import Analysis, analyze
from processors.llm.gateway import LlmGateway
from processors.pii.inputs import check_text
from processors.workflows.builder import NeedsWorkflow, build
from processors.workflows.generator import default_matcher
from processors.workflows.interfaces import component_metadata, generate_interface
from processors.workflows.versions import VersionRecords
from runtime.settings import Settings
from schemas import serde, topics
from schemas.events import (
    GeneratedInterface,
    GeneratedWorkflow,
    RequirementAnalysis,
    WorkflowRequest,
)
from schemas.ids import NEW_WORKFLOW, derived_id
from streams.step_loop import Send, step_agent
from streams.usage_sink import KafkaUsageSink

log = logging.getLogger("auterity.builder")
#: (tenant_id, workflow_id) -> the current workflow definition, or None
WorkflowLookup = Callable[[str, str], dict[str, Any] | None]
ANALYSIS_STEP = "requirement_analysis"
BUILD_STEP = "workflow_build"
INTERFACE_STEP = "interface_generation"



class BuildRejected(Exception):
    """The builder refused a request; the message says why (goes to the DLQ)."""

    kind = "build_rejected"


def _analysis_event(req: WorkflowRequest, a: Analysis) -> RequirementAnalysis:
    return RequirementAnalysis(
        event_id=derived_id(req.event_id, ANALYSIS_STEP), tenant_id=req.tenant_id,
        occurred_at=req.occurred_at, request_event_id=req.event_id,
        conversation_id=req.conversation_id, intent=a.intent, domain=a.domain,
        channels=a.channels, timing=a.timing, entities=a.entities,
        requirements=a.requirements, constraints=a.constraints,
        success_criteria=a.success_criteria, confidence=a.confidence, user_id=req.user_id,
        redacted_text=req.redacted_text, timing_offset=a.timing_offset,
        workflow_id=req.workflow_id, error_context=req.error_context)


def analysis_from_event(ev: RequirementAnalysis) -> Analysis:
    return Analysis(
        intent=ev.intent, domain=ev.domain, channels=ev.channels, timing=ev.timing,
        timing_offset=ev.timing_offset,
        timings=[{"phrase": ev.timing, "iso_offset": ev.timing_offset}] if ev.timing else [],
        entities=ev.entities, requirements=ev.requirements, constraints=ev.constraints,
        success_criteria=ev.success_criteria, confidence=ev.confidence)


def wire(app: faust.App, settings: Settings, workflow_lookup: WorkflowLookup,
         gateway: LlmGateway, usage: KafkaUsageSink) -> None:
    """Register the three builder steps on `app`; their model calls go through the worker's
    one `gateway`, reporting to `usage`.

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
        check_text(req.redacted_text, settings.max_text_chars)
        a = await asyncio.to_thread(analyze, req.redacted_text, gateway,
                                    tenant_id=req.tenant_id, user_id=req.user_id)
        out = _analysis_event(req, a)
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
        revision = bool(an.workflow_id and an.intent != "create_workflow")
        if existing is None and replayed is None and revision and an.workflow_id:
            # a workflow this step never built (made before the table, or elsewhere)
            existing = await asyncio.to_thread(workflow_lookup, an.tenant_id, an.workflow_id)
            if existing is not None:
                mine.remember(existing)
        workflow_id = an.workflow_id if existing else derived_id(an.event_id, NEW_WORKFLOW)
        try:
            outcome = await asyncio.to_thread(
                build, an.redacted_text, analysis_from_event(an), gateway=gateway,
                existing=existing, error_context=an.error_context, tenant_id=an.tenant_id,
                user_id=an.user_id, workflow_id=workflow_id)
        except NeedsWorkflow as exc:
            raise BuildRejected(f"{exc}; workflow_id={an.workflow_id!r}") from exc
        if not outcome.valid or outcome.workflow is None:
            raise BuildRejected(f"{outcome.operation}: workflow rejected: "
                                + "; ".join(outcome.errors))
        wf = outcome.workflow
        version = int(wf.get("version", 1))
        if existing is not None and outcome.operation == "debug" and not outcome.diff:
            version = int(existing.get("version", 1)) + 1  # record the diagnosis
            wf = {**wf, "version": version}
        out = GeneratedWorkflow(
            event_id=derived_id(an.event_id, BUILD_STEP), tenant_id=an.tenant_id,
            occurred_at=an.occurred_at, workflow_id=wf["id"], analysis_event_id=an.event_id,
            user_id=an.user_id, name=wf["name"], description=wf.get("description", ""),
            requirements_json=json.dumps(analysis_from_event(an).model_dump()),
            definition_json=json.dumps(wf), valid=True,
            generation_metadata_json=json.dumps({**outcome.metadata,
                                                 "summary": outcome.summary}),
            conversation_id=an.conversation_id, version=version,
            operation=outcome.operation, diff_json=json.dumps(outcome.diff),
            diagnosis_json=json.dumps(outcome.diagnosis))
        encoded = serde.encode(out)
        mine.record(an.event_id, wf, encoded)
        versions[key] = records.dump()
        return [(workflows, out.workflow_id.encode(), encoded)]

    async def on_workflow(ev: Any) -> list[Send]:
        gw = serde.decode(ev.message.value, GeneratedWorkflow)
        if not gw.valid:
            raise BuildRejected("an invalid workflow reached workflows.generated")
        defn = await asyncio.to_thread(generate_interface, json.loads(gw.definition_json))
        out = GeneratedInterface(
            event_id=derived_id(gw.event_id, INTERFACE_STEP), tenant_id=gw.tenant_id,
            occurred_at=gw.occurred_at, interface_id=defn.id, workflow_id=gw.workflow_id,
            definition_json=defn.model_dump_json(),
            component_metadata_json=json.dumps(component_metadata(defn)),
            workflow_version=gw.version)
        return [(interfaces, gw.workflow_id.encode(), serde.encode(out))]

    step_agent(app, settings, topics.WORKFLOW_REQUESTS, ANALYSIS_STEP, on_request, batch=4,
               after_batch=usage.flush_or_raise)
    step_agent(app, settings, topics.REQUIREMENTS_ANALYZED, BUILD_STEP, on_analysis, batch=2,
               after_batch=usage.flush_or_raise)
    step_agent(app, settings, topics.WORKFLOWS_GENERATED, INTERFACE_STEP, on_workflow,
               batch=16, after_batch=usage.flush_or_raise)
