"""Dealership field extraction: labels (labels.py) + where their values sit (layout.py) +
value parsers (values.py), and a few unlabelled fallbacks.

A label's value is read, in this order, from: the rest of its cell ("RO# 104233"), the next
cell to the right ("TOTAL:      $729.34"), the cell below it (a form box's small label over
its value). The first that parses as the field's value wins.

How each field is chosen when several labels give one:
- total: the strongest label (Grand total / Amount due / Balance due / Total due > Total;
  never Subtotal or Total parts/labor/tax), the LAST such line in the document;
- phone: a customer-specific label (Cell, Home, Mobile, Customer phone) over a bare
  "Phone"; among equals, the first one at or after the customer's name, else the first;
- date: a document-date label (Date in, Invoice date, ISS, Effective) over a bare "Date";
  with neither, the first date on the page not labelled as birth or expiry date;
- mileage: "Mileage in"/"Odometer"/"Mileage" over "Mileage out"/"Miles";
- everything else: the first label (in reading order) whose value parses.
Fallbacks without labels: a 17-character token that is a valid VIN (after repair); on a
driver licence, the street line + city line pair (licences print the address unlabelled);
on an insurance card, the heading line naming an insurer (Insurance/Mutual/Casualty...);
"YEAR MAKE MODEL" with a known make anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from processors.ocr.kinds import classify
from processors.ocr.labels import LabelHit, find_labels, labels_in_cell, starts_with_label
from processors.ocr.layout import Cell, Layout, layout_from_text
from processors.ocr.models import DocumentFields
from processors.ocr.values import (
    NON_NAME_WORDS,
    find_dates,
    parse_address_line,
    parse_city_state_zip,
    parse_date,
    parse_free_text,
    parse_identifier,
    parse_mileage,
    parse_money,
    parse_name,
    parse_phone,
    parse_street,
)
from processors.ocr.vin_repair import repair_vin

MAKES: tuple[str, ...] = (
    "Alfa Romeo", "Land Rover", "Mercedes-Benz", "Acura", "Audi", "BMW", "Buick", "Cadillac",
    "Chevrolet", "Chevy", "Chrysler", "Dodge", "Fiat", "Ford", "Genesis", "GMC", "Honda",
    "Hyundai", "Infiniti", "Jaguar", "Jeep", "Kia", "Lexus", "Lincoln", "Mazda", "Mercedes",
    "Mini", "Mitsubishi", "Nissan", "Polestar", "Porsche", "Ram", "Rivian", "Subaru", "Tesla",
    "Toyota", "Volkswagen", "VW", "Volvo",
)  # fmt: skip
_VEHICLE = re.compile(
    r"(?<![\w])((?:19[89]|20[0-4])\d)\s+("
    + "|".join(re.escape(m).replace(r"\ ", r"\s+") for m in MAKES)
    + r")(?![\w])[\s,]*(.*)", re.IGNORECASE)
_MODEL_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,14}$")
_INSURER_WORDS = re.compile(r"\b(?:insurance|mutual|casualty|indemnity|assurance|"
                            r"underwriters|insurers?)\b", re.IGNORECASE)
_NOT_INSURER = re.compile(r"\b(?:card|identification|proof|policy|insured|claims?)\b",
                          re.IGNORECASE)
_VIN_TOKEN = re.compile(r"^[A-Za-z0-9]{17}$")


@dataclass(frozen=True)
class Found:
    value: str
    rank: int
    row: int
    hit: LabelHit | None = None


@dataclass
class Extraction:
    fields: DocumentFields
    corrections: list[str]


class _Extractor:
    def __init__(self, layout: Layout, kind: str) -> None:
        self.layout = layout
        self.kind = kind
        self.hits = find_labels(layout)
        self.notes: list[str] = []

    # --- where a label's value is -----------------------------------------------------------

    def value_sources(self, hit: LabelHit) -> list[tuple[str, Cell]]:
        """(text, cell it came from) candidates for a label's value, in order."""
        out: list[tuple[str, Cell]] = []
        if hit.tail:
            out.append((hit.tail, hit.cell))
        right = self.layout.right_of(hit.cell)
        if right is not None and not starts_with_label(right) and self._last_label(hit):
            out.append((right.text, right))
        below = self.layout.below(hit.cell)
        if below is not None and not starts_with_label(below):
            out.append((below.text, below))
        return out

    def _last_label(self, hit: LabelHit) -> bool:
        """Only the last label in a cell may take its value from the next cell."""
        return labels_in_cell(hit.cell)[-1].start == hit.start

    def labelled(self, field: str, parse: Callable[[str], str | None]) -> list[Found]:
        found = []
        for hit in self.hits:
            if hit.field != field:
                continue
            for text, cell in self.value_sources(hit):
                value = parse(text)
                if value:
                    found.append(Found(value, hit.spec.rank, cell.row, hit))
                    break
        return found

    @staticmethod
    def first_best(found: list[Found]) -> str | None:
        if not found:
            return None
        top = max(f.rank for f in found)
        return next(f.value for f in found if f.rank == top)

    # --- fields -------------------------------------------------------------------------------

    def vin(self) -> str | None:
        for hit in self.hits:
            if hit.field != "vin":
                continue
            for text, _ in self.value_sources(hit):
                raw = vin_token(text)
                if raw is None:
                    continue
                repair = repair_vin(raw)
                self.notes.extend(repair.notes)
                if repair.vin:
                    return repair.vin
                break
        for cell in self.layout.cells():
            for token in cell.text.split():
                token = token.strip(".,;:()[]|")
                if _VIN_TOKEN.match(token) and sum(c.isdigit() for c in token) >= 4 and \
                        sum(c.isalpha() for c in token) >= 2:
                    repair = repair_vin(token)
                    if repair.vin:
                        self.notes.extend(repair.notes)
                        self.notes.append("vin: found without a VIN label (a valid "
                                          "17-character token)")
                        return repair.vin
        return None

    def customer_name(self) -> str | None:
        name = self.first_best(self.labelled("customer_name", parse_name))
        if name:
            return name
        last = self.first_best(self.labelled("_last_name", lambda t: parse_name(t, 1, 2)))
        first = self.first_best(self.labelled("_first_name", lambda t: parse_name(t, 1, 3)))
        if last and first:
            return f"{first} {last}"
        return None

    def phone(self, name_row: int | None) -> str | None:
        found = self.labelled("phone", parse_phone)
        if not found:
            return None
        top = max(f.rank for f in found)
        best = [f for f in found if f.rank == top]
        if name_row is not None:
            after = [f for f in best if f.row >= name_row]
            best = after or best
        return best[0].value

    def name_row(self) -> int | None:
        rows = [f.row for f in self.labelled("customer_name", parse_name)]
        return min(rows) if rows else None

    def address(self) -> str | None:
        for hit in self.hits:
            if hit.field != "address":
                continue
            for text, cell in self.value_sources(hit):
                value, complete = parse_address_line(text)
                if value is None:
                    continue
                if complete:
                    return value
                city = self._city_line_near(cell)
                return f"{value}, {city}" if city else value
        if self.kind == "drivers_license":
            for cell in self.layout.cells():
                street = parse_street(cell.text)
                if street and not labels_in_cell(cell):
                    city = self._city_line_near(cell)
                    if city:
                        return f"{street}, {city}"
        return None

    def _city_line_near(self, cell: Cell) -> str | None:
        right = self.layout.right_of(cell)
        for candidate in (self.layout.below(cell), right):
            if candidate is not None:
                city = parse_city_state_zip(candidate.text)
                if city:
                    return city
        return None

    def total(self) -> str | None:
        found = self.labelled("total", parse_money)
        if not found:
            return None
        top = max(f.rank for f in found)
        return [f for f in found if f.rank == top][-1].value

    def date(self) -> str | None:
        value = self.first_best(self.labelled("date", parse_date))
        if value:
            return value
        skip = {"date_of_birth", "ignore"}
        for cell in self.layout.cells():
            hits = labels_in_cell(cell)
            if any(h.field in skip for h in hits):
                continue
            dates = find_dates(cell.text)
            if dates:
                return dates[0]
        return None

    def insurer(self) -> str | None:
        value = self.first_best(self.labelled("insurer", parse_free_text))
        if value or self.kind != "insurance_card":
            return value
        for row in self.layout.rows[:6]:
            for cell in row.cells:
                if _INSURER_WORDS.search(cell.text) and not _NOT_INSURER.search(cell.text):
                    return parse_free_text(cell.text)
        return None

    def vehicle(self) -> str | None:
        value = self.first_best(self.labelled("vehicle", parse_vehicle))
        if value:
            return value
        year = self.first_best(self.labelled("_year", _year_only))
        make = self.first_best(self.labelled("_make", _make_only))
        model = self.first_best(self.labelled("_model", _model_words))
        if year and make and model:
            return f"{year} {make} {model}"
        if self.kind in ("drivers_license",):
            return None
        for cell in self.layout.cells():
            value = parse_vehicle(cell.text, anchored=False)
            if value:
                return value
        return None

    def extract(self) -> Extraction:
        name = self.customer_name()
        fields = DocumentFields(
            vin=self.vin(),
            customer_name=name,
            phone=self.phone(self.name_row()),
            address=self.address(),
            ro_number=self.first_best(self.labelled(
                "ro_number", lambda t: parse_identifier(t, min_len=4, max_len=12, min_digits=4,
                                                        numeric=True))),
            stock_number=self.first_best(self.labelled(
                "stock_number", lambda t: parse_identifier(t, min_len=3, max_len=12,
                                                           min_digits=2))),
            mileage=self.first_best(self.labelled("mileage", parse_mileage)),
            total=self.total(),
            date=self.date(),
            license_number=self.first_best(self.labelled("license_number", parse_license)),
            date_of_birth=self.first_best(self.labelled(
                "date_of_birth", lambda t: parse_date(t, birth=True))),
            policy_number=self.first_best(self.labelled(
                "policy_number", lambda t: parse_identifier(t, min_len=5, max_len=25,
                                                            min_digits=3))),
            insurer=self.insurer(),
            vehicle=self.vehicle(),
        )
        return Extraction(fields, self.notes)


