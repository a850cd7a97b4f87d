"""Call analysis on generated calls, redacted as in the stream: action items (rules only,
then with a mock model), deadlines, sentiment, scoring, summary."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from connectors.samples.calls import (
    CALL_TIME,
    SCRIPTS,
    CallScript,
    GeneratedCall,
    KnownItem,
)
from processors.llm.config import RouterConfig
from processors.llm.gateway import LlmGateway
from processors.llm.usage import CollectingSink
from processors.pii.pieces import redact_pieces
from processors.voice.action_items import priority
from processors.voice.call import ActionItemOut, CallReport, Segment, analyze_transcript
from processors.voice.deadlines import resolve_deadline
from processors.voice.scoring import WEIGHTS, score_call
from processors.voice.sentiment import compound, label
from tests.synthetic.transcripts import transcribed_calls

KEY = b"test-key"
MIN_RECALL = 0.8


def redacted(segments: list[Segment]) -> list[Segment]:
    """The segments as the stream hands them over: PII replaced by pseudonym labels."""
    texts = redact_pieces([s.text for s in segments], KEY).texts
    return [s.model_copy(update={"text": t}) for s, t in zip(segments, texts, strict=True)]


def script_segments(script: CallScript) -> list[Segment]:
    """The script's turns as segments (exact text, 5 s per turn), for text-only tests."""
    return [Segment(start=i * 5.0, end=i * 5.0 + 4.0, text=t.text, speaker=t.speaker)
            for i, t in enumerate(script.turns)]


def found(known: KnownItem, items: list[ActionItemOut]) -> bool:
    want = known.deadline.isoformat() if known.deadline else None
    return any(any(k in i.task.lower() for k in known.keywords) and i.assignee ==
               known.assignee and i.deadline == want for i in items)


@pytest.fixture(scope="module")
def reports() -> list[tuple[GeneratedCall, list[Segment], CallReport]]:
    out = []
    for call, transcript in transcribed_calls():
        segments = redacted(transcript.segments)
        out.append((call, segments, analyze_transcript(
            segments, call_time=CALL_TIME, silence_s=transcript.silence_s)))
    return out


def test_redaction_reached_the_analysis(reports):
    text = " ".join(s.text for _, segs, _ in reports for s in segs)
    assert "<PERSON_" in text and "<PHONE_NUMBER_" in text
    assert "Sarah Jones" not in text and "555-0143" not in text


def test_action_item_recall_rules_only_on_redacted_transcripts(reports):
    total = sum(len(call.script.items) for call, _, _ in reports)
    missed = [(call.script.name, k) for call, _, r in reports for k in call.script.items
              if not found(k, r.action_items)]
    recall = 1 - len(missed) / total
    assert recall >= MIN_RECALL, missed
    for _, _, report in reports:
        assert all(i.source == "rules" for i in report.action_items)
        assert report.summary_source == "extractive" and report.summary


def test_items_due_today_or_tomorrow_are_high_priority(reports):
    soon = CALL_TIME.date() + timedelta(days=1)
    dated = [i for _, _, r in reports for i in r.action_items if i.deadline]
    assert dated
    for item in dated:
        assert (item.priority == "high") == (date.fromisoformat(item.deadline) <= soon), item


@pytest.mark.parametrize(("deadline", "urgent", "expected"), [
    (date(2025, 3, 12), False, "high"), (date(2025, 3, 13), False, "high"),
    (date(2025, 3, 14), False, "medium"), (date(2025, 3, 19), False, "medium"),
    (date(2025, 3, 20), False, "low"), (None, False, "medium"), (None, True, "high"),
    (date(2025, 3, 30), True, "high"),
])
def test_priority_rules(deadline, urgent, expected):
    assert priority(deadline, urgent, CALL_TIME.date()) == expected


