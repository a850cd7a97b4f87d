"""Deterministic extraction (channels, timing, domain) on generated dealership requests."""

from __future__ import annotations

import itertools
import random

import pytest

from processors.analysis.rules import classify_domain, extract_channels, extract_timing

# (template, channels, timing phrase, iso offset, domain)
CASES = [
    ("Text customers {n} days before their service appointment and email a coupon if they "
     "don't confirm", ["sms", "email"], "{n} days before", "-P{n}D", "service"),
    ("When a new internet lead comes in, text them within {n} minutes and assign a "
     "salesperson", ["sms"], "within {n} minutes", "PT{n}M", "sales"),
    ("Call back every missed call within {n} hours", ["phone"], "within {n} hours", "PT{n}H",
     None),
    ("Send an email {n} weeks after a declined repair to offer the service again",
     ["email"], "{n} weeks after", "P{n}W", "service"),
    ("Email the finance paperwork checklist {n} days after the deal is signed and text a "
     "reminder if the loan documents are missing", ["sms", "email"], "{n} days after",
     "P{n}D", "finance"),
    ("Send a birthday coupon by text every morning to customers whose birthday is today",
     ["sms"], "every morning", None, "marketing"),
    ("Notify the customer by SMS when their back-ordered parts arrive, {n} hours after "
     "receiving", ["sms"], "{n} hours after", "PT{n}H", "parts"),
    ("Ask for a review by email {n} days after a test drive", ["email"], "{n} days after",
     "P{n}D", "sales"),
]


def generated_requests(count: int = 40, seed: int = 3):
    rnd = random.Random(seed)
    for i, case in zip(range(count), itertools.cycle(CASES), strict=False):
        template, channels, phrase, iso, domain = case
        n = rnd.choice([2, 3, 5, 7, 10, 15])
        yield (template.format(n=n), channels, phrase.format(n=n),
               iso.format(n=n) if iso else None, domain, i)


REQUESTS = list(generated_requests())


def test_channel_extraction_accuracy():
    correct = sum(extract_channels(text) == channels for text, channels, *_ in REQUESTS)
    assert correct / len(REQUESTS) >= 0.95


def test_timing_extraction_accuracy():
    def ok(text, phrase, iso):
        found = extract_timing(text)
        return bool(found) and found[0].phrase.lower() == phrase.lower() and \
            found[0].iso_offset == iso

    correct = sum(ok(text, phrase, iso) for text, _, phrase, iso, *_ in REQUESTS)
    assert correct / len(REQUESTS) >= 0.95


def test_domain_classification_where_the_text_names_one():
    labelled = [(t, d) for t, _, _, _, d, _ in REQUESTS if d]
    correct = sum(classify_domain(t) == d for t, d in labelled)
    assert correct / len(labelled) >= 0.9


@pytest.mark.parametrize(("text", "expected"), [
    ("Let's call it the spring campaign", []),
    ("Reply to web chat leads", ["chat"]),
    ("Nothing to do here", []),
])
def test_channel_edge_cases(text, expected):
    assert extract_channels(text) == expected


def test_timing_offsets_and_order():
    found = extract_timing("Text them 3 days before, then call within 2 hours, daily")
    assert [(t.phrase, t.iso_offset) for t in found] == [
        ("3 days before", "-P3D"), ("within 2 hours", "PT2H"), ("daily", None)]
    assert extract_timing("remind them one week prior to lease end")[0].iso_offset == "-P1W"
    assert extract_timing("no timing here") == []
    assert extract_timing("reply within 2 hrs")[0].iso_offset == "PT2H"
    assert extract_timing("follow up 1 hr after the call")[0].iso_offset == "PT1H"
    assert extract_timing("check 3 months after delivery")[0].iso_offset == "P3M"