# --- parsers only this module needs -----------------------------------------------------------


def vin_token(text: str) -> str | None:
    """The VIN-shaped text at the start of `text`: one 17-character token, or 2-3 tokens
    (OCR split a VIN) that join to exactly 17 letters/digits; None if there is none."""
    tokens = [t.strip(".,;:()[]|") for t in text.split()]
    joined = ""
    for t in tokens[:3]:
        if not t.isalnum():
            break
        joined += t
        if len(joined) >= 17:
            break
    return joined if len(joined) == 17 else None


def parse_license(text: str) -> str | None:
    """A licence number, skipping a leading two-letter state ("TX 12345678")."""
    parts = text.split()
    if len(parts) > 1 and len(parts[0]) == 2 and parts[0].isalpha() and parts[0].isupper():
        text = " ".join(parts[1:])
    return parse_identifier(text, min_len=5, max_len=20, min_digits=4)


def parse_vehicle(text: str, anchored: bool = True) -> str | None:
    """`year make model` as printed (model: up to two words) from text holding a model
    year and a known make; `anchored`: the year must start the text."""
    m = _VEHICLE.search(text)
    if not m or (anchored and text[: m.start()].strip(" :#.-")):
        return None
    words = _model_words(m.group(3))
    return f"{m.group(1)} {' '.join(m.group(2).split())} {words}" if words else None


