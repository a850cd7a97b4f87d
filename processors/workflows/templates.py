"""Dealership workflow templates: load the library and instantiate a template into a workflow.

A template (processors/workflows/template_library.yaml) is a DSL workflow with `<<slot>>`
placeholders plus what the matcher needs (title, description, example requests). Invariants,
checked by `load_templates` and enforced by tests/unit/processors/workflows/test_templates.py:

- template ids are unique snake_case;
- every `<<name>>` placeholder in a workflow names one of the template's slots, and every slot
  is used by the workflow (so an override always changes something);
- the template's `channels` list exactly the message channels (sms/email) its steps send on,
  plus any it reaches by people (phone/chat);
- every template instantiates to a valid workflow (`validate_workflow`) with its default
  slots.

Instantiation deep-copies the workflow, substitutes slot values into every string (values
are inserted verbatim, never re-expanded) and fills `id`, `name`, `description` and `domain`.
"""

from __future__ import annotations

import copy
import functools
import re
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from processors.workflows.validator import parse_duration, validate_workflow
from schemas.errors import describe

LIBRARY_PATH = Path(__file__).resolve().parent / "template_library.yaml"
SLOT = re.compile(r"<<([a-z][a-z0-9_]*)>>")
Domain = Literal["sales", "service", "parts", "finance", "marketing"]
Channel = Literal["sms", "email", "phone", "chat"]
SlotKind = Literal["duration", "cron", "number", "text"]
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
# Workflow keys a template leaves to instantiation (domain may be repeated if it agrees).
_FILLED_KEYS = ("id", "name", "description")
_STEP_CHANNELS = {"send_sms": "sms", "send_email": "email"}


class TemplateLibraryError(ValueError):
    """The template library file is malformed; the message names the template and problem."""


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    description: str = Field(min_length=1)
    examples: list[str] = Field(min_length=3, max_length=5)
    domain: Domain
    channels: list[Channel] = Field(min_length=1)
    slots: dict[str, str] = Field(default_factory=dict)
    workflow: dict[str, Any]

    def __hash__(self) -> int:  # ids are unique within a library; lets matches go in sets
        return hash(self.id)

    def placeholders(self) -> set[str]:
        """Slot names the workflow refers to as `<<name>>`."""
        return set(_placeholders(self.workflow))

    def slot_kinds(self) -> dict[str, SlotKind]:
        """What each slot holds, judged from its default: an ISO 8601 duration/offset
        (`P3D`, `PT5M`, `-P3D`), a cron expression, a number, or free text. An override of a
        non-text slot must be of the same kind."""
        return {name: slot_kind(value) for name, value in self.slots.items()}

    def instantiate(self, slots: Mapping[str, str] | None = None,
                    workflow_id: str | None = None) -> dict[str, Any]:
        """A workflow dict with slot values substituted (defaults, then `slots`).

        Raises ValueError naming unknown slot names in `slots`, or a duration/cron slot given a
        value of another kind. The result is a fresh copy; the template is never modified.
        """
        overrides = dict(slots or {})
        unknown = sorted(set(overrides) - set(self.slots))
        if unknown:
            raise ValueError(f"template {self.id}: unknown slots {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(self.slots))})")
        kinds = self.slot_kinds()
        for name, value in overrides.items():
            if not isinstance(value, str):
                raise ValueError(f"template {self.id}: slot {name} must be a string, "
                                 f"got {type(value).__name__}")
            placeholder = SLOT.search(value)
            if placeholder:
                raise ValueError(f"template {self.id}: slot {name}: values are inserted "
                                 f"verbatim, so {placeholder[0]} would stay unexpanded")
            if kinds[name] != "text" and slot_kind(value) != kinds[name]:
                raise ValueError(f"template {self.id}: slot {name} needs a {kinds[name]} "
                                 f"(default {self.slots[name]!r}), got {value!r}")
        values = {**self.slots, **overrides}
        workflow = _substitute(copy.deepcopy(self.workflow), values)
        workflow["id"] = workflow_id or f"{self.id}-{uuid.uuid4().hex[:12]}"
        workflow["name"] = self.title
        workflow["description"] = self.description
        workflow["domain"] = self.domain
        return workflow


