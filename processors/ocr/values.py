"""Value parsers: the text after a label -> the field's normal form, or None.

Each parser reads a value at the START of its text (leading punctuation such as ": # ."
skipped), so "Phone: (512) 555-0143 Cell ..." gives the phone and nothing after it. OCR
look-alikes inside number-shaped tokens (O->0, l/I/|->1) are mapped before parsing.
Normal forms are the ones DocumentFields documents.
"""

from __future__ import annotations

import re
from datetime import date

_LEAD = r"^[\s:#.,;|\[\]()*_-]*"
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "l": "1", "I": "1",
                                   "|": "1", "i": "1"})
_NUMBERISH = re.compile(r"[0-9OolIi|D$.,/()\-]+")

MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}

#: Words that end a name or are never one (labels and form words next to names).
NON_NAME_WORDS = frozenset("""
order orders signature sign date phone cell home mobile tel address addr vin vehicle year
make model stock stk mileage miles odometer total due amount balance subtotal tax labor
parts ro repair invoice deal number no policy insured insurance company card license
licence dl dob class exp iss sex hgt eyes agent advisor tech tag customer buyer purchaser
name co-buyer email information info copy agreement page continued identification naic
effective expires expiration proof city state zip street dealer service sales
""".split())


def fix_digits(token: str) -> str:
    """Map letter look-alikes to digits in a token that is mostly digits already."""
    digits = sum(ch.isdigit() for ch in token)
    letters = sum(ch.isalpha() for ch in token)
    if digits and digits >= 2 * letters:
        return token.translate(_DIGIT_LOOKALIKES)
    return token


def _fix_numbers(text: str) -> str:
    return _NUMBERISH.sub(lambda m: fix_digits(m.group(0)), text)


def strip_lead(text: str) -> str:
    return re.sub(_LEAD, "", text)


_PHONE = re.compile(r"^(?:\+?1[\s.-]*)?\(?\s*([2-9]\d\d)\s*\)?[\s.-]*(\d{3})[\s.-]*(\d{4})(?!\d)")


def parse_phone(text: str) -> str | None:
    """US phone -> `(512) 555-0143`."""
    m = _PHONE.match(strip_lead(_fix_numbers(text)))
    return f"({m.group(1)}) {m.group(2)}-{m.group(3)}" if m else None


def _valid_date(y: int, m: int, d: int) -> str | None:
    try:
        return date(y, m, d).isoformat()
    except ValueError:
        return None


def _year(y: str, birth: bool) -> int:
    if len(y) == 4:
        return int(y)
    yy = int(y)
    this = date.today().year % 100
    if birth:
        return 2000 + yy if yy <= this else 1900 + yy
    return 2000 + yy if yy <= this + 10 else 1900 + yy


_DATE_NUM = re.compile(r"^(\d{1,2})\s*[/.-]\s*(\d{1,2})\s*[/.-]\s*(\d{4}|\d{2})(?!\d)")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")
_DATE_MON = re.compile(r"^([A-Za-z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})(?!\d)")
_DATE_DMON = re.compile(r"^(\d{1,2})\s+([A-Za-z]{3,9})\.?,?\s+(\d{4})(?!\d)")


def parse_date(text: str, birth: bool = False) -> str | None:
    """A date at the start of `text` -> ISO `YYYY-MM-DD`. Numeric dates are US month/day;
    two-digit years are this century unless that is more than 10 years ahead (for birth
    dates: unless in the future)."""
    s = strip_lead(_fix_numbers(text))
    if m := _DATE_ISO.match(s):
        return _valid_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _DATE_NUM.match(s):
        return _valid_date(_year(m.group(3), birth), int(m.group(1)), int(m.group(2)))
    if m := _DATE_MON.match(s):
        month = MONTHS.get(m.group(1)[:3].lower())
        return _valid_date(int(m.group(3)), month, int(m.group(2))) if month else None
    if m := _DATE_DMON.match(s):
        month = MONTHS.get(m.group(2)[:3].lower())
        return _valid_date(int(m.group(3)), month, int(m.group(1))) if month else None
    return None


def find_dates(text: str) -> list[str]:
    """Every date anywhere in `text`, ISO, in order."""
    out = []
    for m in re.finditer(r"(?<![\w/])(?=\d|[A-Za-z]{3})", text):
        d = parse_date(text[m.start():])
        if d:
            out.append(d)
    return out


_MILES = re.compile(r"^(\d{1,3}(?: ?[,.] ?\d{3})+|\d{1,7})(?![\d,.]*\d)")


def parse_mileage(text: str) -> str | None:
    """Odometer reading -> digits only (thousands separators dropped)."""
    m = _MILES.match(strip_lead(_fix_numbers(text)))
    if not m:
        return None
    digits = re.sub(r"\D", "", m.group(1))
    return str(int(digits)) if int(digits) <= 2_000_000 else None


