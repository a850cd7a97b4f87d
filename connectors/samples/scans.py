"""Synthetic dealership scans drawn with Pillow, with KNOWN field values.

Four document kinds — repair orders, buyer's orders (vehicle sales invoices), driver
licences and insurance cards — are laid out the way dealership paper usually is: a dealer
header (whose address and phone are NOT the customer's), labels with their value to the
right or in the form box below, two-column blocks, line items and totals. Every value comes
from a seeded `random.Random`, so a seed always yields the same document, and the
`expected` dict holds what the OCR field extractor should return for it, already in the
extractor's normal forms (phone `(512) 555-0143`, dates `YYYY-MM-DD`, mileage digits only,
totals `1234.56`, VINs with a valid check digit; fields a document does not show are None).

`distort` adds what scanners and phone photos add: a small rotation, Gaussian blur,
noise and JPEG artefacts. `make_scan` renders one document and encodes it (PNG, JPEG,
TIFF or a multi-page PDF); `corpus` builds a mixed set across kinds and distortions.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from schemas.vin import VIN_ALPHABET, with_check_digit

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FIELD_NAMES: tuple[str, ...] = (
    "vin", "customer_name", "phone", "address", "ro_number", "stock_number", "mileage",
    "total", "date", "license_number", "date_of_birth", "policy_number", "insurer", "vehicle",
)  # fmt: skip
KINDS: tuple[str, ...] = ("repair_order", "buyers_order", "drivers_license", "insurance_card")

FIRST = ("James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer",
         "Carlos", "Aisha", "Kevin", "Sofia", "Daniel", "Emily", "Marcus", "Hannah", "Luis",
         "Grace", "Anthony", "Olivia", "Trevor", "Monica", "Victor", "Denise")
LAST = ("Johnson", "Garcia", "Martinez", "Nguyen", "Patel", "Robinson", "Walker", "Hernandez",
        "Thompson", "Lopez", "Kowalski", "Sullivan", "Bennett", "Ramirez", "Coleman", "Fischer",
        "Delgado", "Whitaker", "Brooks", "Castillo", "Harper", "Jensen")
STREETS = ("Oak Ridge Dr", "Maple Ave", "Cedar Ln", "Lakeview Blvd", "Sunset Rd",
           "Pine Hollow Ct", "Elm St", "Riverside Pkwy", "Mesa Verde Way", "Brookstone Trl",
           "Granite Hill Rd", "Willow Bend Dr")
CITIES = (("Austin", "TX", "787", "512"), ("Round Rock", "TX", "786", "512"),
          ("Denver", "CO", "802", "303"), ("Phoenix", "AZ", "850", "602"),
          ("Columbus", "OH", "432", "614"), ("Nashville", "TN", "372", "615"),
          ("Tampa", "FL", "336", "813"), ("Raleigh", "NC", "276", "919"))
MODELS: dict[str, tuple[str, ...]] = {
    "Honda": ("Accord", "Civic", "CR-V", "Pilot"), "Toyota": ("Camry", "Corolla", "RAV4"),
    "Ford": ("F-150", "Escape", "Explorer"), "Chevrolet": ("Silverado", "Equinox", "Malibu"),
    "Nissan": ("Altima", "Rogue", "Sentra"), "Hyundai": ("Elantra", "Tucson", "Sonata"),
    "Subaru": ("Outback", "Forester"), "Jeep": ("Wrangler", "Cherokee"),
}
WMI = {"Honda": "1HG", "Toyota": "4T1", "Ford": "1FM", "Chevrolet": "1G1", "Nissan": "1N4",
       "Hyundai": "5NP", "Subaru": "4S4", "Jeep": "1C4"}
YEAR_CODES = {2015: "F", 2016: "G", 2017: "H", 2018: "J", 2019: "K", 2020: "L", 2021: "M",
              2022: "N", 2023: "P", 2024: "R"}
DEALERS = (("HILL COUNTRY MOTORS", "1201 Research Blvd", "Austin", "TX", "78759", "5125550100"),
           ("CAPITOL CITY AUTO GROUP", "8800 Burnet Rd", "Austin", "TX", "78757", "5125550188"),
           ("LAKESIDE FORD", "450 Lake Shore Dr", "Tampa", "FL", "33602", "8135550123"),
           ("SUMMIT CHEVROLET", "2300 Peak View Pkwy", "Denver", "CO", "80216", "3035550177"))
INSURERS = ("LONE STAR MUTUAL INSURANCE COMPANY", "Great Plains Casualty Insurance Co",
            "Harbor Point Auto Insurance", "REDWOOD INDEMNITY INSURANCE COMPANY")
LABOR = (("LOF", "Oil and filter change", 0.5), ("ROT", "Tire rotation and balance", 0.8),
         ("BRK", "Replace front brake pads and rotors", 2.1), ("ALN", "Four wheel alignment", 1.0),
         ("BAT", "Battery test and replace", 0.4), ("DIAG", "Check engine light diagnosis", 1.0),
         ("CAB", "Replace cabin air filter", 0.3), ("WIP", "Replace wiper blades", 0.2),
         ("COOL", "Coolant flush", 1.2), ("TRN", "Transmission fluid service", 1.5))
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@lru_cache(maxsize=64)
def font(size: int, style: str = "sans") -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu at `size` px (style: sans, bold, mono, monobold, serif); Pillow's default font
    at that size if the TTF is missing."""
    name = {"sans": "DejaVuSans.ttf", "bold": "DejaVuSans-Bold.ttf",
            "mono": "DejaVuSansMono.ttf", "monobold": "DejaVuSansMono-Bold.ttf",
            "serif": "DejaVuSerif.ttf"}[style]
    path = FONT_DIR / name
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size=size)