def slot_kind(value: str) -> SlotKind:
    """`duration` for an ISO 8601 duration or signed offset, `cron` for a cron expression,
    `number` for a decimal number, else `text`."""
    try:
        parse_duration(value)
        return "duration"
    except ValueError:
        pass
    if len(value.split()) in (5, 6) and croniter.is_valid(value):
        return "cron"
    if _NUMBER.match(value):
        return "number"
    return "text"


def _placeholders(value: Any) -> list[str]:
    if isinstance(value, str):
        return SLOT.findall(value)
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in (*_placeholders(k), *_placeholders(v))]
    if isinstance(value, list):
        return [p for v in value for p in _placeholders(v)]
    return []


def _substitute(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return SLOT.sub(lambda m: values[m[1]], value)
    if isinstance(value, dict):
        return {_substitute(k, values): _substitute(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, values) for v in value]
    return value


def _template_problems(template: Template) -> list[str]:
    problems = []
    used = template.placeholders()
    unknown = sorted(used - set(template.slots))
    if unknown:
        problems.append(f"workflow refers to unknown slots {', '.join(unknown)}")
    nested = sorted(n for n, v in template.slots.items() if SLOT.search(v))
    if nested:
        problems.append(f"slot defaults {', '.join(nested)} contain <<placeholders>>, which "
                        "are never expanded inside slot values")
    unused = sorted(set(template.slots) - used)
    if unused:
        problems.append(f"slots {', '.join(unused)} are not used by the workflow")
    filled = [k for k in _FILLED_KEYS if k in template.workflow]
    if filled:
        problems.append(f"workflow must not set {', '.join(filled)} (instantiation fills them)")
    if template.workflow.get("domain", template.domain) != template.domain:
        problems.append(f"workflow domain {template.workflow['domain']!r} differs from the "
                        f"template's {template.domain!r}")
    if problems:
        return problems
    sent = {_STEP_CHANNELS[str(s.get("type"))] for s in template.workflow.get("steps", [])
            if isinstance(s, dict) and s.get("type") in _STEP_CHANNELS}
    declared = set(template.channels) & set(_STEP_CHANNELS.values())
    if sent != declared:
        problems.append(f"channels {sorted(template.channels)} do not match the message steps, "
                        f"which send on {sorted(sent)}")
    report = validate_workflow(template.instantiate(workflow_id=f"{template.id}-check"))
    problems.extend(f"invalid workflow with default slots: {e}" for e in report.errors)
    return problems


def parse_library(data: Any, source: str = "<library>") -> list[Template]:
    """Templates from a parsed library document; raise TemplateLibraryError listing every
    problem, each prefixed with the source and template id."""
    if not isinstance(data, dict) or not isinstance(data.get("templates"), list):
        raise TemplateLibraryError(f"{source}: expected a mapping with a `templates` list")
    errors: list[str] = []
    templates: list[Template] = []
    seen: set[str] = set()
    for n, raw in enumerate(data["templates"]):
        tid = raw.get("id") if isinstance(raw, dict) else None
        label = f"template {tid!r}" if tid else f"template #{n + 1}"
        try:
            template = Template.model_validate(raw)
        except ValidationError as exc:
            errors.extend(f"{source}: {label}: {p}" for p in describe(exc))
            continue
        if template.id in seen:
            errors.append(f"{source}: {label}: duplicate template id")
            continue
        seen.add(template.id)
        problems = _template_problems(template)
        errors.extend(f"{source}: {label}: {p}" for p in problems)
        if not problems:
            templates.append(template)
    if errors:
        raise TemplateLibraryError("bad template library:\n  " + "\n  ".join(errors))
    return templates


@functools.lru_cache(maxsize=8)
def _load(path: Path) -> tuple[Template, ...]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TemplateLibraryError(f"{path}: cannot read template library: {exc}") from exc
    return tuple(parse_library(data, str(path)))


def load_templates(path: str | Path | None = None) -> list[Template]:
    """The templates in `path` (default: the bundled library), parsed and checked once per
    path per process. Raises TemplateLibraryError on a bad file."""
    return list(_load(Path(path or LIBRARY_PATH).resolve()))


def get_template(template_id: str, path: str | Path | None = None) -> Template:
    for template in load_templates(path):
        if template.id == template_id:
            return template
    raise KeyError(f"no template {template_id!r}")
