"""Bytes -> greyscale pages for every accepted format (no tesseract)."""

from __future__ import annotations

import io

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from processors.ocr.pages import detect_format, open_document


def encoded(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


def load(data: bytes, **kwargs: object) -> list:
    doc = open_document(data, max_bytes=10**8, max_pages=10, **kwargs)  # type: ignore[arg-type]
    pages = list(doc.pages())
    assert len(pages) == doc.page_count
    return pages


def page_with_dark_square(mode: str = "RGB") -> Image.Image:
    im = Image.new(mode, (300, 200), "white")
    im.paste("black", (100, 50, 150, 100))
    return im


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "TIFF", "GIF", "BMP", "WEBP"])
def test_image_formats_from_magic_bytes(fmt: str) -> None:
    data = encoded(page_with_dark_square(), fmt)
    assert detect_format(data) == fmt
    (page,) = load(data, filename="misnamed.pdf")  # the bytes decide, not the name
    assert page.image.mode == "L" and page.image.size == (300, 200)
    arr = np.asarray(page.image)
    assert arr[75, 125] < 60 and arr[10, 10] > 200


def test_transparent_png_is_composited_on_white() -> None:
    im = Image.new("RGBA", (50, 50), (0, 0, 0, 0))  # fully transparent black
    im.paste((0, 0, 0, 255), (10, 10, 20, 20))
    arr = np.asarray(load(encoded(im, "PNG"))[0].image)
    assert arr[0, 0] == 255 and arr[15, 15] == 0


def test_16_bit_greyscale_is_rescaled() -> None:
    arr16 = np.full((40, 40), 40000, dtype=np.uint16)
    arr16[:, :20] = 10000
    im = Image.fromarray(arr16)
    arr = np.asarray(load(encoded(im, "PNG"))[0].image)
    assert arr[5, 30] == 255 and 50 < arr[5, 5] < 80


def test_multi_page_tiff_and_dpi() -> None:
    frames = [page_with_dark_square("L") for _ in range(3)]
    data = encoded(frames[0], "TIFF", save_all=True, append_images=frames[1:], dpi=(200, 200))
    pages = load(data)
    assert [p.number for p in pages] == [1, 2, 3]
    assert pages[0].dpi == pytest.approx(200)


def test_exif_orientation_is_applied() -> None:
    im = page_with_dark_square()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: the viewer turns it upright
    (page,) = load(encoded(im, "JPEG", exif=exif))
    assert page.image.size == (200, 300)


def test_pdf_pages_render_at_the_requested_dpi() -> None:
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(612, 792)  # US letter in points
    pdf.new_page(306, 396)
    buf = io.BytesIO()
    pdf.save(buf)
    pages = load(buf.getvalue(), dpi=150)
    sizes = [p.image.size for p in pages]
    assert sizes[0] == pytest.approx((1275, 1650), abs=1)  # PDFium rounds up
    assert sizes[1] == pytest.approx((638, 825), abs=1)
    assert all(p.dpi == 150 for p in pages)


def test_poster_sized_pdf_page_renders_within_the_pixel_limit() -> None:
    pdf = pdfium.PdfDocument.new()
    pdf.new_page(72 * 60, 72 * 40)  # 60 x 40 inches: 216 M pixels at 300 dpi
    buf = io.BytesIO()
    pdf.save(buf)
    (page,) = load(buf.getvalue(), max_pixels=20_000_000)
    w, h = page.image.size
    assert w * h <= 20_000_000 and w / h == pytest.approx(1.5, rel=0.01)
    assert page.dpi is not None and page.dpi < 300
