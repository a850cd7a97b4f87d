"""Deterministic entity extraction: customer segment, vehicle, conditions, department."""

from __future__ import annotations

import re

MAKES = ("acura", "audi", "bmw", "buick", "cadillac", "chevrolet", "chevy", "chrysler",
         "dodge", "ford", "gmc", "honda", "hyundai", "infiniti", "jeep", "kia", "lexus",
         "lincoln", "mazda", "mercedes", "nissan", "ram", "subaru", "tesla", "toyota",
         "volkswagen", "vw", "volvo")
MODELS = ("f-150", "f150", "silverado", "camry", "corolla", "civic", "accord", "cr-v", "rav4",
          "tacoma", "tahoe", "explorer", "escape", "mustang", "wrangler", "grand cherokee",
          "model 3", "model y", "outback", "forester", "sierra", "highlander", "pilot")
VEHICLE = re.compile(
    r"\b(?:(?:19|20)\d\d\s+)?(?:" + "|".join(re.escape(m) for m in MAKES + MODELS) +
    r")(?:\s+(?:" + "|".join(re.escape(m) for m in MODELS) + r"))?\b"
    r"|\b(?:ev|electric vehicles?|hybrids?|trucks?|suvs?|used cars?|new cars?|"
    r"certified pre-owned|cpo)\b", re.I)
SEGMENT = re.compile(
    r"\b(?:(?:new |internet |web |phone |walk-in |hot |cold |unsold |inactive |lapsed |"
    r"loyal |vip |first-time |repeat |lease |finance |service |fleet |past |existing )?"
    r"(?:customers?|leads?|buyers?|prospects?|owners?|lessees?|clients?|visitors?|"
    r"shoppers?)(?: (?:who|whose|with|that|in|from|of)\b[^,.;]{0,60})?)", re.I)
CONDITION = re.compile(
    r"\b(?:if|unless|when(?:ever)?|once|only if|as long as)\b[^,.;]{3,80}", re.I)
DEPARTMENT = re.compile(
    r"\b(?:service (?:advisor|manager|department)|sales (?:manager|team|rep)|"
    r"bdc|f&i|finance manager|parts (?:counter|manager|department)|salesperson|"
    r"general manager|receptionist)\b", re.I)


def extract_entities(text: str) -> dict[str, str]:
    """Segment, vehicle, conditions (joined by '; ') and staff role, where the text names them."""
    found: dict[str, str] = {}
    if m := SEGMENT.search(text):
        found["customer_segment"] = m.group(0).strip()
    if m := VEHICLE.search(text):
        found["vehicle"] = m.group(0).strip()
    conditions = [c.group(0).strip() for c in CONDITION.finditer(text)]
    if conditions:
        found["conditions"] = "; ".join(conditions)
    if m := DEPARTMENT.search(text):
        found["staff_role"] = m.group(0).strip()
    return found


def split_requirements(text: str) -> list[str]:
    """Functional requirements as the clauses of the request (`and`, `then`, `;`, sentences)."""
    parts = re.split(r"(?:[.;!?]\s+|,?\s+\band then\b\s+|,?\s+\bthen\b\s+|,\s+and\s+|"
                     r"\s+\band\b\s+(?=(?:text|send|e-?mail|call|notify|assign|create|"
                     r"update|log|remind|offer|ask)\b))", text.strip().rstrip(".!"), flags=re.I)
    return [p.strip()[0].upper() + p.strip()[1:] for p in parts if p and len(p.strip()) > 3]
