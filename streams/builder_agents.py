"""The workflow builder on the stream, as three Faust agents:

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
import os
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from processors.analysis.analyzer import Analysis, analyze
from processors.errors import StepInputError
from processors.pii.inputs import check_text
from schemas import serde
from schemas.events import (
    GeneratedInterface,
    GeneratedWorkflow,
    RequirementAnalysis,
    WorkflowRequest,
)
from streams import topics
from streams.dlq import dead_letter, derived_id
from streams.progress import StepProgress
from streams.settings import Settings

log = logging.getLogger("auterity.builder")
ANALYSIS_STEP = "requirement_analysis"
BUILD_STEP = "workflow_build"
INTERFACE_STEP = "interface_generation"

Send = tuple[Any, bytes, bytes]  # (faust topic, key, value)
Handler = Callable[[Any], Awaitable[list[Send]]]


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


def wire(app: faust.App, settings: Settings) -> None:
    """Register the three builder agents on `app`."""
    from processors.llm.gateway import LlmGateway
    from processors.llm.usage import KafkaUsageSink
    from processors.workflows.builder import NeedsWorkflow, build
    from processors.workflows.interfaces import component_metadata, generate_interface
    from projections.workflow_lookup import current_workflow

    def topic(spec: topics.TopicSpec) -> Any:
        return app.topic(spec.name(settings), key_type=bytes, value_type=bytes,
                         partitions=spec.partitions)

    requests, analyzed = topic(topics.WORKFLOW_REQUESTS), topic(topics.REQUIREMENTS_ANALYZED)
    workflows, interfaces = topic(topics.WORKFLOWS_GENERATED), topic(
        topics.INTERFACES_GENERATED)
    dlq = topic(topics.DEAD_LETTERS)
    usage = KafkaUsageSink(settings)
    gateway = LlmGateway(sink=usage)

    @app.task
    async def _warm_up() -> None:
        from processors.workflows.generator import default_matcher

        await asyncio.to_thread(default_matcher)
        log.info("builder ready: template matcher loaded")

    async def on_request(ev: Any) -> list[Send]:
        req = serde.decode(ev.message.value, WorkflowRequest)
        check_text(req.redacted_text, settings.max_text_chars)
        a = await asyncio.to_thread(analyze, req.redacted_text, gateway,
                                    tenant_id=req.tenant_id, user_id=req.user_id)
        out = _analysis_event(req, a)
        return [(analyzed, req.conversation_id.encode(), serde.encode(out))]

    async def on_analysis(ev: Any) -> list[Send]:
        an = serde.decode(ev.message.value, RequirementAnalysis)
        if an.intent == "none":
            return []  # nothing to build; the analysis itself is the answer (projected)
        existing = None
        if an.workflow_id and an.intent != "create_workflow":
            existing = await asyncio.to_thread(current_workflow, settings, an.tenant_id,
                                               an.workflow_id)
        workflow_id = an.workflow_id if existing else derived_id(an.event_id, "workflow")
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
        return [(workflows, out.workflow_id.encode(), serde.encode(out))]

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

    def step_agent(source: Any, spec: topics.TopicSpec, step: str, handler: Handler,
                   batch: int) -> None:
        progress = StepProgress(app, settings, spec.name(settings))

        async def dead(ev: Any, exc: Exception, kind: str) -> Any:
            m = ev.message
            dl = dead_letter(error_kind=kind, error=str(exc), step=step, topic=m.topic,
                             partition=m.partition, offset=m.offset, key=m.key,
                             payload=m.value, max_payload=settings.max_message_bytes,
                             tenant_id=_tenant(m.value))
            log.warning("dead letter: %s at %s[%d]@%d: %s", kind, m.topic, m.partition,
                        m.offset, str(exc)[:200])
            return await dlq.send(key=m.topic.encode(), value=serde.encode(dl))

        async def agent(stream: faust.StreamT) -> None:
            # Like the redaction agent: the body never raises (Faust would ack the batch);
            # a record that fails goes to the DLQ, and if even that fails the process exits
            # before its position is stored, so the batch is redelivered.
            async for taken in stream.take_events(batch, 0.05):
                events = await progress.admitted(taken)
                if not events:
                    continue
                try:
                    futures = []
                    for ev in events:
                        try:
                            sends = await handler(ev)
                        except serde.DecodeError as exc:
                            futures.append(await dead(ev, exc, exc.kind))
                            continue
                        except (StepInputError, BuildRejected) as exc:
                            futures.append(await dead(ev, exc, exc.kind))
                            continue
                        except Exception as exc:  # noqa: BLE001 - to the DLQ, stream goes on
                            log.exception("%s failed on %s", step, ev.message.offset)
                            futures.append(await dead(ev, exc, "step_failed"))
                            continue
                        for out_topic, key, value in sends:
                            futures.append(await out_topic.send(key=key, value=value))
                    await asyncio.gather(*futures)
                    left = await asyncio.to_thread(usage.flush, 30.0)
                    if left:
                        raise RuntimeError(f"{left} model-usage events not acknowledged")
                    await progress.store(events)
                except Exception:  # noqa: BLE001
                    log.critical("%s cannot publish a batch; exiting uncommitted", step)
                    os._exit(70)

        app.agent(source, name=step.replace("_", "-"))(agent)

    step_agent(requests, topics.WORKFLOW_REQUESTS, ANALYSIS_STEP, on_request, 4)
    step_agent(analyzed, topics.REQUIREMENTS_ANALYZED, BUILD_STEP, on_analysis, 2)
    step_agent(workflows, topics.WORKFLOWS_GENERATED, INTERFACE_STEP, on_workflow, 16)


def _tenant(payload: bytes | None) -> str | None:
    try:
        return serde.decode_any(payload or b"").tenant_id
    except serde.DecodeError:
        return None
