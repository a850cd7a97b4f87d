"""Field labels as printed on dealership paper, and finding them in a layout.

A label names the field its value belongs to ("RO#", "Mileage In:", "DOB"). Labels named
`_...` are parts combined later (first/last name, year/make/model); `ignore` labels are
never extracted but end the value of the label before them ("Advisor:", "NAIC #").

Invariants:
- patterns match whole words only (no letter/digit on either side);
- at one position the FIRST pattern in LABELS that matches wins, so longer phrases are
  listed before their prefixes ("Date of Birth" before "Date");
- a weak label (a common word such as "Name", "Date", "Company") counts only at the start
  of its cell or when followed by ':' or '#'; strong labels count anywhere;
- a label's tail (its same-cell value text) ends where the next label in the cell starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from processors.ocr.layout import Cell, Layout


@dataclass(frozen=True)
class LabelSpec:
    field: str
    pattern: str
    strong: bool = True
    rank: int = 1  # higher ranks win over lower ones for the same field


_ID = r"\s*(?:no\.?|number|num\.?|#)"

LABELS: tuple[LabelSpec, ...] = (
    # stop words first where they contain a field label
    LabelSpec("ignore", r"co-?buyer'?s?(?:\s+name)?|co-?applicant"),
    LabelSpec("ignore", r"e-?mail(?:\s+address)?"),
    LabelSpec("ignore", r"total\s+(?:parts|labor|tax|taxes|sublet|hours|fees)"),
    LabelSpec("ignore", r"sub\s*-?\s*total"),
    LabelSpec("date_of_birth", r"date\s+of\s+birth|birth\s*date|d\.?\s?o\.?\s?b\.?"),
    LabelSpec("ignore", r"exp(?:iration)?\.?\s+date|expir(?:es|ation)|exp\.?"),
    LabelSpec("vin", r"vehicle\s+identification\s+(?:number|no\.?)|v\.?\s?i\.?\s?n\.?"
                     rf"(?:{_ID})?"),
    LabelSpec("vehicle", r"(?:year|yr\.?)\s*/?\s*make\s*/?\s*model|vehicle\s+description"),
    LabelSpec("ro_number", rf"repair\s+order{_ID}|r\.?\s?o\.?{_ID}|ro\s+(?=\d)", rank=2),
    LabelSpec("ro_number", r"repair\s+order"),
    LabelSpec("stock_number", rf"stock{_ID}|stk\.?(?:{_ID})?|stock"),
    LabelSpec("customer_name", r"(?:customer|cust\.?|buyer'?s?|purchaser'?s?|owner'?s?)\s+"
                               r"name|named\s+insured|insured\s+name|customer|purchaser|"
                               r"buyer(?!'?s\s+order)|insured(?!\s+by)|owner"),
    LabelSpec("customer_name", r"name", strong=False),
    LabelSpec("_last_name", r"last\s+name|surname"),
    LabelSpec("_first_name", r"first\s+name|given\s+names?"),
    LabelSpec("_last_name", r"ln", strong=False),
    LabelSpec("_first_name", r"fn", strong=False),
    LabelSpec("phone", r"(?:home|cell|mobile|customer|contact|evening|day|work|business)\s*"
                       rf"(?:phone|ph\.?|tel\.?)(?:{_ID})?", rank=2),
    LabelSpec("phone", r"cell|mobile|home", strong=False, rank=2),
    LabelSpec("phone", rf"phone(?:{_ID})?|telephone"),
    LabelSpec("phone", r"tel\.?|ph\.?", strong=False),
    LabelSpec("address", r"(?:customer|home|street|mailing|billing|residence)\s+address|"
                         r"address|addr\.?"),
    LabelSpec("mileage", r"mileage\s+in|miles\s+in|odometer(?:\s+reading)?|mileage|odo\.?",
              rank=2),
    LabelSpec("mileage", r"mileage\s+out|miles", strong=False),
    LabelSpec("total", r"grand\s+total|total\s+amount\s+due|total\s+due|amount\s+due|"
                       r"balance\s+due|total\s+amount|invoice\s+total|total\s+price|"
                       r"total\s+sale(?:\s+price)?", rank=3),
    LabelSpec("total", r"total", rank=2),
    LabelSpec("date", r"date\s+in|date\s+opened|open(?:ed)?\s+date|r\.?o\.?\s+date|"
                      r"invoice\s+date|sale\s+date|date\s+of\s+sale|delivery\s+date|"
                      r"issue\s+date|date\s+issued|issued|iss|effective\s+date|"
                      r"eff\.?\s+date|effective", rank=2),
    LabelSpec("date", r"date", strong=False),
    LabelSpec("license_number", rf"driver'?s?\s+licen[cs]e(?:{_ID})?|dl{_ID}|dln|"
                                rf"licen[cs]e{_ID}|lic\.?{_ID}"),
    LabelSpec("license_number", r"dl(?=\s*[#:]?\s*\d)"),
    LabelSpec("license_number", r"dl", strong=False),
    LabelSpec("policy_number", rf"policy{_ID}|policy"),
    LabelSpec("insurer", r"insurer|insurance\s+(?:company|co\.?|carrier)|carrier|company|"
                         r"underwritten\s+by|insured\s+by", strong=False),
    LabelSpec("vehicle", r"vehicle|veh\.", rank=1),
    LabelSpec("_year", r"year|yr\.?", strong=False),
    LabelSpec("_make", r"make", strong=False),
    LabelSpec("_model", r"model", strong=False),
    LabelSpec("ignore", r"naic(?:\s*#)?|deal\s*#?|advisor|tech(?:nician)?|tag|class|sex|"
                        r"hgt|height|eyes|agent|color|fax|parts|labor|tax|shop\s+supplies",
              strong=False),
)

_COMBINED = re.compile(
    "|".join(f"(?P<L{i}>(?<![A-Za-z0-9])(?:{spec.pattern})(?![A-Za-z0-9]))"
             for i, spec in enumerate(LABELS)),
    re.IGNORECASE)
_SEPARATOR = re.compile(r"[ \t]*[:#]")


@dataclass(frozen=True)
class LabelHit:
    spec: LabelSpec
    cell: Cell
    start: int
    end: int  # after the label and its separator (":", "#")
    tail: str  # text after the label up to the next label in the cell

    @property
    def field(self) -> str:
        return self.spec.field


def labels_in_cell(cell: Cell) -> list[LabelHit]:
    """The labels in one cell, left to right, with their tails."""
    found: list[tuple[LabelSpec, int, int]] = []
    text = cell.text
    for m in _COMBINED.finditer(text):
        spec = LABELS[int(m.lastgroup[1:])] if m.lastgroup else None
        if spec is None:
            continue
        end = m.end()
        sep = _SEPARATOR.match(text, end)
        if sep:
            end = sep.end()
        at_start = not any(ch.isalnum() for ch in text[: m.start()])
        if not spec.strong and not (at_start or sep):
            continue
        found.append((spec, m.start(), end))
    hits = []
    for i, (spec, start, end) in enumerate(found):
        stop = found[i + 1][1] if i + 1 < len(found) else len(text)
        hits.append(LabelHit(spec, cell, start, end, text[end:stop].strip()))
    return hits


def find_labels(layout: Layout) -> list[LabelHit]:
    """Every label in reading order."""
    return [hit for cell in layout.cells() for hit in labels_in_cell(cell)]


def starts_with_label(cell: Cell) -> bool:
    hits = labels_in_cell(cell)
    return bool(hits) and not any(ch.isalnum() for ch in cell.text[: hits[0].start])
