"""Dealership call scoring: did the agent do what a good inbound call needs?

Works on redacted segments (`<PERSON_1>`, `<PHONE_NUMBER_1>`) and on raw text alike:

- appointment_requested: an agent question or offer about booking ("can we book you in for
  Tuesday", "would you like to come in for a test drive"): a booking verb with a time phrase,
  an "in" particle or an appointment noun, or an appointment noun on its own;
- appointment_set: an agent statement that books a time ("I'll book you in for Tuesday",
  "you're scheduled for Monday at 9"), or the customer accepting ("Tuesday works for me")
  in the turn right after the agent asked;
- caller_name_captured: the customer gives a name (a `<PERSON_n>` label or a spaCy PERSON,
  after "my name is"/"this is"/"I'm", or in answer to an agent turn asking for the name), or
  the agent repeats a name label the customer said;
- callback_number_captured: a `<PHONE_NUMBER_n>` label or a phone number in a customer turn,
  or the agent reading back a number label the customer gave;
- hold_s: the sum of gaps of at least HOLD_MIN_S between consecutive segments;
- talk_ratio_agent: agent speech time / (agent + customer speech time).

Score (0-100) = 20 appointment requested + 20 appointment set + 15 name + 15 number
+ 15 x talk-ratio fit (1 inside 0.3-0.6, falling linearly to 0 at 0.3 beyond the band)
+ 15 x hold fit (1 up to 30 s of hold in total, falling linearly to 0 at 120 s).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from spacy.tokens import Doc, Span

from processors.voice.language import is_question, parse, time_phrases
from processors.voice.models import CallScore, Segment

HOLD_MIN_S = 5.0
WEIGHTS = {"appointment_requested": 20, "appointment_set": 20, "caller_name_captured": 15,
           "callback_number_captured": 15, "talk_ratio": 15, "hold": 15}
TALK_BAND = (0.3, 0.6)
HOLD_FREE_S, HOLD_ZERO_S = 30.0, 120.0
BOOKING_VERBS = {"book", "schedule", "reschedule", "come", "bring", "drop", "stop", "reserve",
                 "pencil", "fit", "squeeze", "set"}
APPOINTMENT_NOUNS = {"appointment", "booking", "reservation", "visit", "slot", "consultation",
                     "drive"}  # "test drive"
_BOOKED = re.compile(r"\b(booked|scheduled|reserved|all set|see you)\b", re.IGNORECASE)
_ACCEPT = re.compile(r"\b(works|work for me|sounds good|perfect|fine|great|yes|yeah|sure|"
                     r"okay|ok|see you|that's good|that is good)\b", re.IGNORECASE)
_REFUSE = re.compile(r"\b(not|n't|no|can't|cannot|maybe|won't)\b", re.IGNORECASE)
PERSON_LABEL = re.compile(r"<PERSON_\d+>")
PHONE_LABEL = re.compile(r"<PHONE_NUMBER_\d+>")
PHONE_RAW = re.compile(r"(?<!\d)(?:\+?1[-.\s]?)?\(?\d{3}\)?[-.\s]?\d{3}[-.\s]?\d{4}(?!\d)")
_SELF_ID = re.compile(r"\b(my name is|my name's|name is|this is|it's|it is|i'm|i am)\s+$",
                      re.IGNORECASE)
_ASKS_NAME = re.compile(r"\b(your name|who am i speaking|who is calling|name please|"
                        r"your (first|last) name)\b", re.IGNORECASE)


def _mentions_booking(sent: Span) -> bool:
    lemmas = {t.lemma_.lower() for t in sent}
    if lemmas & APPOINTMENT_NOUNS:
        return True
    for t in sent:
        if t.lemma_.lower() in BOOKING_VERBS and t.pos_ == "VERB":
            particle = any(c.dep_ == "prt" and c.lower_ == "in" for c in t.children)
            if particle or time_phrases(sent):
                return True
    return False


def _is_offer(sent: Span) -> bool:
    return any(t.tag_ == "MD" and t.lower_ in ("can", "could", "would", "ca") for t in sent)


def appointment_flags(segments: Sequence[Segment], docs: Sequence[Doc]) -> tuple[bool, bool]:
    """(requested by the agent, set) — see the module doc."""
    requested = booked = False
    asked_at: int | None = None
    for i, (seg, doc) in enumerate(zip(segments, docs, strict=True)):
        for sent in doc.sents:
            if seg.speaker == "agent" and _mentions_booking(sent):
                if is_question(sent) or _is_offer(sent):
                    requested, asked_at = True, i
                elif time_phrases(sent) and (_BOOKED.search(sent.text) or any(
                        t.tag_ == "MD" or t.lower_ == "'ll" for t in sent)):
                    booked = True
        if seg.speaker == "customer" and asked_at is not None and i == _next_customer(
                segments, asked_at) and _ACCEPT.search(seg.text) and not _REFUSE.search(
                seg.text):
            booked = True
    return requested, booked


def _next_customer(segments: Sequence[Segment], after: int) -> int | None:
    return next((j for j in range(after + 1, len(segments))
                 if segments[j].speaker == "customer"), None)


def _person_mentions(text: str, doc: Doc) -> list[tuple[int, str]]:
    """(char offset in `text`, name): redaction labels, else spaCy PERSON entities (a doc of
    text without labels has the same characters as the text)."""
    out = [(m.start(), m.group(0)) for m in PERSON_LABEL.finditer(text)]
    if out:
        return out
    return [(e.start_char, e.text) for e in doc.ents if e.label_ == "PERSON"]


def caller_name_captured(segments: Sequence[Segment], docs: Sequence[Doc]) -> bool:
    customer_names: set[str] = set()
    previous_agent = ""
    captured = False
    for seg, doc in zip(segments, docs, strict=True):
        names = _person_mentions(seg.text, doc)
        if seg.speaker == "customer":
            asked = bool(_ASKS_NAME.search(previous_agent))
            for offset, name in names:
                if asked or _SELF_ID.search(seg.text[:offset]):
                    captured = True
                    customer_names.add(name)
        elif seg.speaker == "agent":
            previous_agent = seg.text
            if any(name in customer_names for _, name in names):
                captured = True
    return captured


def callback_number_captured(segments: Sequence[Segment]) -> bool:
    customer_numbers = {m.group(0) for s in segments if s.speaker == "customer"
                        for m in PHONE_LABEL.finditer(s.text)}
    for s in segments:
        if s.speaker == "customer" and (PHONE_LABEL.search(s.text) or PHONE_RAW.search(s.text)):
            return True
        if s.speaker == "agent" and any(m.group(0) in customer_numbers
                                        for m in PHONE_LABEL.finditer(s.text)):
            return True
    return False


def hold_seconds(segments: Sequence[Segment]) -> float:
    ordered = sorted(segments, key=lambda s: s.start)
    return round(sum(max(0.0, b.start - a.end) for a, b in zip(ordered, ordered[1:], strict=False)
                     if b.start - a.end >= HOLD_MIN_S), 2)


def talk_ratio(segments: Sequence[Segment]) -> float | None:
    """Agent share of the two parties' speech time; None when roles are unknown."""
    agent = sum(s.end - s.start for s in segments if s.speaker == "agent")
    customer = sum(s.end - s.start for s in segments if s.speaker == "customer")
    return round(agent / (agent + customer), 4) if agent + customer > 0 else None


