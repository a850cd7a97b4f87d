"""Action agents queue a delivery (never send), with ids fixed by the task; placeholders
are checked when the task is taken and filled only from a contact."""

from __future__ import annotations

import asyncio
import json

import pytest

from processors.ai_agents.actions import SMS_MAX_CHARS, SendEmailAgent, SendSmsAgent, delivery_id
from processors.ai_agents.dispatch import AgentRegistry, TaskRejected, run_task
from processors.ai_agents.placeholders import MissingValue, UnknownPlaceholder, check, fill
from processors.ai_agents.selection import PerformanceBook

from .test_dispatch import FAST, no_sleep, request


def _email(**extra: object) -> str:
    return json.dumps({"customer_ref": "cust-1", "subject": "Your {{customer.first_name}} offer",
                       "body": "Hi {{ customer.first_name }}, your service is due.",
                       "variant": "a", **extra})


def test_send_email_queues_one_delivery_with_an_id_fixed_by_the_task() -> None:
    registry = AgentRegistry([SendEmailAgent()])
    req = request("send_email", _email(), task_id="task-7", tenant="dealer-9")
    ran = asyncio.run(run_task(req, registry, PerformanceBook(), FAST, no_sleep))
    assert ran.completed.status == "completed"
    [d] = ran.deliveries
    assert d.delivery_id == delivery_id("dealer-9", "task-7") != delivery_id("dealer-8", "task-7")
    assert (d.channel, d.customer_ref, d.variant, d.task_id) == ("email", "cust-1", "a", "task-7")
    assert "{{ customer.first_name }}" in d.body  # filled only at delivery
    assert json.loads(ran.completed.output_json) == {"channel": "email",
                                                    "delivery_ids": [d.delivery_id]}
    again = asyncio.run(run_task(req, registry, PerformanceBook(), FAST, no_sleep))
    assert again.deliveries[0].event_id == d.event_id  # a re-run asks for the same delivery


def test_an_unknown_placeholder_fails_the_task_and_queues_nothing() -> None:
    req = request("send_email", _email(body="Hi {{customer.ssn}}"))
    ran = asyncio.run(run_task(req, AgentRegistry([SendEmailAgent()]), PerformanceBook(),
                               FAST, no_sleep))
    assert ran.completed.status == "failed" and ran.deliveries == ()
    assert "unknown placeholder(s) {{customer.ssn}}" in (ran.completed.error or "")


def test_an_sms_longer_than_three_segments_is_bad_input() -> None:
    req = request("send_sms", json.dumps({"customer_ref": "c", "body": "x" * (SMS_MAX_CHARS + 1)}))
    with pytest.raises(TaskRejected) as err:
        asyncio.run(run_task(req, AgentRegistry([SendSmsAgent()]), PerformanceBook(), FAST,
                             no_sleep))
    assert err.value.kind == "bad_task_input" and "body" in str(err.value)


def test_fill_replaces_every_placeholder_or_names_what_is_missing() -> None:
    contact = {"first_name": "Ana", "last_name": None}
    assert fill("Hi {{customer.first_name}}!", contact) == "Hi Ana!"
    with pytest.raises(MissingValue, match="last_name"):
        fill("Dear {{customer.last_name}}", contact)
    with pytest.raises(UnknownPlaceholder):
        check("{{dealer.secret}}")
    assert fill("no placeholders", {}) == "no placeholders"
