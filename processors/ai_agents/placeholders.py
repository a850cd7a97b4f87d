"""Message templates with placeholders filled only at delivery.

A template names what it needs (`{{customer.first_name}}`); the delivery connector fills it
from the restricted layer at the moment of sending, so no prompt, task, memory or outbox
record holds the value.

Invariants: only `FIELDS` may be named (an unknown placeholder is an error when the task is
taken, not a blank at sending); `fill` never leaves a placeholder in the text: a value that
is missing is a `MissingValue` naming the placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: placeholder -> the contact field (restricted_pii_fields.fields) it is filled from
FIELDS: dict[str, str] = {
    "customer.first_name": "first_name",
    "customer.last_name": "last_name",
}
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][\w.]*)\s*\}\}")


class UnknownPlaceholder(ValueError):
    """A template names a placeholder that is not in FIELDS."""


class MissingValue(LookupError):
    """The contact record has no value for a placeholder the template uses."""


def placeholders(template: str) -> list[str]:
    """The placeholders `template` names, in order, each once."""
    return list(dict.fromkeys(m.group(1) for m in PLACEHOLDER.finditer(template)))


def check(template: str) -> None:
    """Raise `UnknownPlaceholder` if `template` names one outside FIELDS."""
    unknown = [p for p in placeholders(template) if p not in FIELDS]
    if unknown:
        raise UnknownPlaceholder(
            f"unknown placeholder(s) {', '.join('{{' + p + '}}' for p in unknown)}; "
            f"known: {', '.join('{{' + p + '}}' for p in FIELDS)}")


def fill(template: str, contact: Mapping[str, str | None]) -> str:
    """`template` with every placeholder replaced from `contact` (module invariants)."""
    check(template)

    def value(m: re.Match[str]) -> str:
        got = contact.get(FIELDS[m.group(1)])
        if not got:
            raise MissingValue(f"the contact has no {FIELDS[m.group(1)]} for "
                               f"{{{{{m.group(1)}}}}}")
        return got

    return PLACEHOLDER.sub(value, template)