# --- the people, vehicles and values on a document -------------------------------------


@dataclass(frozen=True)
class Person:
    first: str
    last: str
    street: str
    city: str
    state: str
    zip_code: str
    phone: str  # 10 digits
    dob: date
    license_number: str

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def city_line(self) -> str:
        return f"{self.city}, {self.state} {self.zip_code}"

    @property
    def address(self) -> str:
        return f"{self.street}, {self.city_line}"


@dataclass(frozen=True)
class Vehicle:
    year: int
    make: str
    model: str
    vin: str
    mileage: int
    stock: str

    @property
    def ymm(self) -> str:
        return f"{self.year} {self.make} {self.model}"


def make_vin(rng: random.Random, make: str, year: int) -> str:
    """A 17-character VIN with a valid check digit; its VDS favours characters OCR confuses
    (S/5, B/8, Z/2, G/6) so the check-digit correction gets exercised."""
    alphabet = sorted(VIN_ALPHABET)
    tricky = list("SB8Z25G6")
    vds = "".join(rng.choice(tricky if rng.random() < 0.4 else alphabet) for _ in range(5))
    plant = rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ")
    serial = f"{rng.randrange(10**6):06d}"
    return with_check_digit(WMI[make] + vds + "0" + YEAR_CODES[year] + plant + serial)


def make_person(rng: random.Random) -> Person:
    city, state, zip3, area = rng.choice(CITIES)
    return Person(
        first=rng.choice(FIRST), last=rng.choice(LAST),
        street=f"{rng.randrange(100, 9900)} {rng.choice(STREETS)}",
        city=city, state=state, zip_code=f"{zip3}{rng.randrange(100):02d}",
        phone=f"{area}5550{rng.randrange(100, 200)}"[:10],
        dob=date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 53)),
        license_number=f"{rng.randrange(10**7, 10**8)}",
    )


def make_vehicle(rng: random.Random) -> Vehicle:
    make = rng.choice(sorted(MODELS))
    year = rng.choice(sorted(YEAR_CODES))
    return Vehicle(year=year, make=make, model=rng.choice(MODELS[make]),
                   vin=make_vin(rng, make, year), mileage=rng.randrange(1200, 160000),
                   stock=f"{rng.choice('UPN')}{rng.randrange(1000, 99999)}")


def fmt_phone(digits: str, style: int) -> str:
    a, b, c = digits[:3], digits[3:6], digits[6:]
    return (f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}")[style % 3]


def fmt_date(d: date, style: int) -> str:
    return (d.strftime("%m/%d/%Y"), d.isoformat(), f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
            d.strftime("%m-%d-%Y"))[style % 4]


