"""Repairing OCR'd VINs with the check digit.

Rules (enforced by `repair_vin`):
- I, O and Q never occur in a VIN, so they always become 1, 0 and 0;
- any other substitution of a character OCR confuses is made only when the position-9
  check digit confirms it: exactly one single-character substitution must yield a valid
  VIN. Only the look-alikes S/5, B/8, Z/2, G/6 are tried; a candidate must not be less
  VIN-shaped than what was read (`plausibility`), and several valid candidates are narrowed
  to the most VIN-shaped; if still several, they are ambiguous: no VIN. No valid candidate
  at all: no VIN. Both cases leave a note saying why;
- a candidate that already validates is taken as read.
Limits of a single check digit: a wrong candidate passes it with probability ~1/11, and it
cannot tell apart characters with the same transliteration value (1/A/J, 2/B/K/S, 3/C/L/T,
...): a J misread as I becomes 1 and still validates. vin_reread.py re-reads such words.
Every change and every refusal is reported as a note ("vin: S->5 at 1 confirmed by check
digit"; positions are 1-based). Notes never quote the VIN or what was read for it: they
travel with the redacted result, and a VIN is PII.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.vin import VIN_ALPHABET, VIN_LENGTH, vin_check_digit_ok

ALWAYS: dict[str, str] = {"I": "1", "O": "0", "Q": "0"}
#: Look-alike pairs OCR confuses, tried one substitution at a time. Deliberately short:
#: every extra pair adds candidates, and each wrong candidate passes the check digit with
#: probability ~1/11.
CONFUSABLE: dict[str, str] = {"S": "5", "5": "S", "B": "8", "8": "B", "Z": "2", "2": "Z",
                              "G": "6", "6": "G"}


def plausibility(vin: str) -> int:
    """Structure a real VIN has beyond the check digit, used to judge substitution
    candidates: position 10 (model year) is never U, Z or 0, and a high-volume maker's
    positions 13-17 are digits."""
    return int(vin[9] not in "UZ0") + int(vin[12:].isdigit())


@dataclass
class VinRepair:
    vin: str | None
    notes: list[str] = field(default_factory=list)


def repair_vin(raw: str) -> VinRepair:
    """A valid VIN from OCR text `raw` (spaces and dashes ignored), or None with notes."""
    s = "".join(ch for ch in raw.upper() if ch.isalnum())
    if len(s) != VIN_LENGTH:
        return VinRepair(None, [f"vin: a VIN-labelled value has {len(s)} characters, not "
                                f"{VIN_LENGTH}; not extracted"])
    notes = []
    chars = list(s)
    for i, ch in enumerate(chars):
        if ch in ALWAYS:
            chars[i] = ALWAYS[ch]
            notes.append(f"vin: {ch}->{chars[i]} at {i + 1} (I, O, Q never occur in a VIN)")
    if any(ch not in VIN_ALPHABET for ch in chars):
        return VinRepair(None, [*notes, "vin: the candidate has characters that are not "
                                        "letters or digits; not extracted"])
    vin = "".join(chars)
    if vin_check_digit_ok(vin):
        return VinRepair(vin, notes)
    floor = plausibility(vin)
    valid = [(vin[:i] + CONFUSABLE[ch] + vin[i + 1 :],
              f"vin: {ch}->{CONFUSABLE[ch]} at {i + 1} confirmed by check digit")
             for i, ch in enumerate(vin) if ch in CONFUSABLE]
    valid = [(c, note) for c, note in valid
             if vin_check_digit_ok(c) and plausibility(c) >= floor]
    if len(valid) > 1:
        best = max(plausibility(c) for c, _ in valid)
        valid = [v for v in valid if plausibility(v[0]) == best]
    if len(valid) == 1:
        return VinRepair(valid[0][0], [*notes, valid[0][1]])
    if not valid:
        return VinRepair(None, [*notes, "vin: the candidate fails the check digit and no "
                                        "single OCR-confusion substitution validates; not "
                                        "extracted"])
    options = ", ".join(note.split(": ", 1)[1].split(" confirmed")[0] for _, note in valid)
    return VinRepair(None, [*notes, f"vin: the candidate fails the check digit and "
                                    f"{len(valid)} substitutions validate ({options}); "
                                    "ambiguous, not extracted"])
