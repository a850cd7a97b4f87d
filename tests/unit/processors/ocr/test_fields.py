"""Field extraction on text (no tesseract): labels, layout, value normal forms, VIN repair,
document kinds."""

from __future__ import annotations

import pytest

from processors.ocr.document import PII_FIELDS, DocumentFields
from processors.ocr.fields import extract_fields_from_text as extract
from processors.ocr.kinds import classify
from processors.ocr.layout import layout_from_text
from processors.ocr.values import parse_date, parse_mileage, parse_money, parse_name, parse_phone
from processors.ocr.vin_repair import repair_vin
from schemas.vin import vin_check_digit_ok, with_check_digit

REPAIR_ORDER = """\
HILL COUNTRY MOTORS                          REPAIR ORDER
1201 Research Blvd, Austin, TX 78759         RO# 104233
Service & Sales (512) 555-0100               Date: 03/14/2024
Customer: Maria Johnson                      Cell: 615.555.0143
Address: 4747 Oak Ridge Dr
         Nashville, TN 37251
Vehicle: 2019 Honda Accord                   VIN: 1HGCV1F34KA012345
Mileage In: 45,231                           STK# U4821
Advisor: Kevin   Tech: 42
A   LOF   Oil and filter change        0.5        79.95
B   ROT   Tire rotation and balance    0.8       119.20
                                  Labor:         199.15
                                  Subtotal:      199.15
                                  Tax:            16.43
                                  Grand Total:  $215.58
"""


def test_repair_order_fields() -> None:
    vin = with_check_digit("1HGCV1F30KA012345")
    ex = extract(REPAIR_ORDER.replace("1HGCV1F34KA012345", vin))
    assert ex.fields == DocumentFields(
        vin=vin, customer_name="Maria Johnson", phone="(615) 555-0143",
        address="4747 Oak Ridge Dr, Nashville, TN 37251", ro_number="104233",
        stock_number="U4821", mileage="45231", total="215.58", date="2024-03-14",
        vehicle="2019 Honda Accord")
    assert ex.corrections == []


def test_dealer_phone_in_header_is_not_the_customers() -> None:
    text = "SUMMIT CHEVROLET   Phone: (303) 555-0177\nCustomer: Ann Lee\nPhone: 303-555-0199\n"
    assert extract(text).fields.phone == "(303) 555-0199"


def test_values_in_form_boxes_below_their_labels() -> None:
    text = """\
Customer Name                 Phone
Maria Johnson                 615-555-0130
Address
4747 Oak Ridge Dr
Nashville, TN 37251
Vehicle                       VIN
2023 Hyundai Sonata           {vin}
Mileage In                    Stock
12,783                        P54018
""".format(vin=with_check_digit("5NPHZSGZ0PG400249"))
    f = extract(text, kind="repair_order").fields
    assert (f.customer_name, f.phone, f.mileage, f.stock_number, f.vehicle) == (
        "Maria Johnson", "(615) 555-0130", "12783", "P54018", "2023 Hyundai Sonata")
    assert f.address == "4747 Oak Ridge Dr, Nashville, TN 37251"
    assert f.vin == with_check_digit("5NPHZSGZ0PG400249")


def test_buyers_order_last_first_name_and_totals() -> None:
    text = """\
CAPITOL CITY AUTO GROUP                      BUYER'S ORDER
Buyer: GARCIA, VICTOR                        Home Phone: 512-555-0166
Address: 88 Elm St, Austin, TX 78701
Driver's License #: TX 12345678              Date of Birth: 05/22/88
Year: 2021   Make: Ford   Model: Explorer    Stock No. N26868
Odometer: 33,118
Cash Price of Vehicle                        31,900.00
Trade-In Allowance                           (4,500.00)
Subtotal                                     27,400.00
Total Parts                                  1,000.00
TOTAL AMOUNT DUE                            $28,993.81
Total                                        9.99
"""
    f = extract(text).fields
    assert f.customer_name == "VICTOR GARCIA"
    assert f.total == "28993.81"  # the strongest total label wins over a later bare Total
    assert f.license_number == "12345678"
    assert f.date_of_birth == "1988-05-22"
    assert f.vehicle == "2021 Ford Explorer"
    assert f.stock_number == "N26868"
    assert f.mileage == "33118"
    assert f.address == "88 Elm St, Austin, TX 78701"
    assert f.date is None  # only a birth date: not the document's date


def test_last_of_equal_total_lines_wins() -> None:
    assert extract("Total: 10.00\nPayment received\nTotal: 12.50\n").fields.total == "12.50"