def parse_money(text: str) -> str | None:
    """An amount -> `1234.56` (a leading `$`, also read as S, is skipped)."""
    if re.sub(r"^[\s:#.]*", "", text).startswith("("):  # a credit, never a total
        return None
    s = _fix_numbers(strip_lead(text))
    m = re.match(r"^(?:US)?\$\s*(\d{1,3}(?:,\d{3})+|\d+)\s*[.,]\s*(\d{2})(?!\d)", s) or \
        re.match(r"^[S]?\s*(\d{1,3}(?:,\d{3})+|\d+)\s*[.,]\s*(\d{2})(?!\d)", s)
    if not m:
        return None
    return f"{int(m.group(1).replace(',', ''))}.{m.group(2)}"


_ID_TOKEN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*")


def parse_identifier(text: str, *, min_len: int, max_len: int, min_digits: int,
                     numeric: bool = False) -> str | None:
    """An identifier token (RO, stock, licence, policy number) -> upper case. `numeric`:
    look-alike letters in a mostly-digit token become digits first."""
    s = strip_lead(text)
    m = _ID_TOKEN.match(s)
    if not m:
        return None
    token = m.group(0).strip("-")
    if numeric:
        token = fix_digits(token)
    token = token.upper()
    core = token.replace("-", "")
    if not (min_len <= len(core) <= max_len) or sum(ch.isdigit() for ch in core) < min_digits:
        return None
    return token


_NAME_TOKEN = re.compile(r"^[A-Za-z][A-Za-z'\-]*\.?,?$")


def parse_name(text: str, min_words: int = 2, max_words: int = 4) -> str | None:
    """A person's name as printed; "Last, First" becomes "First Last"."""
    tokens = strip_lead(text).split()
    words: list[str] = []
    for tok in tokens:
        bare = tok.strip(".,").lower()
        if not _NAME_TOKEN.match(tok) or bare in NON_NAME_WORDS or len(words) == max_words:
            break
        words.append(tok)
        if tok.endswith(",") and len(words) > 1:
            break
    if len(words) < min_words or not any(len(w.strip(".,")) > 1 for w in words):
        return None
    if words[0].endswith(",") and len(words) > 1:
        words = words[1:] + [words[0]]
    cleaned = [w.rstrip(",") if len(w.rstrip(",.")) == 1 else w.rstrip(".,") for w in words]
    return " ".join(cleaned)


_STREET = re.compile(r"^\d{1,6}[A-Za-z]?\s+[A-Za-z0-9.'# -]*[A-Za-z][A-Za-z0-9.'# -]*$")
_CITY_STATE_ZIP = re.compile(r"^([A-Za-z][A-Za-z .'-]*?)[,.]?\s+([A-Za-z]{2})[,.]?\s+"
                             r"(\d{5})(?:-(\d{4}))?$")
_ONE_LINE = re.compile(r"^(\d{1,6}[A-Za-z]?\s+.+?)[,]\s*([A-Za-z][A-Za-z .'-]*?)[,.]?\s+"
                       r"([A-Za-z]{2})[,.]?\s+(\d{5}(?:-\d{4})?)$")


def parse_city_state_zip(text: str) -> str | None:
    """`City, ST 12345` (comma restored, state upper case), or None."""
    m = _CITY_STATE_ZIP.match(" ".join(_fix_numbers(strip_lead(text)).split()))
    if not m:
        return None
    zip_code = m.group(3) + (f"-{m.group(4)}" if m.group(4) else "")
    return f"{m.group(1).strip()}, {m.group(2).upper()} {zip_code}"


def parse_street(text: str) -> str | None:
    """A street line: house number, then words."""
    s = " ".join(strip_lead(text).split()).rstrip(",")
    return s if _STREET.match(s) else None


def parse_address_line(text: str) -> tuple[str | None, bool]:
    """(address, complete): a one-line address `street, City, ST 12345` is complete; a
    street alone is not (its city line may follow below)."""
    s = " ".join(strip_lead(text).split())
    if m := _ONE_LINE.match(s):
        city = parse_city_state_zip(f"{m.group(2)}, {m.group(3)} {m.group(4)}")
        return f"{m.group(1).strip()}, {city}", True
    street = parse_street(s)
    return street, False


def parse_free_text(text: str, max_len: int = 80) -> str | None:
    """A short free-text value (an insurer's name) with whitespace collapsed."""
    s = " ".join(strip_lead(text).split()).strip(" .,;:|")
    if sum(ch.isalpha() for ch in s) < 3 or len(s) > max_len:
        return None
    return s