def fmt_miles(miles: int, rng: random.Random) -> str:
    return f"{miles:,}" if rng.random() < 0.6 else str(miles)


def money(x: float) -> str:
    return f"{x:,.2f}"


def some_date(rng: random.Random) -> date:
    return date(2023, 1, 1) + timedelta(days=rng.randrange(0, 900))


def empty_expected() -> dict[str, str | None]:
    return dict.fromkeys(FIELD_NAMES)


# --- drawing -------------------------------------------------------------------------------


class Sheet:
    """A white page at `dpi` where positions are given in 300-dpi pixels."""

    def __init__(self, width_in: float, height_in: float, dpi: int = 300,
                 background: int | tuple[int, int, int] = 255) -> None:
        self.scale = dpi / 300
        mode = "L" if isinstance(background, int) else "RGB"
        self.image = Image.new(mode, (round(width_in * dpi), round(height_in * dpi)), background)
        self.draw = ImageDraw.Draw(self.image)

    def px(self, v: float) -> int:
        return round(v * self.scale)

    def text(self, x: float, y: float, s: str, size: int = 36, style: str = "sans",
             fill: int | tuple[int, int, int] = 0) -> None:
        self.draw.text((self.px(x), self.px(y)), s, font=font(self.px(size), style), fill=fill)

    def right(self, x_right: float, y: float, s: str, size: int = 36,
              style: str = "sans") -> None:
        f = font(self.px(size), style)
        w = self.draw.textlength(s, font=f)
        self.draw.text((self.px(x_right) - w, self.px(y)), s, font=f, fill=0)

    def line(self, x0: float, y0: float, x1: float, y1: float, width: int = 3,
             fill: int | tuple[int, int, int] = 0) -> None:
        self.draw.line([(self.px(x0), self.px(y0)), (self.px(x1), self.px(y1))], fill=fill,
                       width=max(1, self.px(width)))

    def box(self, x0: float, y0: float, x1: float, y1: float, width: int = 2,
            fill: int | tuple[int, int, int] | None = None,
            outline: int | tuple[int, int, int] | None = 0) -> None:
        self.draw.rectangle([self.px(x0), self.px(y0), self.px(x1), self.px(y1)], fill=fill,
                            outline=outline, width=max(1, self.px(width)))

    def labelled(self, x: float, y: float, label: str, value: str, below: bool,
                 size: int = 36, style: str = "sans", box_w: float = 1000) -> None:
        """`label` with `value` to its right, or (below=True) a form box: small label on
        top, value under it."""
        if below:
            self.box(x - 12, y - 16, x + box_w, y + 2.6 * size, width=2)
            self.text(x, y, label.rstrip(":#").strip(), size=int(size * 0.62), style="bold")
            self.text(x, y + size * 0.95, value, size=size, style=style)
        else:
            self.text(x, y, f"{label} {value}", size=size, style=style)


def dealer_header(sheet: Sheet, dealer: tuple[str, ...], title: str, rng: random.Random) -> None:
    name, street, city, state, zip_code, phone = dealer
    sheet.text(150, 140, name, size=64, style="bold")
    sheet.text(150, 225, f"{street}, {city}, {state} {zip_code}", size=34)
    sheet.text(150, 272, f"Service & Sales {fmt_phone(phone, rng.randrange(3))}", size=34)
    sheet.right(2400, 150, title, size=56, style="bold")
    sheet.line(150, 340, 2400, 340, width=5)


# --- document kinds --------------------------------------------------------------------------


@dataclass
class Document:
    kind: str
    pages: list[Image.Image]
    expected: dict[str, str | None]