def test_drivers_license() -> None:
    text = """\
TEXAS        DRIVER LICENSE
DL 57725400          CLASS C
EXP 07/27/2030       ISS 07/28/2024
LN WHITAKER
FN PATRICIA
2689 SUNSET RD
RALEIGH, NC 27647
DOB 03/30/1964
SEX F   HGT 5-06   EYES BLU
"""
    assert classify(text) == "drivers_license"
    f = extract(text).fields
    assert f == DocumentFields(
        customer_name="PATRICIA WHITAKER", license_number="57725400",
        date_of_birth="1964-03-30", date="2024-07-28",
        address="2689 SUNSET RD, RALEIGH, NC 27647")


def test_insurance_card_insurer_from_heading_and_no_agent_phone() -> None:
    vin = with_check_digit("4S4X9CVV0KJ098596")
    text = f"""\
LONE STAR MUTUAL INSURANCE COMPANY
AUTOMOBILE INSURANCE IDENTIFICATION CARD
Policy Number: LSM-4821-99310        NAIC # 12345
Effective Date: Jan 15, 2024         Expires: 07/15/2024
Named Insured: Anthony Ramirez
Vehicle: 2016 Hyundai Sonata
VIN: {vin}
Agent: Aisha Sullivan   800-555-7316
Report claims 24/7: 1-888-555-0111
"""
    assert classify(text) == "insurance_card"
    f = extract(text).fields
    assert f == DocumentFields(
        vin=vin, customer_name="Anthony Ramirez", policy_number="LSM-4821-99310",
        insurer="LONE STAR MUTUAL INSURANCE COMPANY", date="2024-01-15",
        vehicle="2016 Hyundai Sonata")


def test_labelled_insurer() -> None:
    text = "INSURANCE IDENTIFICATION CARD\nCompany: Harbor Point Auto Insurance\nPolicy #: AB-12345"
    f = extract(text).fields
    assert (f.insurer, f.policy_number) == ("Harbor Point Auto Insurance", "AB-12345")


def test_text_without_fields() -> None:
    assert extract("").fields == DocumentFields()
    assert extract("Thank you for your business.\nSee you soon!").fields == DocumentFields()


def test_a_signature_line_is_not_a_name() -> None:
    assert extract("Customer signature ____________\n").fields.customer_name is None


# --- VIN repair -------------------------------------------------------------------------------

VIN = "1HGCM82633A004352"  # valid, check digit 3


def test_vin_i_o_q_always_map_with_a_note() -> None:
    r = repair_vin("1HGCM82633AOO4352")
    assert r.vin == VIN
    assert r.notes == ["vin: O->0 at 12 (I, O, Q never occur in a VIN)",
                       "vin: O->0 at 13 (I, O, Q never occur in a VIN)"]
    assert repair_vin("IHGCM82633A004352").vin == VIN


def test_vin_ambiguous_lookalike_fixed_only_when_the_check_digit_confirms() -> None:
    r = repair_vin("1HGCM8Z633A004352")  # 2 read as Z at position 7
    assert r.vin == VIN
    assert r.notes == ["vin: Z->2 at 7 confirmed by check digit"]


def test_vin_without_a_validating_candidate_is_refused_with_a_note() -> None:
    r = repair_vin("1HGCM82634A004352")  # 3 -> 4 at position 10: not a look-alike
    assert r.vin is None
    assert len(r.notes) == 1 and "fails the check digit" in r.notes[0]
    assert "not extracted" in r.notes[0]


def test_vin_wrong_length_is_refused() -> None:
    r = repair_vin("1HGCM82633A00435")
    assert r.vin is None and "16 characters" in r.notes[0]


def test_vin_repair_never_returns_an_invalid_vin() -> None:
    import random

    rng = random.Random(5)
    alphabet = "0123456789ABCDEFGHJKLMNPRSTUVWXYZIOQ"
    for _ in range(2000):
        raw = "".join(rng.choice(alphabet) for _ in range(17))
        r = repair_vin(raw)
        assert r.vin is None or vin_check_digit_ok(r.vin)
        assert r.vin is not None or r.notes  # a refusal always says why


@pytest.mark.parametrize("raw", ["1HGCM82633AOO4352", "1HGCM8Z633A004352",
                                 "1HGCM82634A004352", "1HGCM82633A00435", "1HGCM8S6S3A004352"])
