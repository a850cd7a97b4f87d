"""Requirement analysis (rules part) on generated dealership requests: intent, domain,
channels and timing, with accuracy thresholds (intent >= 90%, channels/timing >= 95%)."""

from __future__ import annotations

import random

import pytest

from processors.analysis.analyzer import rules_analysis
from processors.analysis.entities import extract_entities, split_requirements

# (template, intent, domain, channels, timing phrase, iso offset)
TEMPLATES = [
    ("Text customers {n} days before their service appointment and email a coupon if they "
     "don't confirm", "create_workflow", "service", ["sms", "email"], "{n} days before",
     "-P{n}D"),
    ("When a new internet lead comes in, text them within {n} minutes and assign a "
     "salesperson", "create_workflow", "sales", ["sms"], "within {n} minutes", "PT{n}M"),
    ("Email lease customers {n} months before their lease ends with upgrade options",
     "create_workflow", "finance", ["email"], "{n} months before", "-P{n}M"),
    ("Send a text {n} hours after the repair order closes asking for a review",
     "create_workflow", "service", ["sms"], "{n} hours after", "PT{n}H"),
    ("Call back every missed call within {n} hours and log it in the CRM",
     "create_workflow", None, ["phone"], "within {n} hours", "PT{n}H"),
    ("The recall reminder texts stopped working yesterday, customers say nothing arrived "
     "{n} days after the notice", "debug_workflow", "service", ["sms"], "{n} days after",
     "P{n}D"),
    ("Why did the lead follow-up email fail for {n} prospects this morning?",
     "debug_workflow", "sales", ["email"], None, None),
    ("Our parts-arrived SMS is throwing a 429 error from the gateway",
     "debug_workflow", "parts", ["sms"], None, None),
    ("Change the service reminder to go out {n} days before instead",
     "modify_workflow", "service", [], "{n} days before", "-P{n}D"),
    ("Update the lease-end campaign so it also emails them {n} weeks after the first text",
     "modify_workflow", "finance", ["sms", "email"], "{n} weeks after", "P{n}W"),
    ("Remove the phone call step from the trade-in workflow", "modify_workflow", "sales",
     ["phone"], None, None),
    ("How can we improve the show rate of the no-show rebooking texts?",
     "optimize_workflow", "service", ["sms"], None, None),
    ("Optimize the birthday coupon emails so fewer people unsubscribe", "optimize_workflow",
     "marketing", ["email"], None, None),
    ("Make the 5-minute lead response faster, it's too slow on weekends",
     "optimize_workflow", "sales", [], None, None),
    ("Thanks, that's all for today", "none", None, [], None, None),
    ("What are your service department hours on Saturday?", "none", "service", [], None,
     None),
]


def generated(count: int = 48, seed: int = 11):
    rnd = random.Random(seed)
    for i in range(count):
        tpl, intent, domain, channels, phrase, iso = TEMPLATES[i % len(TEMPLATES)]
        n = rnd.choice([2, 3, 4, 5, 7, 10])
        yield (tpl.format(n=n), intent, domain, channels,
               phrase.format(n=n) if phrase else None, iso.format(n=n) if iso else None)


REQUESTS = list(generated())


def test_at_least_40_requests_cover_every_intent():
    assert len(REQUESTS) >= 40
    assert {r[1] for r in REQUESTS} == {"create_workflow", "modify_workflow", "debug_workflow",
                                        "optimize_workflow", "none"}


def test_intent_accuracy():
    wrong = [(t, i, rules_analysis(t).intent) for t, i, *_ in REQUESTS
             if rules_analysis(t).intent != i]
    assert 1 - len(wrong) / len(REQUESTS) >= 0.9, wrong


def test_domain_accuracy_where_the_request_names_one():
    labelled = [(t, d) for t, _, d, *_ in REQUESTS if d]
    wrong = [(t, d) for t, d in labelled if rules_analysis(t).domain != d]
    assert 1 - len(wrong) / len(labelled) >= 0.9, wrong


def test_channel_accuracy():
    wrong = [(t, c) for t, _, _, c, *_ in REQUESTS if rules_analysis(t).channels != c]
    assert 1 - len(wrong) / len(REQUESTS) >= 0.95, wrong


def test_timing_accuracy():
    def ok(text: str, phrase: str | None, iso: str | None) -> bool:
        a = rules_analysis(text)
        return (a.timing or "").lower() == (phrase or "").lower() and a.timing_offset == iso

    wrong = [t for t, _, _, _, p, iso in REQUESTS if not ok(t, p, iso)]
    assert 1 - len(wrong) / len(REQUESTS) >= 0.95, wrong


def test_entities_and_requirements_from_rules():
    text = ("When a 2021 Ford F-150 owner's lease ends in 60 days, email them and notify the "
            "sales manager if they don't reply")
    ents = extract_entities(text)
    assert "F-150" in ents["vehicle"] and ents["staff_role"].lower() == "sales manager"
    assert "if they don't reply" in ents["conditions"]
    assert split_requirements("Text them 3 days before and email a coupon if they don't "
                              "confirm") == ["Text them 3 days before",
                                             "Email a coupon if they don't confirm"]


@pytest.mark.parametrize("text", ["", "   ", "ok"])
def test_trivial_messages_have_no_intent(text):
    a = rules_analysis(text)
    assert a.intent == "none" and a.requirements == [] and a.channels == []