def repair_order(rng: random.Random, pages: int = 1) -> Document:
    """A dealership service repair order; `pages=2` moves line items and totals to page 2."""
    person, car = make_person(rng), make_vehicle(rng)
    dealer = rng.choice(DEALERS)
    ro = str(rng.randrange(100000, 999999))
    opened = some_date(rng)
    mono = rng.random() < 0.5
    style = "mono" if mono else "sans"
    below = rng.random() < 0.35
    show_stock = rng.random() < 0.5
    exp = empty_expected()
    sheet = Sheet(8.5, 11)
    dealer_header(sheet, dealer, "REPAIR ORDER", rng)
    sheet.right(2400, 225, f"{rng.choice(['RO#', 'RO #', 'R.O. No.'])} {ro}", size=44,
                style="bold")
    sheet.right(2400, 285, f"Date: {fmt_date(opened, rng.randrange(4))}", size=36)
    y = 420
    phone_label = rng.choice(["Phone:", "Cell:", "Home Phone:"])
    name_label = rng.choice(["Customer:", "Customer Name:", "Name:"])
    if below:
        sheet.labelled(150, y, name_label, person.name, True, style=style)
        sheet.labelled(1300, y, phone_label, fmt_phone(person.phone, rng.randrange(3)), True,
                       style=style)
        y += 140
        sheet.labelled(150, y, "Address:", person.street, True, style=style, box_w=2250)
        sheet.box(138, y + 86, 2400, y + 140, width=2, outline=None, fill=255)
        sheet.text(150, y + 80, person.city_line, size=36, style=style)
        sheet.box(138, y - 16, 2400, y + 136, width=2)
        y += 180
        sheet.labelled(150, y, "Vehicle:", car.ymm, True, style=style)
        sheet.labelled(1300, y, "VIN:", car.vin, True, style="mono", box_w=1100)
        y += 140
        sheet.labelled(150, y, "Mileage In:", fmt_miles(car.mileage, rng), True, style=style)
        if show_stock:
            sheet.labelled(1300, y, "Stock #:", car.stock, True, style=style)
        y += 160
    else:
        sheet.text(150, y, f"{name_label} {person.name}", style=style)
        sheet.text(1300, y, f"{phone_label} {fmt_phone(person.phone, rng.randrange(3))}",
                   style=style)
        y += 60
        sheet.text(150, y, f"Address: {person.street}", style=style)
        indent = sheet.draw.textlength("Address: ", font=font(sheet.px(36), style))
        sheet.text(150 + indent / sheet.scale, y + 50, person.city_line, style=style)
        y += 130
        sheet.text(150, y, f"Vehicle: {car.ymm}", style=style)
        sheet.text(1300, y, f"VIN: {car.vin}", style="mono")
        y += 60
        sheet.text(150, y, f"Mileage In: {fmt_miles(car.mileage, rng)}", style=style)
        if show_stock:
            sheet.text(1300, y, f"{rng.choice(['STK#', 'Stock #:', 'Stock No.'])} {car.stock}",
                       style=style)
        y += 90
    sheet.text(150, y, f"Advisor: {rng.choice(FIRST)}   Tech: {rng.randrange(10, 99)}   "
                       f"Tag: {rng.randrange(100, 999)}", size=32, style=style)
    y += 70
    sheet.line(150, y, 2400, y, width=4)
    first_page = sheet
    if pages == 2:
        sheet.text(150, 3100, "Continued on page 2", size=30)
        sheet = Sheet(8.5, 11)
        sheet.text(150, 140, f"{dealer[0]}  REPAIR ORDER {ro}  page 2", size=36, style="bold")
        y = 260
    y += 30
    sheet.text(150, y, "LINE  OPCODE  DESCRIPTION", size=32, style="bold")
    sheet.right(1950, y, "HOURS", size=32, style="bold")
    sheet.right(2400, y, "AMOUNT", size=32, style="bold")
    y += 60
    labor_total = parts_total = 0.0
    for i, (code, desc, hours) in enumerate(rng.sample(LABOR, rng.randrange(3, 6))):
        rate = rng.choice([129.0, 149.0, 165.0])
        parts = round(rng.uniform(0, 240), 2) if rng.random() < 0.7 else 0.0
        labor = round(hours * rate, 2)
        labor_total += labor
        parts_total += parts
        sheet.text(150, y, f"{chr(65 + i)}     {code:<6}  {desc}", size=32, style=style)
        sheet.right(1950, y, f"{hours:.1f}", size=32, style=style)
        sheet.right(2400, y, money(labor + parts), size=32, style=style)
        y += 52
    y += 40
    sheet.line(1500, y, 2400, y, width=3)
    y += 30
    sub = round(labor_total + parts_total, 2)
    tax = round(parts_total * 0.0825, 2)
    shop = round(min(labor_total * 0.05, 45.0), 2)
    total = round(sub + tax + shop, 2)
    for label, value in (("Labor:", labor_total), ("Parts:", parts_total), ("Subtotal:", sub),
                         ("Shop Supplies:", shop), ("Tax:", tax)):
        sheet.text(1500, y, label, size=34, style=style)
        sheet.right(2400, y, money(value), size=34, style=style)
        y += 52
    total_label = rng.choice(["TOTAL:", "Total Due:", "Amount Due:", "Grand Total:"])
    sheet.text(1500, y + 10, total_label, size=40, style="bold")
    sheet.right(2400, y + 10, f"${money(total)}", size=40, style="bold")
    sheet.text(150, y + 200, "Customer signature ______________________", size=32)
    exp.update(vin=car.vin, customer_name=person.name, phone=_expected_phone(person.phone),
               address=person.address, ro_number=ro, mileage=str(car.mileage),
               total=f"{total:.2f}", date=opened.isoformat(), vehicle=car.ymm,
               stock_number=car.stock if show_stock else None)
    pages_out = [first_page.image] if pages == 1 else [first_page.image, sheet.image]
    return Document("repair_order", pages_out, exp)


