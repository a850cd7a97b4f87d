"""The campaign agent's decisions (pure): the audience split follows what customers did,
the assignment of customers is stable, and what the model writes is cleaned."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from processors.ai_agents.campaign import (
    CAMPAIGN_TIMEOUT_S,
    EXPLOIT_SHARE,
    MAX_SEQUENCES,
    CampaignInput,
    EmailCampaignAgent,
    Split,
    VariantScore,
    assign,
    emails_from,
    keep_known_placeholders,
    split_audience,
)


def test_the_split_is_even_until_every_variant_has_been_tried() -> None:
    split = split_audience(["reminder", "offer"], {"reminder": VariantScore(sent=10,
                                                                             engaged=9)})
    assert split.shares == {"reminder": 0.5, "offer": 0.5}
    assert "cold start: offer" in split.reason


def test_replies_move_the_audience_to_the_variant_that_gets_them() -> None:
    scores = {"reminder": VariantScore(sent=4, engaged=4), "offer": VariantScore(sent=4)}
    split = split_audience(["offer", "reminder"], scores)
    assert split.shares["reminder"] == EXPLOIT_SHARE
    assert split.shares["offer"] == pytest.approx(1 - EXPLOIT_SHARE)
    assert split.reason.startswith("learned: reminder 4/4 engaged, offer 0/4 engaged")
    # the same feedback the other way round turns the decision round
    flipped = {"reminder": VariantScore(sent=4), "offer": VariantScore(sent=4, engaged=3)}
    assert max(split_audience(["offer", "reminder"], flipped).shares.items(),
               key=lambda kv: kv[1])[0] == "offer"


def test_unsubscribes_outweigh_replies() -> None:
    scores = {"pushy": VariantScore(sent=10, engaged=5, unsubscribed=4),
              "polite": VariantScore(sent=10, engaged=3)}
    assert split_audience(["pushy", "polite"], scores).shares["polite"] == EXPLOIT_SHARE


def test_customers_get_the_same_variant_every_time_and_the_counts_add_up() -> None:
    customers = [f"cust-{i}" for i in range(11)]
    split = Split({"a": 0.8, "b": 0.2}, "test")
    first = assign(customers, "spring-service", split)
    assert first == assign(list(reversed(customers)), "spring-service", split)
    counts = {v: list(first.values()).count(v) for v in "ab"}
    assert counts == {"a": 9, "b": 2} and set(first) == set(customers)
    assert assign(customers, "another-campaign", split) != first  # order is per campaign


def test_placeholders_a_delivery_cannot_fill_are_removed() -> None:
    text, removed = keep_known_placeholders(
        "Hi {{customer.first_name}}, {{dealer_name}} has your {{ vehicle }} ready.")
    assert text == "Hi {{customer.first_name}}, has your ready." and removed == 2


def test_the_models_emails_are_validated() -> None:
    emails, removed = emails_from({"emails": [
        {"subject": "Service due", "body": "Hi {{customer.first_name}}, book now.",
         "delay_days": 5},
        {"subject": "Last call {{promo}}", "body": "Still time.", "delay_days": 7}]}, 2)
    assert [e.delay_days for e in emails] == [0, 7] and removed == 1
    with pytest.raises(ValueError, match="1 emails, 2 asked"):
        emails_from({"emails": [{"subject": "s", "body": "b", "delay_days": 0}]}, 2)
    with pytest.raises(ValueError, match="empty subject or body"):
        emails_from({"emails": [{"subject": "{{x}}", "body": "b", "delay_days": 0}]}, 1)


def test_campaign_input_is_checked() -> None:
    base = {"campaign_id": "c", "objective": "book winter service",
            "segments": [{"name": "s", "description": "d", "customer_refs": ["c1"]}]}
    assert [v.name for v in CampaignInput.model_validate(base).variants] == ["reminder",
                                                                               "offer"]
    with pytest.raises(ValidationError, match="distinct"):
        CampaignInput.model_validate({**base, "variants": [
            {"name": "a", "approach": "one way"}, {"name": "a", "approach": "another"}]})


def test_a_subject_the_model_made_too_long_is_cut_at_a_word() -> None:
    long = "Hi there, thank you for your interest in the winter service, " * 3
    [email], _ = emails_from({"emails": [{"subject": long, "body": "b", "delay_days": 0}]}, 1)
    assert len(email.subject) <= 101 and email.subject.endswith("…")
    assert long.startswith(email.subject[:-1])


def test_pseudonym_labels_the_model_copies_never_reach_a_customer() -> None:
    text, removed = keep_known_placeholders("Call us at <PHONE_NUMBER> or ask <PERSON_1>.")
    assert text == "Call us at or ask ." and removed == 2


def test_a_campaign_is_bounded_to_what_fits_its_timeout() -> None:
    # found by review: 10 segments x 4 variants = 40 model calls against a 60 s task timeout
    segments = [{"name": f"s{i}", "description": "owners", "customer_refs": [f"c-{i}"]}
                for i in range(4)]
    variants = [{"name": n, "approach": "a friendly reminder"} for n in ("a", "b", "c", "d")]
    with pytest.raises(ValidationError, match="4 segments x 4 variants"):
        CampaignInput.model_validate({"campaign_id": "c", "objective": "book service",
                                      "segments": segments, "variants": variants})
    ok = CampaignInput.model_validate({"campaign_id": "c", "objective": "book service",
                                       "segments": segments[:3], "variants": variants})
    assert len(ok.segments) * len(ok.variants) == MAX_SEQUENCES
    agent = EmailCampaignAgent(gateway=None, stats=None)  # type: ignore[arg-type]
    cap = agent.capability("email_campaign")
    assert cap is not None and cap.timeout_s == CAMPAIGN_TIMEOUT_S
