"""Condition expressions of workflow `condition` steps: parsed once, evaluated safely.

    appointment.confirmed == false
    {{steps.ask_rating.reply}} >= 4 and not customer.opted_out
    trigger.total_amount > 500 or (lead.contacted == false and trigger.lead_source == "web")

Grammar (no `eval`, no attribute access, no calls: a name is looked up, never executed):

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := operand (("==" | "!=" | "<" | "<=" | ">" | ">=") operand)?
    operand := NAME ("." NAME)* | "{{" NAME ("." NAME)* "}}" | NUMBER | STRING
               | "true" | "false" | "null" | "(" expr ")"

A name is a variable: `trigger.<field>`, `steps.<step id>.<output>` or a fact variable
(schemas/dealership_facts.py FACT_VARIABLES). Which names exist is checked when a workflow
is published (processors/workflows/validator.py), not here.

Invariants:
- `parse` either returns a tree or raises `ExpressionError` naming the position; the input
  is at most MAX_CHARS characters and MAX_DEPTH levels deep (no recursion bomb);
- `evaluate` is total over its tree: comparing values of different kinds (a number with a
  string, anything ordered with null) is false, never an exception; a bare operand is true
  when it is truthy;
- `decided_early(tree, facts)`: when every variable of the tree is a monotonic fact variable
  (false until observed, then true for ever), the value is final once flipping every
  still-false variable to true cannot change it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

MAX_CHARS = 500
MAX_DEPTH = 32
COMPARATORS = ("==", "!=", "<=", ">=", "<", ">")
KEYWORDS = {"and", "or", "not", "true", "false", "null"}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<open_ref>\{\{) | (?P<close_ref>\}\})
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<paren>[()])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
""", re.VERBOSE)


class ExpressionError(ValueError):
    """An expression that does not parse; names what and where."""


@dataclass(frozen=True)
class Literal_:
    value: Any


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Compare:
    op: str
    left: Node
    right: Node


Node = Literal_ | Var | Not | BoolOp | Compare


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ExpressionError(f"unexpected {text[pos]!r} at position {pos + 1}")
        kind = m.lastgroup
        assert kind is not None
        if kind != "space":
            out.append((kind, m.group(), pos))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ExpressionError("the expression ends too early")
        self.i += 1
        return tok

    def word(self, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[0] == "name" and tok[1] == value:
            self.i += 1
            return True
        return False

    def expr(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise ExpressionError(f"nested more than {MAX_DEPTH} levels")
        return self.or_(depth)

    def or_(self, depth: int) -> Node:
        parts = [self.and_(depth)]
        while self.word("or"):
            parts.append(self.and_(depth))
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_(self, depth: int) -> Node:
        parts = [self.not_(depth)]
        while self.word("and"):
            parts.append(self.not_(depth))
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def not_(self, depth: int) -> Node:
        if self.word("not"):
            if depth > MAX_DEPTH:
                raise ExpressionError(f"nested more than {MAX_DEPTH} levels")
            return Not(self.not_(depth + 1))
        return self.compare(depth)

    def compare(self, depth: int) -> Node:
        left = self.operand(depth)
        tok = self.peek()
        if tok is not None and tok[0] == "op":
            self.i += 1
            return Compare(tok[1], left, self.operand(depth))
        return left

    def operand(self, depth: int) -> Node:
        kind, value, pos = self.take()
        if kind == "paren" and value == "(":
            inner = self.expr(depth + 1)
            closing = self.take()
            if closing[:2] != ("paren", ")"):
                raise ExpressionError(f"expected ')' at position {closing[2] + 1}")
            return inner
        if kind == "open_ref":
            name = self.take()
            closing = self.take()
            if name[0] != "name" or name[1] in KEYWORDS or closing[0] != "close_ref":
                raise ExpressionError(f"a {{{{...}}}} at position {pos + 1} must hold one "
                                      "variable name")
            return Var(name[1])
        if kind == "number":
            return Literal_(float(value) if "." in value else int(value))
        if kind == "string":
            return Literal_(re.sub(r"\\(.)", r"\1", value[1:-1]))
        if kind == "name":
            if value in ("true", "false"):
                return Literal_(value == "true")
            if value == "null":
                return Literal_(None)
            if value in KEYWORDS:
                raise ExpressionError(f"unexpected {value!r} at position {pos + 1}")
            return Var(value)
        raise ExpressionError(f"unexpected {value!r} at position {pos + 1}")


def parse(text: str) -> Node:
    """The tree of `text` (module doc), or ExpressionError."""
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty")
    if len(text) > MAX_CHARS:
        raise ExpressionError(f"longer than {MAX_CHARS} characters")
    parser = _Parser(text)
    tree = parser.expr(0)
    if (rest := parser.peek()) is not None:
        raise ExpressionError(f"unexpected {rest[1]!r} at position {rest[2] + 1}")
    return tree


def variables(tree: Node) -> set[str]:
    """Every variable name the tree reads."""
    if isinstance(tree, Var):
        return {tree.name}
    if isinstance(tree, Not):
        return variables(tree.operand)
    if isinstance(tree, BoolOp):
        return set().union(*(variables(o) for o in tree.operands))
    if isinstance(tree, Compare):
        return variables(tree.left) | variables(tree.right)
    return set()


def _kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return "text"


def _compare(op: str, a: Any, b: Any) -> bool:
    if op in ("==", "!="):
        same = _kind(a) == _kind(b) and a == b
        return same if op == "==" else not same
    if _kind(a) != _kind(b) or _kind(a) not in ("number", "text"):
        return False
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])


Lookup = Callable[[str], Any]


def _value(tree: Node, lookup: Lookup) -> Any:
    if isinstance(tree, Literal_):
        return tree.value
    if isinstance(tree, Var):
        return lookup(tree.name)
    return evaluate(tree, lookup)


def evaluate(tree: Node, lookup: Lookup) -> bool:
    """The truth of `tree`, each variable read through `lookup` (total: module doc)."""
    if isinstance(tree, Not):
        return not evaluate(tree.operand, lookup)
    if isinstance(tree, BoolOp):
        parts = (evaluate(o, lookup) for o in tree.operands)
        return all(parts) if tree.op == "and" else any(parts)
    if isinstance(tree, Compare):
        return _compare(tree.op, _value(tree.left, lookup), _value(tree.right, lookup))
    return bool(_value(tree, lookup))


def decided_early(tree: Node, facts: Mapping[str, bool],
                  is_fact: Callable[[str], bool]) -> bool | None:
    """The final value of `tree` if it is already certain (module doc), else None.
    `facts` holds the fact variables observed so far (true) — absent ones are false."""
    names = variables(tree)
    if not names or not all(is_fact(n) for n in names):
        return None
    now = evaluate(tree, lambda n: bool(facts.get(n)))
    pending = [n for n in names if not facts.get(n)]
    # monotonic variables: every later state sets a subset of `pending` to true
    if len(pending) > 8:
        return None  # 256 later states is enough to look at
    for mask in range(1, 2 ** len(pending)):
        later = {n for i, n in enumerate(pending) if mask >> i & 1}

        def after(name: str, later: set[str] = later) -> bool:
            return bool(facts.get(name)) or name in later

        if evaluate(tree, after) != now:
            return None
    return now
