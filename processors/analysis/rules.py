"""Deterministic extraction from a (redacted) workflow request: channels, timing, domain.

These are the parts rules get right reliably; intent nuances, entities, requirements and
success criteria are left to the model (issue 3's LLM router). Every function is pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CHANNEL_PATTERNS: dict[str, re.Pattern[str]] = {
    "sms": re.compile(r"\b(?:sms|texts?|texting|texted|text messages?)\b", re.I),
    "email": re.compile(r"\b(?:e-?mails?|e-?mailed|e-?mailing|newsletter)\b", re.I),
    "phone": re.compile(r"\b(?:call(?:s|ed|ing)?|phone|voicemail|ring)\b", re.I),
    "chat": re.compile(r"\b(?:chat|web ?chat|live chat|messenger)\b", re.I),
}
# "call" as a noun in "missed call" / "call log" still names the phone channel; "call it"
# (naming something) does not.
_NOT_PHONE = re.compile(r"\bcall (?:it|this|that)\b", re.I)

DOMAIN_KEYWORDS: dict[str, tuple[str, ...]] = {
    "service": ("service", "oil change", "maintenance", "repair", "recall", "appointment",
                "technician", "brake", "tire", "inspection", "no-show", "declined"),
    "sales": ("lead", "test drive", "sales", "showroom", "inventory", "trade-in", "trade in",
              "new car", "used car", "buyer", "prospect", "salesperson", "deal"),
    "parts": ("parts", "part ", "accessor", "back-order", "backorder", "parts counter"),
    "finance": ("finance", "financing", "loan", "lease", "credit app", "paperwork", "f&i",
                "payment", "apr", "contract", "funding"),
    "marketing": ("campaign", "newsletter", "promotion", "promo", "coupon", "birthday",
                  "review", "survey", "offer", "marketing", "social"),
}

_NUM = (r"(?:\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
        r"fifteen|twenty|thirty|forty-five|sixty|ninety)")
_UNIT = r"(?:minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)"
TIMING_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(rf"\b{_NUM}\s+{_UNIT}\s+(?:before|after|prior to|ahead of|following)\b", re.I),
    re.compile(rf"\bwithin\s+{_NUM}\s+{_UNIT}\b", re.I),
    re.compile(rf"\b(?:every|each)\s+(?:{_NUM}\s+)?(?:{_UNIT}|day|morning|evening|week|month|"
               r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|weekday)\b", re.I),
    re.compile(rf"\bafter\s+{_NUM}\s+{_UNIT}\b", re.I),
    re.compile(rf"\b{_NUM}\s+{_UNIT}\s+later\b", re.I),
    re.compile(r"\b(?:immediately|right away|same day|next day|on (?:their|the customer's) "
               r"birthday)\b", re.I),
    re.compile(r"\b(?:daily|weekly|monthly|nightly)\b", re.I),
)
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
          "fifteen": 15, "twenty": 20, "thirty": 30, "forty-five": 45, "sixty": 60,
          "ninety": 90}
_ISO = {"min": "M", "hr": "H", "hou": "H", "day": "D", "wee": "W", "mon": "M", "yea": "Y"}


@dataclass(frozen=True)
class Timing:
    phrase: str
    iso_offset: str | None  # e.g. "-P3D" for "3 days before", "PT5M" for "within 5 minutes"


def extract_channels(text: str) -> list[str]:
    """Channels named in `text`, in a stable order (sms, email, phone, chat)."""
    found = []
    for channel, pattern in CHANNEL_PATTERNS.items():
        if channel == "phone":
            if not any(not _NOT_PHONE.match(text, m.start()) for m in pattern.finditer(text)):
                continue
        elif not pattern.search(text):
            continue
        found.append(channel)
    return found


def _iso(amount: str, unit: str, sign: str) -> str:
    n = int(amount) if amount.isdigit() else _WORDS[amount.lower()]
    letter = _ISO[unit.lower().rstrip("s")[:3]]
    time_part = letter in ("H",) or unit.lower().startswith("min")
    return f"{sign}P{'T' if time_part else ''}{n}{letter}"


def extract_timing(text: str) -> list[Timing]:
    """Timing phrases in order of appearance, with an ISO 8601 offset where one is implied."""
    spans: list[tuple[int, Timing]] = []
    taken: list[tuple[int, int]] = []
    for pattern in TIMING_PATTERNS:
        for m in pattern.finditer(text):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            phrase = m.group(0)
            parts = re.match(rf"(?:within\s+|after\s+)?({_NUM})\s+({_UNIT})\s*(\w+)?", phrase,
                             re.I)
            iso = None
            if parts:
                direction = (parts.group(3) or "").lower()
                sign = "-" if direction in ("before", "prior", "ahead") else ""
                iso = _iso(parts.group(1), parts.group(2), sign)
            spans.append((m.start(), Timing(phrase, iso)))
    return [t for _, t in sorted(spans, key=lambda s: s[0])]


def classify_domain(text: str) -> str | None:
    """The business domain with the most keyword hits (ties: the first listed), or None."""
    low = text.lower()
    scores = {d: sum(low.count(k) for k in kws) for d, kws in DOMAIN_KEYWORDS.items()}
    best = max(scores, key=lambda d: scores[d])
    return best if scores[best] else None
