"""The OCR step: a scanned document (image or PDF bytes) -> text, words, layout blocks,
document kind and dealership fields.

    result = ocr_document(data, filename="ro.jpg")
    result = ocr_file("scans/ro.pdf")

Both are plain module-level functions with picklable arguments and result, so they run
inside a spawn ProcessPoolExecutor worker. Per page: decode/render (pages.py), clean up
(preprocess.py), ONE tesseract call for the page (engine.py) plus, only for a word that
looks like a VIN but is not a valid one as read, a small whitelisted re-read of that word
(vin_reread.py). Then the words of all pages, in deskewed coordinates, form one layout
(layout.py) that field extraction reads (fields.py); the result's boxes are in the decoded
page's pixels. Tesseract failing outright raises engine.OcrEngineError (a RuntimeError).

Bad input raises processors.errors.StepInputError (kinds: empty_payload,
payload_too_large, unsupported_content_type, corrupt_image, corrupt_pdf, encrypted_pdf,
pdf_no_pages, too_many_pages, image_too_large, not_a_file). A page without text is not an
error: it gives empty text, confidence 0 and no fields.
"""

from __future__ import annotations

import time
from pathlib import Path
from statistics import fmean

from processors.errors import StepInputError
from processors.ocr.engine import ocr_page
from processors.ocr.fields import extract_fields
from processors.ocr.kinds import classify
from processors.ocr.layout import layout_from_words
from processors.ocr.models import (
    PII_FIELDS,
    DocumentFields,
    OcrBlock,
    OcrResult,
    OcrWord,
)
from processors.ocr.pages import DEFAULT_MAX_PIXELS, check_size, open_document
from processors.ocr.preprocess import PreparedPage, prepare_page
from processors.ocr.vin_reread import reread_vins

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_PAGES", "PII_FIELDS", "DocumentFields",
           "OcrBlock", "OcrResult", "OcrWord", "ocr_document", "ocr_file"]

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_MAX_PAGES = 50


def _box_to_input(prepared: PreparedPage, left: int, top: int, width: int,
                  height: int) -> dict[str, int]:
    """A prepared-image box -> the input page's pixels (same centre after undoing rotation
    and scaling; size divided by the scale)."""
    cx, cy = prepared.to_input(left + width / 2, top + height / 2)
    w, h = width / prepared.scale, height / prepared.scale
    return {"left": round(cx - w / 2), "top": round(cy - h / 2), "width": round(w),
            "height": round(h)}


def _upright_box(prepared: PreparedPage, w: OcrWord) -> dict[str, int]:
    """A word's box moved to where it sits on the deskewed page (same size)."""
    cx, cy = prepared.to_upright(w.left + w.width / 2, w.top + w.height / 2)
    return {"left": round(cx - w.width / 2), "top": round(cy - w.height / 2)}


def ocr_document(data: bytes, *, filename: str = "", content_type: str | None = None,
                 max_bytes: int = DEFAULT_MAX_BYTES, max_pages: int = DEFAULT_MAX_PAGES,
                 dpi: int = 300) -> OcrResult:
    """OCR a document given as bytes (PNG, JPEG, TIFF incl. multi-page, GIF, BMP, WebP,
    PDF; detected from the bytes). `dpi`: PDF render resolution and the resolution images
    are rescaled towards. Raises StepInputError for input it will not process."""
    started = time.perf_counter()
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"ocr_document takes bytes, got {type(data).__name__}")
    doc = open_document(bytes(data), filename=filename, content_type=content_type,
                        max_bytes=max_bytes, max_pages=max_pages, dpi=dpi,
                        max_pixels=DEFAULT_MAX_PIXELS)
    deskewed_words: list[OcrWord] = []
    words: list[OcrWord] = []
    blocks: list[OcrBlock] = []
    page_texts: list[str] = []
    notes: list[str] = []
    for page in doc.pages():
        prepared = prepare_page(page.image, dpi=page.dpi, target_dpi=dpi)
        page_ocr = ocr_page(prepared.image, page.number, dpi=prepared.dpi)
        page_words, reread_notes = reread_vins(page_ocr.words, prepared.straight_crop,
                                               dpi=prepared.dpi)
        if reread_notes:
            notes.extend(reread_notes)
            page_ocr = page_ocr.with_words(page_words)
        deskewed_words.extend(w.model_copy(update=_upright_box(prepared, w))
                              for w in page_words)
        words.extend(w.model_copy(update=_box_to_input(prepared, w.left, w.top, w.width,
                                                       w.height)) for w in page_words)
        blocks.extend(b.model_copy(update=_box_to_input(prepared, b.left, b.top, b.width,
                                                        b.height)) for b in page_ocr.blocks)
        page_texts.append(page_ocr.text)
    text = "\f".join(page_texts)
    kind = classify(text) if words else "other"
    extraction = extract_fields(layout_from_words(deskewed_words), kind)
    return OcrResult(
        text=text,
        confidence=fmean(w.confidence for w in words) / 100 if words else 0.0,
        pages=doc.page_count,
        words=words,
        blocks=blocks,
        fields=extraction.fields,
        document_kind=kind,
        processing_ms=(time.perf_counter() - started) * 1000,
        corrections=notes + extraction.corrections,
    )


def ocr_file(path: str | Path, *, filename: str = "", content_type: str | None = None,
             max_bytes: int = DEFAULT_MAX_BYTES, max_pages: int = DEFAULT_MAX_PAGES,
             dpi: int = 300) -> OcrResult:
    """`ocr_document` on a file; its size is checked from the file's metadata before a
    byte is read. `filename` defaults to the file's name (a format hint for error messages;
    the format itself comes from the bytes)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError as exc:
        raise StepInputError("not_a_file", f"no such file: {p}") from exc
    if not p.is_file():
        raise StepInputError("not_a_file", f"not a regular file: {p}")
    check_size(st.st_size, max_bytes)
    with p.open("rb") as f:
        data = f.read(max_bytes + 1)  # the file may have grown since stat()
    return ocr_document(data, filename=filename or p.name, content_type=content_type,
                        max_bytes=max_bytes, max_pages=max_pages, dpi=dpi)
