"""VIN check digit (ISO 3779 / 49 CFR 565, North American position-9 check digit)."""

from __future__ import annotations

VIN_LENGTH = 17
CHECK_POSITION = 8  # zero-based index of position 9

_TRANSLITERATION: dict[str, int] = {
    **{str(d): d for d in range(10)},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
}  # fmt: skip
_WEIGHTS: tuple[int, ...] = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

#: Characters allowed in a VIN: digits and letters except I, O and Q.
VIN_ALPHABET = frozenset(_TRANSLITERATION)


def vin_check_digit(vin: str) -> str:
    """Return the check digit ('0'-'9' or 'X') a 17-character VIN should carry at position 9.

    Raises ValueError if the VIN is not 17 characters from the VIN alphabet (I, O, Q are
    never valid). The character currently at position 9 is ignored (weight 0).
    """
    v = vin.upper()
    if len(v) != VIN_LENGTH:
        raise ValueError(f"a VIN has {VIN_LENGTH} characters, got {len(v)}")
    bad = sorted({c for c in v if c not in VIN_ALPHABET})
    if bad:
        raise ValueError(f"characters not allowed in a VIN: {''.join(bad)}")
    total = sum(_TRANSLITERATION[c] * w for c, w in zip(v, _WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def vin_check_digit_ok(vin: str) -> bool:
    """True if `vin` is 17 valid VIN characters and its position-9 check digit is right."""
    try:
        expected = vin_check_digit(vin)
    except ValueError:
        return False
    return vin[CHECK_POSITION].upper() == expected


def with_check_digit(vin: str) -> str:
    """Return `vin` with position 9 replaced by the correct check digit."""
    fixed = vin[:CHECK_POSITION] + "0" + vin[CHECK_POSITION + 1 :]
    return vin[:CHECK_POSITION] + vin_check_digit(fixed) + vin[CHECK_POSITION + 1 :]