def test_vin_notes_never_quote_a_vin(raw: str) -> None:
    notes = repair_vin(raw).notes
    assert notes
    assert not any(raw in n or VIN in n or raw[:8] in n for n in notes)


def test_vin_in_text_gets_corrected_and_noted() -> None:
    ex = extract("VIN: 1HGCM8Z633A004352\n")
    assert ex.fields.vin == VIN
    assert ex.corrections == ["vin: Z->2 at 7 confirmed by check digit"]


def test_unlabelled_vin_is_found_when_valid() -> None:
    ex = extract(f"2003 Honda Accord {VIN} silver\n")
    assert ex.fields.vin == VIN
    assert any("without a VIN label" in n for n in ex.corrections)


def test_split_vin_is_joined() -> None:
    assert extract("VIN: 1HGCM 82633A004352\n").fields.vin == VIN


# --- value normal forms ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["(512) 555-0143", "512-555-0143", "512.555.0143",
                                 "+1 512 555 0143", "1-512-555-0143", "5125550143",
                                 "512-555-O143"])
def test_phone_normal_form(raw: str) -> None:
    assert parse_phone(raw) == "(512) 555-0143"


@pytest.mark.parametrize("raw", ["555-0143", "(012) 555-0143", "512-555-01434"])
def test_not_a_phone(raw: str) -> None:
    assert parse_phone(raw) is None


@pytest.mark.parametrize(("raw", "iso"), [
    ("03/14/2024", "2024-03-14"), ("3/4/2024", "2024-03-04"), ("2024-03-14", "2024-03-14"),
    ("Mar 14, 2024", "2024-03-14"), ("March 14 2024", "2024-03-14"),
    ("14 Mar 2024", "2024-03-14"), ("03-14-24", "2024-03-14"), ("O3/14/2024", "2024-03-14"),
])
def test_dates_are_iso(raw: str, iso: str) -> None:
    assert parse_date(raw) == iso


def test_impossible_dates_and_birth_centuries() -> None:
    assert parse_date("02/30/2024") is None
    assert parse_date("13/01/2024") is None
    assert parse_date("05/22/88", birth=True) == "1988-05-22"


@pytest.mark.parametrize(("raw", "miles"), [("45,231", "45231"), ("45231 mi", "45231"),
                                            ("137 , 002", "137002"), ("1,234,567", "1234567")])
def test_mileage_digits_only(raw: str, miles: str) -> None:
    assert parse_mileage(raw) == miles


@pytest.mark.parametrize(("raw", "amount"), [("$1,234.56", "1234.56"), ("729.34", "729.34"),
                                             ("$ 28,993.81", "28993.81")])
def test_money(raw: str, amount: str) -> None:
    assert parse_money(raw) == amount


def test_credit_in_parentheses_is_not_an_amount() -> None:
    assert parse_money("(4,500.00)") is None


@pytest.mark.parametrize(("raw", "name"), [
    ("John Smith", "John Smith"), ("SMITH, JOHN", "JOHN SMITH"),
    ("Mary J. Blige Phone: 555", "Mary J. Blige"), ("signature ______", None),
    ("J", None),
])
def test_names(raw: str, name: str | None) -> None:
    assert parse_name(raw) == name


# --- layout, kinds, API constants --------------------------------------------------------------


def test_text_layout_cells_and_below() -> None:
    layout = layout_from_text("Name          Phone\nAnn Lee       555\n\fPage two")
    assert [[c.text for c in r.cells] for r in layout.rows] == [
        ["Name", "Phone"], ["Ann Lee", "555"], ["Page two"]]
    phone_label = layout.rows[0].cells[1]
    below = layout.below(phone_label)
    assert below is not None and below.text == "555"
    assert layout.below(layout.rows[1].cells[0]) is None  # next row is on another page


@pytest.mark.parametrize(("text", "kind"), [
    (REPAIR_ORDER, "repair_order"),
    ("BILL OF SALE\nPurchaser: Ann Lee\nCash Price 10,000.00\nTrade-In 0.00", "buyers_order"),
    ("Proof of Insurance\nPolicy No. AB-1234\nNamed Insured: Ann Lee", "insurance_card"),
    ("Weekly sales meeting agenda\nDiscuss inventory", "other"),
])
def test_kinds(text: str, kind: str) -> None:
    assert classify(text) == kind


def test_pii_fields_are_document_fields() -> None:
    assert PII_FIELDS <= set(DocumentFields.model_fields)
    assert {"vin", "customer_name", "phone", "address", "license_number", "date_of_birth",
            "policy_number"} == PII_FIELDS
