"""Sentiment of call segments with VADER (vaderSentiment): compound score in -1..1.

Labels use VADER's own thresholds: compound >= 0.05 positive, <= -0.05 negative, else
neutral. The call's sentiment is the customer's: the word-weighted mean compound of the
customer segments (the whole call when no customer speaker is known), because agents are
polite by training and would mask an unhappy caller.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from processors.voice.models import Segment

POSITIVE, NEGATIVE = 0.05, -0.05
_LOCK = threading.Lock()
_ANALYZER: list[SentimentIntensityAnalyzer] = []


def _analyzer() -> SentimentIntensityAnalyzer:
    with _LOCK:
        if not _ANALYZER:
            _ANALYZER.append(SentimentIntensityAnalyzer())
        return _ANALYZER[0]


def compound(text: str) -> float:
    """VADER compound score of `text` (0.0 for empty text)."""
    return float(_analyzer().polarity_scores(text)["compound"]) if text.strip() else 0.0


def label(score: float) -> str:
    return "positive" if score >= POSITIVE else "negative" if score <= NEGATIVE else "neutral"


def call_sentiment(segments: Sequence[Segment], scores: Sequence[float]) -> float:
    """Word-weighted mean compound of the customer's segments (all segments if none)."""
    chosen = [(s, c) for s, c in zip(segments, scores, strict=True) if s.speaker == "customer"]
    if not chosen:
        chosen = list(zip(segments, scores, strict=True))
    weights = [max(1, len(s.text.split())) for s, _ in chosen]
    total = sum(weights)
    return round(sum(w * c for w, (_, c) in zip(weights, chosen, strict=True)) / total, 4) \
        if total else 0.0