@pytest.mark.parametrize(("sentence", "speaker", "task_word", "assignee", "deadline"), [
    ("I'll call you back tomorrow.", "agent", "call", "agent", "2025-03-13"),
    ("Can you send me the quote?", "customer", "send", "agent", None),
    ("We'll have it ready by Friday.", "agent", "ready", "agent", "2025-03-14"),
    ("I'll book you in for Tuesday at 9.", "agent", "book", "agent", "2025-03-18"),
    ("I will have our service manager call you today.", "agent", "call", "service manager",
     "2025-03-12"),
    ("Please email me the paperwork by the end of the month.", "customer", "email", "agent",
     "2025-03-31"),
    ("I am going to drop the car off next Monday.", "customer", "drop", "customer",
     "2025-03-17"),
])
def test_commitments_and_requests_from_sentence_structure(sentence, speaker, task_word,
                                                          assignee, deadline):
    seg = Segment(start=0, end=3, text=sentence, speaker=speaker)
    [item] = analyze_transcript([seg], call_time=CALL_TIME).action_items
    assert task_word in item.task and item.assignee == assignee and item.deadline == deadline


@pytest.mark.parametrize("sentence", [
    "Can I get your name please?", "I will not call you tomorrow.", "Please hold.",
    "It should arrive in three days.", "I think it will rain tomorrow.",
    "Would you like a coffee?", "The brakes are squeaking."])
def test_non_tasks_are_not_action_items(sentence):
    seg = Segment(start=0, end=3, text=sentence, speaker="agent")
    assert analyze_transcript([seg], call_time=CALL_TIME).action_items == []


# Wednesday 12 March 2025, 10:00
@pytest.mark.parametrize(("phrase", "expected"), [
    ("today", "2025-03-12"), ("tonight", "2025-03-12"), ("this afternoon", "2025-03-12"),
    ("tomorrow", "2025-03-13"), ("by tomorrow morning", "2025-03-13"),
    ("in two days", "2025-03-14"), ("in a couple of days", "2025-03-14"),
    ("by Friday", "2025-03-14"), ("end of the week", "2025-03-14"),
    ("by the end of the week", "2025-03-14"), ("next Monday", "2025-03-17"),
    ("next Tuesday", "2025-03-18"), ("Tuesday at 9", "2025-03-18"),
    ("Tuesday at nine in the morning", "2025-03-18"), ("on Wednesday", "2025-03-19"),
    ("in a week", "2025-03-19"), ("next week", "2025-03-21"),
    ("end of the month", "2025-03-31"), ("March 20", "2025-03-20"), ("the 20th", "2025-03-20"),
    ("next month", "2025-04-01"), ("yesterday", None), ("last week", None), ("nine", None),
    ("soon-ish", None),
])
def test_deadline_resolution_is_deterministic(phrase, expected):
    got = resolve_deadline(phrase, CALL_TIME)
    assert (got.isoformat() if got else None) == expected
    # the same phrase a week later moves with the call, not with the clock
    later = resolve_deadline(phrase, datetime(2025, 3, 19, 10, 0))
    if expected and phrase not in ("March 20", "the 20th", "end of the month", "next month"):
        assert later is not None and (later - got).days == 7


def test_sentiment_scores_and_labels(reports):
    assert compound("Thank you so much, that is great!") > 0.5
    assert compound("I am really angry and very disappointed.") < -0.5
    assert label(0.0) == "neutral" and label(0.3) == "positive" and label(-0.3) == "negative"
    by_name = {call.script.name: r for call, _, r in reports}
    assert by_name["complaint"].sentiment_label == "negative"
    assert by_name["complaint"].sentiment == min(r.sentiment for r in by_name.values())
    for _, segs, r in reports:
        assert len(r.segment_sentiments) == len(segs)


def test_call_scoring_flags_match_the_scripts(reports):
    flags = ("appointment_requested", "appointment_set", "caller_name_captured",
             "callback_number_captured")
    wrong = [(call.script.name, f) for call, _, r in reports for f in flags
             if getattr(r.score, f) != getattr(call.script, f)]
    assert len(wrong) <= 1, wrong  # whisper may garble one fact
    for call, _, r in reports:
        assert r.score.hold_s == pytest.approx(call.script.hold_s, abs=1.5)
        assert 0.3 < r.score.talk_ratio_agent < 0.8
        assert r.score.silence_s > 0


