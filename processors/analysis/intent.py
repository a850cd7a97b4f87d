"""Deterministic intent classification of a workflow-builder message.

Cue phrases are checked in priority order: a message reporting a failure is a debug request
even when it also asks for a change; an improvement request is an optimisation even when it
names a change; a change to an existing workflow is a modification; an instruction to
automate something is a creation; anything else (greetings, questions) is `none`.
"""

from __future__ import annotations

import re
from typing import Literal

Intent = Literal["create_workflow", "modify_workflow", "debug_workflow", "optimize_workflow",
                 "none"]
INTENTS: tuple[Intent, ...] = ("create_workflow", "modify_workflow", "debug_workflow",
                               "optimize_workflow", "none")

_CUES: tuple[tuple[Intent, re.Pattern[str]], ...] = (
    ("debug_workflow", re.compile(
        r"\b(?:not working|isn'?t working|stopped working|doesn'?t work|broken|bug|errors?|"
        r"fail(?:s|ed|ing|ure)?|crash(?:es|ed)?|didn'?t (?:send|go out|fire|trigger|run)|"
        r"never (?:sent|went out|fired|triggered|arrived)|went out twice|duplicates?|"
        r"stuck|why (?:did|didn'?t|is|isn'?t)|what went wrong|debug|troubleshoot|"
        r"bounc(?:e|ed|ing)|\b4\d\d\b|\b5\d\d\b)", re.I)),
    ("optimize_workflow", re.compile(
        r"\b(?:optimi[sz]e|improve|speed up|faster|more efficient|streamline|"
        r"(?:better|higher|increase|boost|raise)\b.{0,30}\b(?:rate|conversion|responses?|"
        r"bookings?|show(?:-up)?s?)|reduce\b.{0,30}\b(?:no-shows?|cost|spend|time|"
        r"unsubscribes?|opt-outs?)|cheaper|too (?:slow|many|expensive))\b", re.I)),
    ("modify_workflow", re.compile(
        r"\b(?:change|update|modify|edit|adjust|tweak|switch|replace|rename|remove|delete|"
        r"drop|instead|make it|move the|add (?:a |an )?(?:step|email|text|sms|call|"
        r"condition|wait|reminder|task)\b.{0,40}\b(?:to|in) (?:the|my|our|this|that)|"
        r"(?:also|additionally) (?:send|text|email|call|notify)|"
        r"(?:in|to|of) (?:the|my|our|this|that) (?:existing |current )?"
        r"(?:workflow|automation|campaign|sequence|flow))\b", re.I)),
    ("create_workflow", re.compile(
        r"\b(?:text|sms|send|e-?mail|call|notify|remind|alert|follow[- ]up|reach out|"
        r"contact|ping|message|offer|invite|ask|assign|schedule|set up|create|build|"
        r"automate|automatically|when(?:ever)?|every|after|before|if)\b", re.I)),
)


def classify_intent(text: str) -> tuple[Intent, float]:
    """The intent and a confidence: 0.9 for a cue match, 0.6 for `none` (no cue at all)."""
    for intent, pattern in _CUES:
        if pattern.search(text):
            return intent, 0.9
    return "none", 0.6