def buyers_order(rng: random.Random) -> Document:
    """A vehicle buyer's order / sales invoice."""
    person, car = make_person(rng), make_vehicle(rng)
    dealer = rng.choice(DEALERS)
    sold = some_date(rng)
    exp = empty_expected()
    sheet = Sheet(8.5, 11)
    dealer_header(sheet, dealer, rng.choice(["BUYER'S ORDER", "VEHICLE INVOICE"]), rng)
    sheet.right(2400, 225, f"Deal # {rng.randrange(10000, 99999)}", size=36)
    sheet.right(2400, 280, f"Date: {fmt_date(sold, rng.randrange(4))}", size=36)
    last_first = rng.random() < 0.4
    shown_name = f"{person.last}, {person.first}" if last_first else person.name
    y = 430
    sheet.text(150, y, f"{rng.choice(['Buyer:', 'Purchaser:', 'Buyer Name:'])} {shown_name}")
    sheet.text(1400, y, f"{rng.choice(['Home Phone:', 'Phone:', 'Cell:'])} "
                        f"{fmt_phone(person.phone, rng.randrange(3))}")
    y += 62
    sheet.text(150, y, f"Address: {person.address}")
    y += 62
    show_dl = rng.random() < 0.6
    if show_dl:
        sheet.text(150, y, f"Driver's License #: {person.license_number}")
        sheet.text(1400, y, f"Date of Birth: {fmt_date(person.dob, rng.randrange(4))}")
        y += 62
    y += 30
    sheet.line(150, y, 2400, y, width=4)
    y += 40
    sheet.text(150, y, "VEHICLE", size=34, style="bold")
    y += 60
    if rng.random() < 0.5:
        sheet.text(150, y, f"Year: {car.year}   Make: {car.make}   Model: {car.model}")
    else:
        sheet.text(150, y, f"Vehicle: {car.ymm}")
    sheet.text(1400, y, f"{rng.choice(['Stock #:', 'STK#', 'Stock No.'])} {car.stock}")
    y += 62
    sheet.text(150, y, f"VIN: {car.vin}", style="mono")
    sheet.text(1400, y, f"{rng.choice(['Odometer:', 'Mileage:'])} "
                        f"{fmt_miles(car.mileage, rng)}")
    y += 100
    sheet.line(150, y, 2400, y, width=4)
    y += 40
    price = float(rng.randrange(14000, 62000))
    rows = [("Cash Price of Vehicle", price), ("Dealer Service Fee", 150.0),
            ("Service Contract", float(rng.choice([0, 1495, 2195]))),
            ("Trade-In Allowance", -float(rng.choice([0, 4500, 8200]))),
            ("Sales Tax", round(price * 0.0625, 2)), ("Title and Registration", 95.75)]
    subtotal = round(sum(v for _, v in rows[:4]), 2)
    for label, value in rows:
        sheet.text(150, y, label, size=34)
        sheet.right(2400, y, money(value) if value >= 0 else f"({money(-value)})", size=34)
        y += 55
    total = round(subtotal + rows[4][1] + rows[5][1], 2)
    sheet.text(150, y, "Subtotal", size=34)
    sheet.right(2400, y, money(subtotal), size=34)
    y += 70
    sheet.text(150, y, rng.choice(["TOTAL AMOUNT DUE", "Balance Due", "Total Due"]), size=40,
               style="bold")
    sheet.right(2400, y, f"${money(total)}", size=40, style="bold")
    sheet.text(150, y + 220, "Buyer signature ______________________   Date ________", size=32)
    exp.update(vin=car.vin, customer_name=person.name, phone=_expected_phone(person.phone),
               address=person.address, stock_number=car.stock, mileage=str(car.mileage),
               total=f"{total:.2f}", date=sold.isoformat(), vehicle=car.ymm,
               license_number=person.license_number if show_dl else None,
               date_of_birth=person.dob.isoformat() if show_dl else None)
    return Document("buyers_order", [sheet.image], exp)


