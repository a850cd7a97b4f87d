"""A second, constrained look at VINs the page OCR read doubtfully.

Tesseract reads a VIN with an English language model, so it sometimes inserts or swaps
characters (1 -> "1I", J -> "3", C -> "€"). A word, or 2-3 adjacent words that each hold a
digit (a split VIN), that looks like a VIN (15-19 characters, mostly letters and digits,
with both) and is not a valid VIN as read (mapping O/Q to 0 alone does not count), is
cut from the page as an upright crop (rotated with interpolation, not sheared) and read
again as one line restricted to the VIN alphabet (no I, O, Q): one small tesseract call
(~80-120 ms, mostly tesseract's start-up), at most MAX_REREADS_PER_PAGE per page. Words
that are valid VINs as read are never re-read.

Notes say what happened without quoting the VIN (PII). Which reading wins
(`choose_reading`): the re-read when it is a valid VIN as read; else
the page read if it repairs to a valid VIN (vin_repair rules); else the re-read if it
repairs to one; else the page read is kept (field extraction then reports the failure).
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image, ImageOps

from processors.ocr.engine import read_line
from processors.ocr.models import OcrWord
from processors.ocr.vin_repair import ALWAYS, repair_vin
from schemas.vin import VIN_ALPHABET, VIN_LENGTH, vin_check_digit_ok

VIN_WHITELIST = "".join(sorted(VIN_ALPHABET))
MAX_REREADS_PER_PAGE = 3
_BORDER = 12


def _core(text: str) -> str:
    return text.strip(".,;:()[]|'\"")


def _ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def looks_like_vin(text: str) -> bool:
    """15-19 characters, at least 3 digits and 2 letters, at most 2 that are not ASCII
    letters/digits (OCR junk such as '€' for 'C')."""
    t = _core(text)
    return (VIN_LENGTH - 2 <= len(t) <= VIN_LENGTH + 2
            and sum(not _ascii_alnum(c) for c in t) <= 2
            and sum(c.isdigit() for c in t) >= 3
            and sum(c.isascii() and c.isalpha() for c in t) >= 2)


def needs_reread(text: str) -> bool:
    """A VIN-like word that is not a valid VIN as read, except when mapping O/Q to 0 alone
    makes it valid (that mapping is safe: 0 is the only look-alike). An I is re-read: its
    look-alikes 1 and J have the same check-digit value, so the check digit cannot tell."""
    core = _core(text).upper()
    if not looks_like_vin(core) or vin_check_digit_ok(core):
        return False
    if "I" not in core and len(core) == VIN_LENGTH:
        mapped = core.replace("O", "0").replace("Q", "0")
        return not vin_check_digit_ok(mapped)
    return True


def _shape(text: str) -> str:
    """What was wrong with a read, without quoting it (a VIN is PII)."""
    odd = sorted({c for c in text.upper() if c in ALWAYS or not (c.isascii() and c.isalnum())})
    return f"{len(text)} characters" + (f", with {''.join(odd)}" if odd else "")


def choose_reading(page_read: str, reread: str) -> tuple[str, list[str]]:
    """The text to keep for a VIN word, and notes on what was chosen."""
    first, second = repair_vin(_core(page_read)), repair_vin(reread)
    if second.vin and not second.notes and len(reread) == VIN_LENGTH:
        if first.vin == second.vin and any(c in ALWAYS for c in page_read.upper()):
            return page_read, []  # the I/O/Q mapping alone gives the same VIN
        return second.vin, [f"vin: page read ({_shape(page_read)}) re-read with the VIN "
                            "alphabet only: a valid VIN"]
    if first.vin:
        return page_read, []
    if second.vin:
        return second.vin, [f"vin: page read ({_shape(page_read)}) re-read with the VIN "
                            "alphabet only", *second.notes]
    return page_read, []


def _candidates(words: list[OcrWord]) -> list[tuple[int, int]]:
    """(start, end) index ranges of words that may hold a doubtful VIN: one word, or 2-3
    adjacent words of one line that each hold a digit (OCR split the VIN), whose joined text
    looks like a VIN and is not a valid one as read."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        found = None
        for n in (1, 2, 3):
            window = words[i : i + n]
            if len(window) < n or any((w.block, w.line) != (words[i].block, words[i].line)
                                      for w in window):
                break
            if n > 1 and not all(any(c.isdigit() for c in w.text) for w in window):
                break
            if needs_reread("".join(_core(w.text) for w in window)):
                found = (i, i + n)
                break
        if found:
            out.append(found)
            i = found[1]
        else:
            i += 1
    return out


def reread_vins(words: list[OcrWord], crop: Callable[[int, int, int, int], Image.Image], *,
                dpi: float | None = None) -> tuple[list[OcrWord], list[str]]:
    """`words` with doubtful VINs re-read (a VIN split over several words becomes one word
    with their joint box); notes for every change. `crop(left, top, right, bottom)` returns
    the upright page region of a box in the words' pixels
    (`preprocess.PreparedPage.straight_crop`)."""
    out = list(words)
    notes: list[str] = []
    for start, end in reversed(_candidates(words)[:MAX_REREADS_PER_PAGE]):
        window = words[start:end]
        left, top = min(w.left for w in window), min(w.top for w in window)
        right = max(w.left + w.width for w in window)
        bottom = max(w.top + w.height for w in window)
        image = ImageOps.expand(crop(left, top, right, bottom), border=_BORDER, fill=255)
        reread = "".join(read_line(image, whitelist=VIN_WHITELIST, dpi=dpi).split())
        text, why = choose_reading("".join(_core(w.text) for w in window), reread)
        if why:
            merged = window[0].model_copy(update={
                "text": text, "left": left, "top": top, "width": right - left,
                "height": bottom - top,
                "confidence": min(w.confidence for w in window)})
            out[start:end] = [merged]
            notes.extend(why)
    return out, notes
