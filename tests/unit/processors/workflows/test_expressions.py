"""Condition expressions: parsed without eval, evaluated totally, decided early only when
no later fact can change them."""

from __future__ import annotations

import pytest

from processors.workflows.expressions import (
    MAX_DEPTH,
    ExpressionError,
    decided_early,
    evaluate,
    parse,
    variables,
)
from schemas.dealership_facts import FACT_VARIABLES


def _eval(text: str, **values: object) -> bool:
    scope = {k.replace("__", "."): v for k, v in values.items()}
    return evaluate(parse(text), lambda n: scope.get(n))


def test_the_templates_conditions_parse_and_evaluate() -> None:
    assert _eval("appointment.confirmed == false", appointment__confirmed=False)
    assert not _eval("appointment.confirmed == false", appointment__confirmed=True)
    assert _eval("{{steps.ask_rating.reply}} >= 4", steps__ask_rating__reply=5)
    assert not _eval("{{steps.ask_rating.reply}} >= 4", steps__ask_rating__reply=3)
    assert variables(parse("{{steps.ask_rating.reply}} >= 4 and not customer.opted_out")) == {
        "steps.ask_rating.reply", "customer.opted_out"}


def test_precedence_parentheses_strings_and_null() -> None:
    text = ('trigger.total_amount > 500 or (lead.contacted == false and '
            'trigger.lead_source == "web")')
    assert _eval(text, trigger__total_amount=600)
    assert _eval(text, trigger__total_amount=10, lead__contacted=False,
                 trigger__lead_source="web")
    assert not _eval(text, trigger__total_amount=10, lead__contacted=True,
                     trigger__lead_source="web")
    assert _eval("not a and b", a=False, b=True) and not _eval("not (a and b)", a=True, b=True)
    assert _eval("x == null") and _eval("x != 'y'", x="z") and _eval(r"x == 'it\'s'", x="it's")


def test_comparing_different_kinds_is_false_not_an_error() -> None:
    assert not _eval("x > 3", x="four") and not _eval("x < 3") and not _eval("x == 1", x="1")
    assert _eval("x != 1", x="1") and not _eval("x == true", x=1)


@pytest.mark.parametrize("text, where", [
    ("", "empty"), ("a ==", "ends too early"), ("a = 1", "position 3"),
    ("(a == 1", "ends too early"), ("a == 1)", "position 7"), ("__import__('os')", "position 11"),
    ("a.b()", "position 4"), ("{{ and }}", "one variable name"), ("a ; b", "position 3"),
    ("x" * 501, "longer than 500"), ("not " * (MAX_DEPTH + 2) + "a", "nested"),
    ("(" * (MAX_DEPTH + 2) + "a" + ")" * (MAX_DEPTH + 2), "nested"),
])
def test_what_does_not_parse_is_named(text: str, where: str) -> None:
    with pytest.raises(ExpressionError, match=where.replace("(", r"\(")):
        parse(text)


def test_a_condition_on_monotonic_facts_is_decided_once_no_fact_can_change_it() -> None:
    def is_fact(n: str) -> bool:
        return n in FACT_VARIABLES

    unconfirmed = parse("appointment.confirmed == false")
    assert decided_early(unconfirmed, {}, is_fact) is None  # a confirmation may still come
    assert decided_early(unconfirmed, {"appointment.confirmed": True}, is_fact) is False
    either = parse("lead.contacted or call.returned")
    assert decided_early(either, {"call.returned": True}, is_fact) is True
    both = parse("lead.contacted and call.returned")
    assert decided_early(both, {"call.returned": True}, is_fact) is None
    mixed = parse("appointment.confirmed == false and {{steps.s.reply}} == 'C'")
    assert decided_early(mixed, {"appointment.confirmed": True}, is_fact) is None