def drivers_license(rng: random.Random) -> Document:
    """A driver licence card (3.375 x 2.125 in): labels LN/FN/DOB/ISS/EXP, unlabelled
    address under the name, a photo box; fields are upper case as printed."""
    person = make_person(rng)
    issued = some_date(rng)
    exp = empty_expected()
    sheet = Sheet(3.375, 2.125, background=(226, 236, 246))
    w = 1012
    sheet.box(0, 0, w, 120, fill=(28, 62, 120), outline=None)
    sheet.text(30, 22, person.state if person.state != "TX" else "TEXAS", size=60,
               style="bold", fill=(255, 255, 255))
    sheet.text(430, 36, "DRIVER LICENSE", size=46, style="bold", fill=(255, 255, 255))
    sheet.box(30, 160, 300, 520, fill=(190, 196, 205), outline=(90, 90, 90))
    sheet.draw.ellipse([sheet.px(100), sheet.px(210), sheet.px(230), sheet.px(370)],
                       fill=(150, 130, 120))
    x = 330
    sheet.text(x, 140, f"DL {person.license_number}", size=40, style="bold")
    sheet.text(x + 420, 148, "CLASS C", size=30)
    sheet.text(x, 195, f"EXP {(issued + timedelta(days=365 * 6)).strftime('%m/%d/%Y')}",
               size=30)
    sheet.text(x + 330, 195, f"ISS {issued.strftime('%m/%d/%Y')}", size=30)
    sheet.text(x, 245, f"LN {person.last.upper()}", size=36, style="bold")
    sheet.text(x, 292, f"FN {person.first.upper()}", size=36, style="bold")
    sheet.text(x, 345, person.street.upper(), size=30)
    sheet.text(x, 385, person.city_line.upper(), size=30)
    sheet.text(x, 440, f"DOB {person.dob.strftime('%m/%d/%Y')}", size=34, style="bold")
    sheet.text(x, 490, f"SEX {rng.choice('MF')}   HGT 5-{rng.randrange(0, 12):02d}   "
                       f"EYES {rng.choice(['BRN', 'BLU', 'GRN', 'HAZ'])}", size=26)
    sheet.text(30, 560, "USA", size=26, style="bold")
    exp.update(customer_name=f"{person.first} {person.last}".upper(),
               address=f"{person.street}, {person.city_line}".upper(),
               license_number=person.license_number, date_of_birth=person.dob.isoformat(),
               date=issued.isoformat())
    return Document("drivers_license", [sheet.image.convert("RGB")], exp)


