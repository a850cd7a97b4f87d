"""Bytes -> page images: format detection from magic bytes, limits, PDF rendering.

Invariants enforced here (each violation raises StepInputError with the kind in brackets):
- the payload is non-empty [empty_payload] and at most `max_bytes` [payload_too_large] —
  checked on the length before anything is decoded;
- the format comes from the leading magic bytes; a filename or content type only chooses
  the error when the bytes match no supported format [unsupported_content_type,
  corrupt_image, corrupt_pdf];
- a document has 1..`max_pages` pages [pdf_no_pages, too_many_pages], counted before any
  page is decoded or rendered;
- an image frame has at most `max_pixels` pixels, checked from its header before its pixels
  are decoded [image_too_large]; a PDF page is rendered at `dpi` unless that would exceed
  `max_pixels`, in which case it is rendered at the highest dpi that fits;
- pages are yielded one at a time as 8-bit greyscale ("L") images, so a 50-page document
  never holds 50 decoded pages at once.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePath

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from processors.errors import StepInputError

DEFAULT_MAX_PIXELS = 80_000_000  # ~600 dpi tabloid; below Pillow's own bomb warning (89.5M)

#: (format, magic bytes at offset 0). WebP is RIFF....WEBP, checked separately.
_MAGIC: tuple[tuple[str, bytes], ...] = (
    ("PNG", b"\x89PNG\r\n\x1a\n"),
    ("JPEG", b"\xff\xd8\xff"),
    ("TIFF", b"II*\x00"),
    ("TIFF", b"MM\x00*"),
    ("GIF", b"GIF87a"),
    ("GIF", b"GIF89a"),
    ("BMP", b"BM"),
)
SUPPORTED_FORMATS: tuple[str, ...] = ("PNG", "JPEG", "TIFF", "GIF", "BMP", "WEBP", "PDF")
_MIME: dict[str, str] = {
    "image/png": "PNG", "image/jpeg": "JPEG", "image/jpg": "JPEG", "image/pjpeg": "JPEG",
    "image/tiff": "TIFF", "image/tif": "TIFF", "image/gif": "GIF", "image/bmp": "BMP",
    "image/x-ms-bmp": "BMP", "image/webp": "WEBP", "application/pdf": "PDF",
    "application/x-pdf": "PDF",
}
_EXT: dict[str, str] = {
    ".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".tif": "TIFF",
    ".tiff": "TIFF", ".gif": "GIF", ".bmp": "BMP", ".webp": "WEBP", ".pdf": "PDF",
}
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_MULTI_PAGE_IMAGE_FORMATS = frozenset({"TIFF"})  # other formats' extra frames are animation


def detect_format(data: bytes) -> str | None:
    """The document format named by `data`'s magic bytes, or None if it is none we read.

    A PDF may have up to 1 KiB of junk before `%PDF-` (readers accept that, so do we)."""
    for fmt, magic in _MAGIC:
        if data.startswith(magic):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if b"%PDF-" in data[:1024]:
        return "PDF"
    return None


def claimed_format(filename: str = "", content_type: str | None = None) -> str | None:
    """The format a content type or filename extension claims (None if neither names one).

    Raises StepInputError(unsupported_content_type) for a specific content type we do not
    read (e.g. text/plain); generic ones (application/octet-stream) claim nothing."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype and ctype not in _GENERIC_TYPES:
        if ctype not in _MIME:
            raise StepInputError(
                "unsupported_content_type",
                f"content type {ctype!r} is not a document image or PDF (supported: "
                f"{', '.join(sorted(_MIME))})")
        return _MIME[ctype]
    return _EXT.get(PurePath(filename).suffix.lower()) if filename else None


def check_size(n_bytes: int, max_bytes: int) -> None:
    """Raise StepInputError for an empty or oversized payload (before reading/decoding it)."""
    if n_bytes <= 0:
        raise StepInputError("empty_payload", "the document payload is empty (0 bytes)")
    if n_bytes > max_bytes:
        raise StepInputError(
            "payload_too_large",
            f"the document is {n_bytes:,} bytes; the limit is {max_bytes:,} bytes")


