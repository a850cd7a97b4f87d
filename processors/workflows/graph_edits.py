"""DAG-preserving edits of a canonical workflow dict: the `Draft` every revision rule edits.

Invariant: graph edits keep the DAG wired: a removed step's parents are connected to its
children (the parent's `when` label is kept), an inserted step takes over the edges of the
step it is inserted before/after.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from processors.workflows.interfaces import stable_order
from schemas.workflow_dsl import Step


class Draft:
    """A mutable copy of a canonical workflow dict with DAG-preserving edit operations."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.wf = copy.deepcopy(data)

    @property
    def steps(self) -> list[dict[str, Any]]:
        return self.wf["steps"]

    @property
    def conns(self) -> list[dict[str, Any]]:
        return self.wf["connections"]

    def step(self, sid: str) -> dict[str, Any]:
        return next(s for s in self.steps if s["id"] == sid)

    def index(self, sid: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s["id"] == sid)

    def parents(self, sid: str) -> list[dict[str, Any]]:
        return [c for c in self.conns if c["target"] == sid]

    def children(self, sid: str) -> list[dict[str, Any]]:
        return [c for c in self.conns if c["source"] == sid]

    def order(self) -> list[dict[str, Any]]:
        ids = stable_order([s["id"] for s in self.steps],
                           ((c["source"], c["target"]) for c in self.conns))
        return [self.step(i) for i in ids]

    def ancestors(self, sid: str) -> list[str]:
        seen: list[str] = []
        todo = [c["source"] for c in self.parents(sid)]
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.append(node)
                todo.extend(c["source"] for c in self.parents(node))
        return seen

    def referenced(self, sid: str) -> bool:
        """Whether any other step's params reference `{{steps.<sid>.…}}`."""
        pattern = re.compile(r"\{\{\s*steps\." + re.escape(sid) + r"\b")
        return any(pattern.search(str(s["params"])) for s in self.steps if s["id"] != sid)

    def fresh_id(self, base: str) -> str:
        base = re.sub(r"[^a-z0-9_]+", "_", base.lower()).strip("_")[:40] or "step"
        base = base if base[0].isalpha() else f"s_{base}"
        taken = {s["id"] for s in self.steps}
        candidate, n = base, 2
        while candidate in taken:
            candidate, n = f"{base}_{n}", n + 1
        return candidate

    def insert_before(self, target: str, step: dict[str, Any], when: str | None) -> None:
        """`step` takes over the incoming edges of `target` (labels kept) and leads to it."""
        for c in self.parents(target):
            c["target"] = step["id"]
        self.steps.insert(self.index(target), step)
        self.conns.append({"source": step["id"], "target": target, "when": when})

    def insert_after(self, anchor: str, step: dict[str, Any]) -> None:
        """`step` takes over the outgoing edges of `anchor` (not a condition) and follows it."""
        for c in self.children(anchor):
            c["source"] = step["id"]
        self.steps.insert(self.index(anchor) + 1, step)
        self.conns.append({"source": anchor, "target": step["id"], "when": None})

    def add_child(self, parent: str, step: dict[str, Any], when: str | None) -> None:
        self.steps.insert(self.index(parent) + 1, step)
        self.conns.append({"source": parent, "target": step["id"], "when": when})

    def remove(self, sid: str) -> None:
        """Remove a step; each parent is connected to each child with the parent's label."""
        outs = [c["target"] for c in self.children(sid)]
        existing = {(c["source"], c["target"]) for c in self.conns}
        rewired: list[dict[str, Any]] = []
        for c in self.conns:
            if c["source"] == sid:
                continue
            if c["target"] != sid:
                rewired.append(c)
                continue
            for child in outs:
                if (c["source"], child) not in existing:
                    existing.add((c["source"], child))
                    rewired.append({"source": c["source"], "target": child, "when": c["when"]})
        self.wf["connections"] = rewired
        del self.steps[self.index(sid)]


def new_step(sid: str, step_type: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    return Step.model_validate({"id": sid, "type": step_type, "name": name,
                                "params": params}).model_dump(mode="json")


def named_steps(draft: Draft, text: str) -> list[str]:
    """Steps named in `text` by id (as a whole word) or by name (case-insensitive)."""
    low = text.lower()
    named = []
    for s in draft.order():
        by_id = re.search(rf"(?<![a-z0-9_]){re.escape(s['id'])}(?![a-z0-9_])", low)
        if by_id or (s["name"] and s["name"].lower() in low):
            named.append(s["id"])
    return named