def insurance_card(rng: random.Random) -> Document:
    """An auto insurance ID card (3.5 x 2.25 in, printed larger as many are: 7 x 4 in)."""
    person, car = make_person(rng), make_vehicle(rng)
    insurer = rng.choice(INSURERS)
    eff = some_date(rng)
    policy = f"{''.join(rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ') for _ in range(3))}-" \
             f"{rng.randrange(1000, 9999)}-{rng.randrange(10000, 99999)}"
    exp = empty_expected()
    sheet = Sheet(7, 4)
    label_insurer = rng.random() < 0.35
    if label_insurer:
        sheet.text(60, 50, "AUTOMOBILE INSURANCE IDENTIFICATION CARD", size=44, style="bold")
        sheet.text(60, 130, f"Company: {insurer}", size=38)
    else:
        sheet.text(60, 50, insurer, size=52, style="bold")
        sheet.text(60, 130, "AUTOMOBILE INSURANCE IDENTIFICATION CARD", size=36)
    sheet.line(60, 200, 2040, 200, width=4)
    sheet.text(60, 240, f"{rng.choice(['Policy Number:', 'Policy #:', 'Policy No.'])} "
                        f"{policy}", size=38)
    sheet.text(1250, 240, f"NAIC # {rng.randrange(10000, 99999)}", size=38)
    sheet.text(60, 310, f"Effective Date: {fmt_date(eff, rng.randrange(4))}", size=38)
    sheet.text(1250, 310, f"Expires: {fmt_date(eff + timedelta(days=182), 0)}", size=38)
    sheet.text(60, 400, f"{rng.choice(['Insured:', 'Named Insured:'])} {person.name}", size=38)
    sheet.text(60, 470, f"Vehicle: {car.ymm}", size=38)
    sheet.text(60, 540, f"VIN: {car.vin}", size=38, style="mono")
    sheet.text(60, 660, f"Agent: {rng.choice(FIRST)} {rng.choice(LAST)}   "
                        f"{fmt_phone(f'800555{rng.randrange(1000, 9999)}', 1)}", size=32)
    sheet.text(60, 720, f"Report claims 24/7: 1-{fmt_phone('8885550111', 1)}", size=32)
    sheet.text(60, 1000, "Keep this card in your vehicle. Proof of insurance.", size=30)
    exp.update(vin=car.vin, customer_name=person.name, policy_number=policy, insurer=insurer,
               date=eff.isoformat(), vehicle=car.ymm)
    return Document("insurance_card", [sheet.image], exp)


def _expected_phone(digits: str) -> str:
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"


BUILDERS: dict[str, Callable[[random.Random], Document]] = {
    "repair_order": repair_order, "buyers_order": buyers_order,
    "drivers_license": drivers_license, "insurance_card": insurance_card,
}


# --- distortions and encoding -----------------------------------------------------------------


@dataclass(frozen=True)
class Distortion:
    """What a scanner/phone does to a page: rotation (degrees), Gaussian blur radius (px at
    300 dpi), additive Gaussian noise (sigma in grey levels), JPEG re-encode quality."""

    rotate: float = 0.0
    blur: float = 0.0
    noise: float = 0.0
    jpeg_quality: int | None = None

    @property
    def label(self) -> str:
        parts = [f"rot{self.rotate:+.1f}" if self.rotate else "",
                 f"blur{self.blur:.1f}" if self.blur else "",
                 f"noise{self.noise:.0f}" if self.noise else "",
                 f"jpeg{self.jpeg_quality}" if self.jpeg_quality else ""]
        return "+".join(p for p in parts if p) or "clean"


def distort(image: Image.Image, d: Distortion, seed: int = 0) -> Image.Image:
    """Apply `d` to `image` (returns a new image): rotation, blur, noise, then a JPEG
    round trip at `d.jpeg_quality`."""
    out = image
    if d.rotate:
        fill = (255, 255, 255) if out.mode == "RGB" else 255
        out = out.rotate(d.rotate, resample=Image.Resampling.BICUBIC, expand=True,
                         fillcolor=fill)
    if d.blur:
        out = out.filter(ImageFilter.GaussianBlur(d.blur))
    if d.noise:
        arr = np.asarray(out, dtype=np.float64)
        arr = arr + np.random.default_rng(seed).normal(0.0, d.noise, arr.shape)
        out = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode=out.mode)
    if d.jpeg_quality:
        buf = io.BytesIO()
        out.save(buf, "JPEG", quality=d.jpeg_quality)
        out = Image.open(io.BytesIO(buf.getvalue()))
        out.load()
    return out


