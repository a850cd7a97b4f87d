"""The output firewall: model-written text passes the PII analyzer before it is published.

A model can echo PII it was given by mistake or invent some ("call John at 555-0100"), and a
request produced to workflow.requests unredacted would be copied into the analysis. So every
free-text string of a result event — requirements, workflow names, descriptions and message
templates (inside `definition_json`), interface texts, call summaries and action items,
extracted document fields — goes through the same `PiiAnalyzer` as the input; a finding is
replaced by `<TYPE>` (no number: it must not alias a conversation's pseudonym such as
`<PERSON_1>`), and the counts per type are put on the event's `output_redactions` (the
metrics projection counts them in ClickHouse `output_scans`).

Invariants:
- a plain string field is scanned unless its key names an identifier or a code (`SKIP_KEYS`,
  `*_id`), it is an identifier on its event only (`IDENTIFIER_FIELDS`) or it is the input
  firewall's own output (`ALREADY_REDACTED`); in agent output a customer reference or a
  variant of the identifier's shape is left as it is (`IDENTIFIER_JSON_KEYS`); inside JSON text
  definitions (`DEFINITIONS`: workflow and interface definitions) only the free-text keys
  (`JSON_TEXT_KEYS`: names, descriptions, messages, subjects, bodies, labels, ...) are
  scanned, so step ids, connections, conditions and parameters stay exactly as they were;
  other `*_json` fields (a revision's diff, a diagnosis) are scanned whole;
- organisations are not masked in model output (`NOT_MASKED_TYPES`): a workflow names the
  systems it drives ("Salesforce", "Twilio"), and a model naming a company leaks nobody;
- pseudonym labels (`<PERSON_1>`, `<PHONE_NUMBER>`) and template variables
  (`{{customer.first_name}}`) are never masked: a finding touching one is dropped;
- a field without findings is returned byte for byte as it was (a JSON field is re-encoded
  only if something in it was redacted), so an event without PII is unchanged but for
  `output_redactions` = {}.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from presidio_anonymizer.entities import OperatorConfig, RecognizerResult
from pydantic import BaseModel

from processors.pii.engine import Finding, PiiAnalyzer
from processors.pii.redact import anonymizer
from processors.pii.redaction import process_analyzer
from schemas.ids import CUSTOMER_REF_PATTERN, VARIANT_PATTERN

E = TypeVar("E", bound=BaseModel)

#: keys whose strings are identifiers, codes or enumerations, never free text
SKIP_KEYS = frozenset({
    "id", "event_id", "tenant_id", "occurred_at", "schema_version", "intent", "domain",
    "channels", "channel", "status", "operation", "language", "content_type", "sha256",
    "blob_ref", "type", "kind", "priority", "source", "summary_source", "sentiment_label",
    "timing_offset", "document_kind", "version", "model", "trigger", "event", "next",
    "depends_on", "on_success", "on_failure", "output_redactions", "pii_fields", "speakers",
    "speaker", "role", "sender_role", "component", "icon", "format", "unit", "operator",
    "task_type", "agent_type", "selection_reason",
})  # fmt: skip
#: keys inside a JSON definition whose strings are free text (everything else is structure)
JSON_TEXT_KEYS = frozenset({
    "name", "description", "message", "subject", "body", "script", "text", "title",
    "summary", "content", "label", "note", "notes", "greeting", "prompt", "placeholder",
    "help", "caption", "heading", "subtitle", "tooltip", "empty_text",
})  # fmt: skip
#: finding types left in model output (module doc)
NOT_MASKED_TYPES = frozenset({"ORGANIZATION"})
#: spans that are never PII: our pseudonym labels and template variables
PROTECTED = re.compile(r"<[A-Z][A-Z0-9_]*>|\{\{\s*[A-Za-z_][\w.]*\s*\}\}")
#: JSON fields that are definitions (structure with some text): only JSON_TEXT_KEYS scanned;
#: every other `*_json` field (diffs, diagnoses, metadata) is scanned like plain fields
DEFINITIONS = frozenset({"definition_json", "component_metadata_json"})
#: (event type, field): text the input firewall already redacted
ALREADY_REDACTED = frozenset({("DocumentExtracted", "redacted_text"),
                              ("DocumentExtracted", "blocks_json"),
                              ("CallAnalyzed", "redacted_transcript"),
                              ("CallAnalyzed", "segments")})
#: (event type, field): an identifier only on that event (a CRM customer id names the
#: customer the outbox addresses; under that key elsewhere it is text like any other)
IDENTIFIER_FIELDS = frozenset({("DeliveryRequested", "customer_ref"),
                               ("DeliveryRequested", "variant")})
#: keys inside agent output (`AgentTaskCompleted.output_json`) whose values are identifiers
#: when they have the identifier's shape (a CRM customer id such as `CRM-004417`, a variant
#: slug): copied from the task's input, which is pseudonymised, and used as keys downstream
#: (crm_tasks, crm_customer_updates), so masking them would file a change under the wrong
#: customer. Any other value under these keys (a space, an `@`) is scanned as text.
IDENTIFIER_JSON_KEYS = {"customer_ref": re.compile(CUSTOMER_REF_PATTERN),
                        "variant": re.compile(VARIANT_PATTERN)}

def mask(text: str, findings: list[Finding]) -> tuple[str, Counter[str]]:
    """`text` with each finding (presidio's conflict resolution applied) replaced by
    `<TYPE>`, and the count of replacements per type."""
    results = [RecognizerResult(f.entity_type, f.start, f.end, f.score) for f in findings]
    ops = {f.entity_type: OperatorConfig("replace", {"new_value": f"<{f.entity_type}>"})
           for f in findings}
    out = anonymizer().anonymize(text, results, ops)
    return out.text, Counter(item.entity_type for item in out.items)


def _skipped(key: str) -> bool:
    return key in SKIP_KEYS or key.endswith("_id") or key.endswith("_ids")


Setter = Callable[[str], None]


def _unprotected(text: str, findings: list[Finding]) -> list[Finding]:
    """`findings` without NOT_MASKED_TYPES and those touching a pseudonym label or a
    template variable."""
    spans = [(m.start(), m.end()) for m in PROTECTED.finditer(text)]
    return [f for f in findings if f.entity_type not in NOT_MASKED_TYPES
            and not any(s < f.end and f.start < e for s, e in spans)]


def _identifier(key: Any, value: Any) -> bool:
    shape = IDENTIFIER_JSON_KEYS.get(key) if isinstance(key, str) else None
    return shape is not None and isinstance(value, str) and shape.fullmatch(value) is not None


def _collect(node: Any, out: list[tuple[str, Setter]], *, in_json: bool,
             identifiers: bool = False) -> None:
    """Append (text, setter) for every scannable string leaf below `node` (dict or list):
    in a JSON definition only the values of JSON_TEXT_KEYS (and lists of them), elsewhere
    every key but the skipped ones (and, with `identifiers`, IDENTIFIER_JSON_KEYS values of
    their shape)."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in list(items):
        if identifiers and _identifier(key, value):
            continue
        if isinstance(key, str) and (_skipped(key) or in_json and key not in JSON_TEXT_KEYS):
            if isinstance(value, dict | list):
                _collect(value, out, in_json=in_json, identifiers=identifiers)
            continue
        if isinstance(value, str):
            if any(c.isalnum() for c in value):  # digits alone may be a phone or an SSN
                out.append((value, _setter(node, key)))
        elif isinstance(value, dict | list):
            _collect(value, out, in_json=in_json, identifiers=identifiers)


def _setter(node: Any, key: Any) -> Setter:
    def put(text: str) -> None:
        node[key] = text

    return put


def scan_event(event: E, analyzer: PiiAnalyzer) -> E:
    """`event` with PII in its free text replaced and `output_redactions` set (module doc)."""
    kind = type(event).__name__
    data = event.model_dump(mode="json")
    texts: list[tuple[str, Setter]] = []
    owner: list[str | None] = []  # the JSON field each text lies in (None: a plain field)
    parsed: dict[str, Any] = {}
    for key, value in data.items():
        if _skipped(key) or (kind, key) in ALREADY_REDACTED | IDENTIFIER_FIELDS:
            continue
        before = len(texts)
        if key.endswith("_json") and isinstance(value, str):
            try:
                parsed[key] = json.loads(value)
            except json.JSONDecodeError:
                texts.append((value, _setter(data, key)))
            else:
                if isinstance(parsed[key], dict | list):
                    _collect(parsed[key], texts, in_json=key in DEFINITIONS,
                             identifiers=(kind, key) == ("AgentTaskCompleted", "output_json"))
        elif isinstance(value, str):
            if any(c.isalnum() for c in value):
                texts.append((value, _setter(data, key)))
        elif isinstance(value, dict | list):
            _collect(value, texts, in_json=False)
        owner += [key if key in parsed else None] * (len(texts) - before)
    counts: Counter[str] = Counter()
    changed_json: set[str] = set()
    found = analyzer.analyze([t for t, _ in texts]) if texts else []
    for (text, put), json_key, findings in zip(texts, owner, found, strict=True):
        findings = _unprotected(text, findings)
        if findings:
            masked, n = mask(text, findings)
            put(masked)
            counts.update(n)
            if json_key is not None:
                changed_json.add(json_key)
    for key in changed_json:
        data[key] = json.dumps(parsed[key], ensure_ascii=False, separators=(",", ":"))
    data["output_redactions"] = dict(sorted(counts.items()))
    return type(event).model_validate(data)


# --- process-pool entry (spawn-safe) -------------------------------------------------------

def scan_job(event: E) -> E:
    """`scan_event` with this process's analyzer (a redaction or media pool worker)."""
    return scan_event(event, process_analyzer())