def resolve_format(data: bytes, filename: str = "", content_type: str | None = None) -> str:
    """The format to decode `data` as: its magic bytes, or a StepInputError explaining why
    the payload is not a document we read."""
    fmt = detect_format(data)
    if fmt is not None:
        return fmt
    head = data[:8].hex(" ")
    claimed = claimed_format(filename, content_type)
    if claimed == "PDF":
        raise StepInputError("corrupt_pdf",
                             f"the payload is declared a PDF but has no %PDF- header "
                             f"(first bytes: {head})")
    if claimed is not None:
        raise StepInputError("corrupt_image",
                             f"the payload is declared {claimed} but its bytes are not a "
                             f"{claimed} image (first bytes: {head})")
    raise StepInputError("unsupported_content_type",
                         f"the payload is not a {', '.join(SUPPORTED_FORMATS)} document "
                         f"(first bytes: {head})")


@dataclass(frozen=True)
class Page:
    """One page as greyscale pixels; `dpi` is what the file says (None if it does not)."""

    number: int  # 1-based
    image: Image.Image
    dpi: float | None


class LoadedDocument:
    """A validated document: its page count is known; `pages()` decodes them one by one."""

    def __init__(self, fmt: str, page_count: int, pages: Iterator[Page]) -> None:
        self.format = fmt
        self.page_count = page_count
        self._pages = pages

    def pages(self) -> Iterator[Page]:
        return self._pages


def open_document(data: bytes, *, filename: str = "", content_type: str | None = None,
                  max_bytes: int, max_pages: int, dpi: int = 300,
                  max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedDocument:
    """Check `data` against the limits and open it; raises StepInputError for bad input."""
    check_size(len(data), max_bytes)
    if dpi < 50 or dpi > 1200:
        raise ValueError(f"dpi must be within 50..1200, got {dpi}")
    fmt = resolve_format(data, filename, content_type)
    if fmt == "PDF":
        return _open_pdf(data, max_pages=max_pages, dpi=dpi, max_pixels=max_pixels)
    return _open_image(data, fmt, max_pages=max_pages, max_pixels=max_pixels)


# --- images ------------------------------------------------------------------------------------


def _open_image(data: bytes, fmt: str, *, max_pages: int, max_pixels: int) -> LoadedDocument:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[fmt])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise StepInputError("image_too_large", f"the {fmt} image is too large to decode: "
                                                f"{exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise StepInputError("corrupt_image",
                             f"the {fmt} image cannot be read: {exc}") from exc
    frames = getattr(im, "n_frames", 1) if fmt in _MULTI_PAGE_IMAGE_FORMATS else 1
    if frames > max_pages:
        raise StepInputError("too_many_pages",
                             f"the {fmt} image has {frames} pages; the limit is {max_pages}")
    _check_pixels(im.size, fmt, 1, max_pixels)
    return LoadedDocument(fmt, frames, _image_pages(im, fmt, frames, max_pixels))


def _check_pixels(size: tuple[int, int], fmt: str, page: int, max_pixels: int) -> None:
    w, h = size
    if w <= 0 or h <= 0:
        raise StepInputError("corrupt_image", f"{fmt} page {page} has an empty size {w}x{h}")
    if w * h > max_pixels:
        raise StepInputError(
            "image_too_large",
            f"{fmt} page {page} is {w}x{h} = {w * h:,} pixels; the limit is {max_pixels:,} "
            "(a decompression bomb or an absurdly high-resolution scan)")


def _image_pages(im: Image.Image, fmt: str, frames: int, max_pixels: int) -> Iterator[Page]:
    with im:
        iterator = ImageSequence.Iterator(im) if frames > 1 else iter([im])
        for number, frame in enumerate(iterator, start=1):
            if number > frames:
                break
            _check_pixels(frame.size, fmt, number, max_pixels)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", Image.DecompressionBombWarning)
                    frame.load()
                    gray = to_grayscale(_upright(frame))
            except (OSError, SyntaxError, ValueError, EOFError) as exc:
                raise StepInputError("corrupt_image",
                                     f"{fmt} page {number} cannot be decoded: {exc}") from exc
            yield Page(number, gray, _dpi(frame))


