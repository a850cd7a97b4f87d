"""Call summary: the model through the gateway (operation `summarize_call`), else extractive.

The model sees only the redacted transcript (labels such as `<PERSON_1>` stay labels) and
answers `{"summary": "..."}` under a JSON schema. Without a gateway, or when the model fails,
the summary is built deterministically from the call itself: the caller's first substantive
sentence (why they called) and the action items (what happens next), so a summary always
exists and the report says which kind it is (`summary_source`: the model's name,
"extractive", or "extractive (model failed)").
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from processors.llm.errors import LlmError
from processors.voice.action_items import transcript_for_prompt
from processors.voice.models import ActionItemOut, Segment

OPERATION = "summarize_call"
MODEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"summary": {"type": "string", "minLength": 10, "maxLength": 600}},
    "required": ["summary"],
}
SYSTEM_PROMPT = (
    "Summarise a car dealership phone call in two or three sentences: why the customer "
    "called, what was agreed, and the next steps with who does them. Keep placeholders like "
    "<PERSON_1> exactly as written. Reply with JSON only.")
_GREETING = re.compile(r"^(hi|hello|hey|good (morning|afternoon|evening)|thanks?|thank you|"
                       r"yes|yeah|okay|ok|sure)\b[\s,.!]*", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def reason_for_call(segments: Sequence[Segment]) -> str | None:
    """The caller's first sentence with at least four words after a greeting."""
    for seg in segments:
        if seg.speaker not in ("customer", "speaker_1"):
            continue
        for sentence in _SENTENCE.split(seg.text):
            body = _GREETING.sub("", sentence.strip())
            if len(body.split()) >= 4:
                return body[0].upper() + body[1:]
    return None


def extractive_summary(segments: Sequence[Segment], items: Sequence[ActionItemOut]) -> str:
    """'Customer called: <reason>. Next steps: agent to ... by <date>; ...'"""
    parts = []
    reason = reason_for_call(segments)
    if reason:
        parts.append(f"Customer called: {reason.rstrip('.!?')}.")
    steps = []
    for item in items[:5]:
        who = item.assignee or "someone"
        when = f" by {item.deadline}" if item.deadline else ""
        steps.append(f"{who} to {item.task}{when}")
    if steps:
        parts.append("Next steps: " + "; ".join(steps) + ".")
    if not parts:
        text = " ".join(s.text for s in segments).strip()
        parts.append(text[:300] if text else "Empty call.")
    return " ".join(parts)


def summarize(segments: Sequence[Segment], items: Sequence[ActionItemOut], *,
              gateway: Any | None, tenant_id: str, user_id: str | None
              ) -> tuple[str, str, str | None]:
    """(summary, source, note). Never raises for a model failure: falls back to extractive."""
    if gateway is None:
        return extractive_summary(segments, items), "extractive", None
    try:
        answer = gateway.complete_json(
            operation=OPERATION, tenant_id=tenant_id, user_id=user_id, schema=MODEL_SCHEMA,
            messages=[{"role": "system", "content": SYSTEM_PROMPT},
                      {"role": "user", "content": transcript_for_prompt(segments)}])
    except LlmError as exc:
        note = f"summary: model failed, extractive instead: {exc}"[:300]
        return extractive_summary(segments, items), "extractive (model failed)", note
    return str(answer.data["summary"]).strip(), answer.model, None
