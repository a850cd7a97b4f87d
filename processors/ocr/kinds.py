"""Document kind from keywords: repair order, buyer's order (incl. vehicle sales invoices
and bills of sale), driver licence, insurance card, or other.

Each kind has weighted phrases (titles weigh most); a phrase counts once however often it
appears. The kind with the highest score wins if it reaches MIN_SCORE, else "other"; ties go
to the kind listed first in KINDS.
"""

from __future__ import annotations

import re

KINDS: tuple[str, ...] = ("repair_order", "buyers_order", "drivers_license", "insurance_card",
                          "other")
MIN_SCORE = 3

_KEYWORDS: dict[str, tuple[tuple[str, int], ...]] = {
    "repair_order": (
        (r"repair\s+order", 4), (r"r\.?\s?o\.?\s*(?:no\.?|#)", 3), (r"service\s+advisor", 2),
        (r"advisor", 1), (r"tech(?:nician)?", 1), (r"op\s*code", 2), (r"labor", 1),
        (r"mileage\s+(?:in|out)", 2), (r"customer\s+(?:concern|complaint|states)", 2),
        (r"shop\s+supplies", 1), (r"cause|correction", 1)),
    "buyers_order": (
        (r"buyer'?s\s+order", 4), (r"vehicle\s+(?:sales\s+)?invoice", 4),
        (r"bill\s+of\s+sale", 4), (r"purchase\s+agreement", 4), (r"retail\s+purchase", 3),
        (r"purchaser", 2), (r"buyer", 1), (r"cash\s+price", 2), (r"trade-?in", 2),
        (r"amount\s+financed", 2), (r"deal\s*#", 1), (r"doc(?:ument)?\s+fee", 1),
        (r"title\s+and\s+registration|title\s+fee", 1), (r"invoice", 1)),
    "drivers_license": (
        (r"driver'?s?\s+licen[cs]e", 4), (r"identification\s+card", 1), (r"\bdob\b", 2),
        (r"\bdl\b|\bdln\b", 2), (r"\bexp\b", 1), (r"\biss\b", 1), (r"\bclass\b", 1),
        (r"restr(?:ictions)?\b", 1), (r"\bend(?:orsements)?\b", 1), (r"\bsex\b", 1),
        (r"\bhgt\b|\beyes\b", 1), (r"organ\s+donor|donor", 1)),
    "insurance_card": (
        (r"insurance\s+(?:identification\s+)?card", 4), (r"proof\s+of\s+insurance", 3),
        (r"insurance", 1), (r"policy\s*(?:no\.?|number|#)", 2), (r"policy", 1),
        (r"named\s+insured|insured", 2), (r"naic", 2), (r"effective\s+date|effective", 1),
        (r"claims", 1), (r"agent", 1)),
}
_COMPILED = {kind: tuple((re.compile(rf"(?<![a-z]){p}", re.IGNORECASE), w) for p, w in kws)
             for kind, kws in _KEYWORDS.items()}


def kind_scores(text: str) -> dict[str, int]:
    """Score of every kind (except "other") for `text`."""
    return {kind: sum(w for rx, w in kws if rx.search(text)) for kind, kws in _COMPILED.items()}


def classify(text: str) -> str:
    """The document kind of `text` (one of KINDS)."""
    scores = kind_scores(text)
    best = max(scores.values(), default=0)
    if best < MIN_SCORE:
        return "other"
    return next(kind for kind in KINDS if scores.get(kind) == best)