def _fit(value: float, band: tuple[float, float], width: float) -> float:
    low, high = band
    distance = low - value if value < low else value - high if value > high else 0.0
    return max(0.0, 1.0 - distance / width)


def score_call(segments: Sequence[Segment], *, silence_s: float = 0.0,
               docs: Sequence[Doc] | None = None) -> tuple[CallScore, list[str]]:
    """The call's score and notes on what could not be scored."""
    docs = list(docs) if docs is not None else parse([s.text for s in segments])
    notes = []
    requested, booked = appointment_flags(segments, docs)
    name = caller_name_captured(segments, docs)
    number = callback_number_captured(segments)
    hold = hold_seconds(segments)
    ratio = talk_ratio(segments)
    if ratio is None:
        notes.append("talk ratio not scored: agent and customer were not told apart")
    points = (WEIGHTS["appointment_requested"] * requested + WEIGHTS["appointment_set"] * booked
              + WEIGHTS["caller_name_captured"] * name
              + WEIGHTS["callback_number_captured"] * number
              + WEIGHTS["talk_ratio"] * (_fit(ratio, TALK_BAND, 0.3) if ratio is not None else 0)
              + WEIGHTS["hold"] * _fit(hold, (0.0, HOLD_FREE_S), HOLD_ZERO_S - HOLD_FREE_S))
    return CallScore(appointment_requested=requested, appointment_set=booked,
                     caller_name_captured=name, callback_number_captured=number, hold_s=hold,
                     silence_s=round(silence_s, 2), talk_ratio_agent=ratio or 0.0,
                     score=int(round(points))), notes

