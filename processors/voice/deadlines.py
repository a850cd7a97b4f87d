"""Deterministic resolution of spoken deadline phrases to ISO dates, relative to the call.

`resolve_deadline("by Friday", call_time)` -> date. The same phrase and call time always give
the same date (dateparser with RELATIVE_BASE = the call time, future dates preferred), never
the machine's clock. Conventions (documented because speech is vague):

- a time of day is dropped ("Tuesday at nine", "tomorrow morning"): the deadline is a date;
- "tonight", "this afternoon/morning/evening", "end of (the) day", "later today" -> the call
  date; "as soon as possible", "right away", "asap" -> the call date;
- a bare weekday is the next such day after the call date ("Friday" said on a Wednesday is
  two days later; said on a Friday, a week later); "next <weekday>" is the same date;
- "end of the week" / "this week" -> the Friday of the call's week (the next Friday when the
  call is on a weekend); "next week" / "end of next week" -> the Friday after that;
- "end of the month" -> the month's last day; "next month" -> the first of next month;
- number words and "a couple of" / "a few" (2 / 3) are understood in "in N days/weeks".
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta

import dateparser

FRIDAY = 4
_PREPOSITIONS = re.compile(
    r"^(?:(?:no later than|at the latest|sometime|some time|by|before|until|till|on|for|"
    r"within|in|during|over|around|about|after|from|come|first thing)\s+)+")
_HOUR = (r"(?:\d{1,2}(?::\d{2})?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|"
         r"twelve)(?:\s+(?:thirty|fifteen|forty[- ]five))?")
_AMPM = r"(?:a\.?m\.?|p\.?m\.?|o'?clock)"
#: "at nine", "at 9:30 am", "5 pm", "at noon": needs "at" or am/pm/o'clock, so "March 20" stays
_TIME_OF_DAY = re.compile(
    rf"\s*(?:\bat\s+(?:{_HOUR}(?:\s*{_AMPM})?|noon|midday)|\b{_HOUR}\s*{_AMPM})\s*$")
_PART_OF_DAY = re.compile(r"\s*\b(?:in the\s+)?(?:morning|afternoon|evening|night|noon)\b\s*$")
_TODAY = re.compile(
    r"^(?:today|tonight|(?:at )?(?:noon|midday)|this (?:morning|afternoon|evening)|"
    r"(?:the )?end of (?:the )?day|later today|right away|right now|asap|"
    r"as soon as possible|immediately|eod|close of business|(?:the )?end of business)$")
_COUNTS = {"a couple of": "2", "a couple": "2", "couple of": "2", "a few": "3", "a": "1",
           "an": "1"}
_SETTINGS = {"PREFER_DATES_FROM": "future", "RETURN_AS_TIMEZONE_AWARE": False,
             "STRICT_PARSING": False, "PARSERS": ["relative-time", "absolute-time"]}
_WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}


def _clean(phrase: str) -> str:
    text = re.sub(r"[^\w\s':]", " ", phrase.lower())
    text = re.sub(r"\s+", " ", text).strip()
    text = _PREPOSITIONS.sub("", text)
    text = re.sub(r"^(?:the|this coming|coming)\s+", lambda m: "" if m.group(0).startswith(
        "the") else "", text)
    for _ in range(2):  # "tuesday at nine in the morning"
        if _TODAY.match(text):
            break
        stripped = _TIME_OF_DAY.sub("", _PART_OF_DAY.sub("", text)).strip()
        text = stripped or text
    return text


def _next_weekday(base: date, weekday: int) -> date:
    return base + timedelta(days=(weekday - base.weekday() - 1) % 7 + 1)


def _friday_of_week(base: date) -> date:
    return base + timedelta(days=FRIDAY - base.weekday()) if base.weekday() <= FRIDAY \
        else _next_weekday(base, FRIDAY)


def resolve_deadline(phrase: str, call_time: datetime) -> date | None:
    """The date `phrase` means when said at `call_time`; None when it names no date, or a
    date before the call (a deadline is never in the past)."""
    day = _resolve(phrase, call_time)
    return day if day is not None and day >= call_time.date() else None


def _resolve(phrase: str, call_time: datetime) -> date | None:
    base = call_time.replace(tzinfo=None)
    today = base.date()
    text = _clean(phrase)
    if not text or re.fullmatch(_HOUR, text):  # a bare number is not a date
        return None
    if _TODAY.match(text) or text in {"morning", "afternoon", "evening", "night", "noon"}:
        return today
    if text in {"tomorrow", "tomorrow morning", "tomorrow afternoon", "tomorrow night"}:
        return today + timedelta(days=1)
    m = re.fullmatch(r"(?:next\s+|this\s+)?(\w+day)", text)
    if m and m.group(1) in _WEEKDAYS:
        return _next_weekday(today, _WEEKDAYS[m.group(1)])
    if re.fullmatch(r"(?:end of )?(?:the )?(?:this )?(?:work ?)?week(?:end)?|end of (?:the )?"
                    r"week", text):
        return _friday_of_week(today) if "weekend" not in text else \
            _next_weekday(today, 5)
    if re.fullmatch(r"(?:end of )?(?:the )?next week", text):
        return _friday_of_week(today) + timedelta(days=7)
    if re.fullmatch(r"(?:end of )?(?:the )?(?:this )?month", text):
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
    if text == "next month":
        return (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    for words, digits in _COUNTS.items():
        text = re.sub(rf"^{words}\s+(?=(?:day|week|month|hour|business day)s?\b)",
                      f"{digits} ", text)
    if re.fullmatch(r"\w+ (?:days?|weeks?|months?|hours?|business days?)", text):
        text = f"in {text}"
    parsed = dateparser.parse(text, languages=["en"],
                              settings={**_SETTINGS, "RELATIVE_BASE": base})
    return parsed.date() if parsed else None