def _model_words(text: str) -> str | None:
    words = []
    for tok in text.split()[:2]:
        t = tok.strip(",;")
        if not _MODEL_TOKEN.match(t) or t.lower() in NON_NAME_WORDS or \
                (len(t) >= 8 and any(c.isdigit() for c in t)):
            break
        words.append(t)
    return " ".join(words) or None


def _year_only(text: str) -> str | None:
    m = re.match(r"^[\s:#.]*((?:19[89]|20[0-4])\d)(?!\d)", text)
    return m.group(1) if m else None


_MAKE_AT_START = re.compile(
    r"^[\s:#.]*(" + "|".join(re.escape(m).replace(r"\ ", r"\s+") for m in MAKES)
    + r")(?![\w])", re.IGNORECASE)


def _make_only(text: str) -> str | None:
    m = _MAKE_AT_START.match(text)
    return " ".join(m.group(1).split()) if m else None


# --- entry points --------------------------------------------------------------------------


def extract_fields(layout: Layout, kind: str) -> Extraction:
    """Fields of a document whose layout is `layout` and kind is `kind` (kinds.KINDS)."""
    return _Extractor(layout, kind).extract()


def extract_fields_from_text(text: str, kind: str | None = None) -> Extraction:
    """Fields from plain text (cells split at 2+ spaces); the kind is classified from the
    text unless given."""
    return extract_fields(layout_from_text(text), kind or classify(text))