def test_score_weights():
    script = SCRIPTS[0]  # asks, books, takes name and number, no hold
    segs = script_segments(script)
    raw_score, _ = score_call(segs)
    red_score, _ = score_call(redacted(segs))
    for s in (raw_score, red_score):  # raw text and redacted text give the same facts
        assert s.appointment_requested and s.appointment_set
        assert s.caller_name_captured and s.callback_number_captured
    assert red_score.score == raw_score.score == 100
    held = [*segs[:3], *[s.model_copy(update={"start": s.start + 200, "end": s.end + 200})
                         for s in segs[3:]]]
    assert score_call(held)[0].score == 100 - WEIGHTS["hold"]
    agent_only = [s.model_copy(update={"speaker": "agent"}) for s in segs]
    bare = score_call(agent_only)[0]
    assert not bare.caller_name_captured and not bare.callback_number_captured
    assert bare.score == WEIGHTS["appointment_requested"] + WEIGHTS["appointment_set"] \
        + WEIGHTS["hold"]


# --- with the model (litellm mock_response, no network) ----------------------------------

MODEL_ANSWER = {
    "action_items": [
        {"task": "Send the customer the loan paperwork", "assignee": "agent",
         "deadline_phrase": "by Monday"},
        {"task": "call the customer back with the brake pad quote", "assignee": "agent",
         "deadline_phrase": "tomorrow"},
    ],
    "summary": "<PERSON_3> booked brake service for Tuesday; the agent calls back tomorrow.",
}


class RecordingGateway:
    """The real gateway, keeping the prompts it was sent."""

    def __init__(self, gateway: LlmGateway) -> None:
        self.gateway = gateway
        self.prompts: list[str] = []

    def complete_json(self, **kwargs):
        self.prompts.append(json.dumps(kwargs["messages"]))
        return self.gateway.complete_json(**kwargs)


def mock_gateway(answer: str) -> RecordingGateway:
    cfg = RouterConfig.model_validate({
        "models": [{"name": "mock", "litellm_model": "openai/mock-model", "tier": 1,
                    "latency_ms": 100, "input_cost_per_token": 0.0,
                    "output_cost_per_token": 0.0}],
        "router": {"num_retries": 0, "allowed_fails": 5, "cooldown_time_s": 1},
        "operations": {"analyze_call": {"min_tier": 1, "latency_ms": 20000},
                       "summarize_call": {"min_tier": 1, "latency_ms": 20000}},
    })
    cfg.models[0].litellm_params["mock_response"] = answer
    return RecordingGateway(LlmGateway(cfg, CollectingSink()))


def test_model_adds_items_and_writes_the_summary_from_redacted_text_only():
    segs = redacted(script_segments(SCRIPTS[0]))
    gw = mock_gateway(json.dumps(MODEL_ANSWER))
    report = analyze_transcript(segs, call_time=CALL_TIME, gateway=gw, tenant_id="dealer-1")
    model_items = [i for i in report.action_items if i.source == "model"]
    # the duplicate of a rule item is not added; the new one is dated by our own code
    assert [(i.task, i.deadline, i.priority) for i in model_items] == [
        ("Send the customer the loan paperwork", "2025-03-17", "medium")]
    assert sum(i.source == "rules" for i in report.action_items) >= 3
    assert report.summary == MODEL_ANSWER["summary"] and report.summary_source == "mock"
    assert len(gw.prompts) == 2
    for prompt in gw.prompts:
        assert "<PERSON_" in prompt and "<PHONE_NUMBER_" in prompt
        assert "Sarah" not in prompt and "0143" not in prompt


@pytest.mark.parametrize("answer", ["litellm.RateLimitError", json.dumps({"wrong": 1})])
def test_a_failing_model_leaves_the_rules_result(answer):
    segs = redacted(script_segments(SCRIPTS[0]))
    rules_only = analyze_transcript(segs, call_time=CALL_TIME)
    report = analyze_transcript(segs, call_time=CALL_TIME, gateway=mock_gateway(answer))
    assert report.action_items == rules_only.action_items
    assert report.summary == rules_only.summary
    assert report.summary_source == "extractive (model failed)"
    assert any("model failed" in n for n in report.notes)