_ORIENTATION_TAG = 0x0112


def _upright(im: Image.Image) -> Image.Image:
    """`im` turned as its EXIF orientation says (phone photos); untouched (no copy) when
    it has no orientation or the normal one."""
    if im.getexif().get(_ORIENTATION_TAG, 1) in (0, 1):
        return im
    return ImageOps.exif_transpose(im)


def _dpi(im: Image.Image) -> float | None:
    dpi = im.info.get("dpi")
    try:
        x = float(dpi[0]) if isinstance(dpi, tuple) else float(dpi) if dpi else 0.0
    except (TypeError, ValueError):
        return None
    return x if 50 <= x <= 2400 else None  # 1 or 72 "dpi" from editors says nothing real


def to_grayscale(im: Image.Image) -> Image.Image:
    """8-bit greyscale; transparency is composited onto white, 16/32-bit and float images
    are rescaled to 0..255 by their maximum."""
    if im.mode == "L":
        return im
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("L")
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        import numpy as np

        arr = np.asarray(im.convert("F") if im.mode != "F" else im, dtype=np.float32)
        top = float(arr.max()) if arr.size else 0.0
        arr = arr * (255.0 / top) if top > 0 else arr
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="L")
    return im.convert("L")


# --- PDFs ----------------------------------------------------------------------------------


def _open_pdf(data: bytes, *, max_pages: int, dpi: int, max_pixels: int) -> LoadedDocument:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        if code in (_PDFIUM_ERR_PASSWORD, _PDFIUM_ERR_SECURITY):
            raise StepInputError("encrypted_pdf",
                                 f"the PDF is encrypted and cannot be opened: {exc}") from exc
        if _declares_no_pages(data):  # PDFium refuses an empty page tree outright
            raise StepInputError("pdf_no_pages", "the PDF has no pages (its page tree is "
                                                 "empty)") from exc
        raise StepInputError("corrupt_pdf", f"the PDF cannot be opened: {exc}") from exc
    n = len(pdf)
    if n == 0:
        pdf.close()
        raise StepInputError("pdf_no_pages", "the PDF has no pages")
    if n > max_pages:
        pdf.close()
        raise StepInputError("too_many_pages",
                             f"the PDF has {n} pages; the limit is {max_pages}")
    return LoadedDocument("PDF", n, _pdf_pages(pdf, n, dpi, max_pixels))


_PDFIUM_ERR_PASSWORD, _PDFIUM_ERR_SECURITY = 4, 5
_PAGE_COUNT = re.compile(rb"/Count\s*(\d+)")


def _declares_no_pages(data: bytes) -> bool:
    """True if the PDF's page-tree counts (uncompressed /Count entries) are all 0."""
    counts = [int(m.group(1)) for m in _PAGE_COUNT.finditer(data)]
    return bool(counts) and not any(counts)


def _pdf_pages(pdf: object, n: int, dpi: int, max_pixels: int) -> Iterator[Page]:
    import pypdfium2 as pdfium

    assert isinstance(pdf, pdfium.PdfDocument)
    try:
        for i in range(n):
            page = pdf[i]
            try:
                w_pt, h_pt = page.get_size()
                if w_pt <= 0 or h_pt <= 0:
                    raise StepInputError("corrupt_pdf",
                                         f"PDF page {i + 1} has an empty size {w_pt}x{h_pt} pt")
                scale = dpi / 72.0
                if w_pt * h_pt * scale * scale > max_pixels:  # a poster-sized page
                    scale = math.sqrt(max_pixels / (w_pt * h_pt)) * 0.999
                bitmap = page.render(scale=scale, grayscale=True)
                image = bitmap.to_pil()
                gray = to_grayscale(image).copy()
                bitmap.close()
            except pdfium.PdfiumError as exc:
                raise StepInputError("corrupt_pdf",
                                     f"PDF page {i + 1} cannot be rendered: {exc}") from exc
            finally:
                page.close()
            yield Page(i + 1, gray, scale * 72.0)
    finally:
        pdf.close()