@dataclass(frozen=True)
class SyntheticScan:
    """One generated document as the bytes a scanner/upload would send."""

    name: str
    kind: str
    data: bytes
    filename: str
    content_type: str
    expected: dict[str, str | None]
    distortion: Distortion
    pages: int


def encode(pages: Sequence[Image.Image], fmt: str, quality: int | None = None) -> bytes:
    """Encode page images as PNG/JPEG/TIFF (several pages: multi-frame TIFF) or PDF."""
    buf = io.BytesIO()
    first, rest = pages[0], list(pages[1:])
    if fmt == "PDF":
        first.save(buf, "PDF", save_all=True, append_images=rest, resolution=300.0)
    elif fmt == "TIFF":
        first.save(buf, "TIFF", save_all=True, append_images=rest, compression="tiff_lzw",
                   dpi=(300, 300))
    elif fmt == "JPEG":
        if rest:
            raise ValueError("JPEG holds one page")
        first.save(buf, "JPEG", quality=quality or 90, dpi=(300, 300))
    elif fmt == "PNG":
        if rest:
            raise ValueError("PNG holds one page")
        first.save(buf, "PNG", dpi=(300, 300))
    else:
        raise ValueError(f"unknown format {fmt}")
    return buf.getvalue()


_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "TIFF": "image/tiff",
         "PDF": "application/pdf"}


def make_scan(kind: str, seed: int, distortion: Distortion = Distortion(),
              fmt: str | None = None, pages: int = 1) -> SyntheticScan:
    """Render document `kind` from `seed`, distort it and encode it as `fmt` (default: JPEG
    when the distortion re-encodes at low quality, else PNG; PDF when pages > 1)."""
    rng = random.Random(f"{kind}:{seed}")
    doc = repair_order(rng, pages=pages) if kind == "repair_order" else BUILDERS[kind](rng)
    if len(doc.pages) != pages:
        raise ValueError(f"{kind} renders {len(doc.pages)} page(s), not {pages}")
    fmt = fmt or ("PDF" if pages > 1 else "JPEG" if distortion.jpeg_quality else "PNG")
    # a JPEG output carries the artefacts itself; any other format gets a JPEG round trip
    d = replace(distortion, jpeg_quality=None) if fmt == "JPEG" else distortion
    images = [distort(p, d, seed * 31 + i) for i, p in enumerate(doc.pages)]
    data = encode(images, fmt, distortion.jpeg_quality)
    ext = {"PNG": "png", "JPEG": "jpg", "TIFF": "tif", "PDF": "pdf"}[fmt]
    name = f"{kind}-{seed}-{distortion.label}"
    return SyntheticScan(name=name, kind=kind, data=data, filename=f"{name}.{ext}",
                         content_type=_MIME[fmt], expected=doc.expected,
                         distortion=distortion, pages=pages)


#: Distortions the corpus cycles through (each kind meets each of them).
DISTORTIONS: tuple[Distortion, ...] = (
    Distortion(),
    Distortion(rotate=2.5, blur=0.8),
    Distortion(noise=18.0, jpeg_quality=30),
    Distortion(rotate=-3.0, noise=10.0, jpeg_quality=40),
    Distortion(rotate=-1.2, blur=1.0, noise=8.0),
)


def corpus(per_kind: int = 4, seed: int = 7, multipage_pdf: bool = True,
           kinds: Sequence[str] = KINDS) -> list[SyntheticScan]:
    """`per_kind` documents of each kind, cycling through DISTORTIONS (kind i starts at
    distortion i so every pairing shows up), plus one two-page repair-order PDF and one TIFF."""
    scans = []
    for k, kind in enumerate(kinds):
        for i in range(per_kind):
            d = DISTORTIONS[(k + i) % len(DISTORTIONS)]
            fmt = "TIFF" if (k, i) == (1, 0) else None
            scans.append(make_scan(kind, seed * 1000 + k * 100 + i, d, fmt=fmt))
    if multipage_pdf:
        scans.append(make_scan("repair_order", seed * 1000 + 999,
                               Distortion(rotate=1.5, noise=8.0), pages=2))
    return scans
