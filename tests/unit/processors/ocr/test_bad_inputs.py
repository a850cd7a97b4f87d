"""Input the OCR step refuses (StepInputError with a kind and a clear message), and input
it accepts without text (not an error)."""

from __future__ import annotations

import io
import os
import random
import struct
import zlib
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

import processors.ocr.pages as pages_module
from processors.errors import StepInputError
from processors.ocr import DocumentFields, ocr_document, ocr_file
from processors.ocr.pages import DEFAULT_MAX_PIXELS

MB = 1024 * 1024


def png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def png_header_only(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose header claims width x height (1-bit grey), with the given IDAT data."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
            + chunk(b"IEND", b""))


def bomb_png(width: int, height: int) -> bytes:
    """A real decompression bomb: a valid 1-bit PNG of width x height white pixels, a few
    hundred KB compressed, gigabytes decoded."""
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    z = zlib.compressobj(9)
    parts = [z.compress(row * 1000) for _ in range(height // 1000)]
    parts.append(z.compress(row * (height % 1000)) + z.flush())
    return png_header_only(width, height, b"".join(parts))


def refused(kind: str, data: bytes, **kwargs: object) -> str:
    with pytest.raises(StepInputError) as info:
        ocr_document(data, **kwargs)  # type: ignore[arg-type]
    assert info.value.kind == kind, str(info.value)
    return str(info.value)


def test_zero_bytes() -> None:
    assert "empty" in refused("empty_payload", b"")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(b"")
    with pytest.raises(StepInputError) as info:
        ocr_file(path)
    assert info.value.kind == "empty_payload"


def test_truncated_png() -> None:
    page = Image.new("L", (800, 600), 255)
    page.paste(Image.effect_noise((400, 300), 60), (100, 100))  # incompressible rows
    data = png_bytes(page)
    message = refused("corrupt_image", data[: len(data) // 2], filename="scan.png")
    assert "PNG" in message


def test_pdf_without_pages() -> None:
    pdf = pdfium.PdfDocument.new()
    buf = io.BytesIO()
    pdf.save(buf)
    assert "no pages" in refused("pdf_no_pages", buf.getvalue(), filename="empty.pdf")


def test_corrupt_pdf() -> None:
    assert "PDF" in refused("corrupt_pdf", b"%PDF-1.7\n1 0 obj <</Type/Catalog>> garbage")


def test_too_many_pdf_pages() -> None:
    pdf = pdfium.PdfDocument.new()
    for _ in range(3):
        pdf.new_page(612, 792)
    buf = io.BytesIO()
    pdf.save(buf)
    assert "3 pages" in refused("too_many_pages", buf.getvalue(), max_pages=2)


def test_too_many_tiff_pages() -> None:
    frames = [Image.new("L", (200, 200), 255) for _ in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "TIFF", save_all=True, append_images=frames[1:])
    assert "3 pages" in refused("too_many_pages", buf.getvalue(), max_pages=2)


def test_200mb_bytes_rejected_by_length_before_any_decoding(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_run(*_: object, **__: object) -> None:
        raise AssertionError("an oversized payload was inspected")

    monkeypatch.setattr(pages_module, "resolve_format", must_not_run)
    data = bytes(200 * MB)  # calloc'd: 200 MB of real bytes, pages untouched
    message = refused("payload_too_large", data)
    assert "209,715,200 bytes" in message and "52,428,800" in message


def test_200mb_file_rejected_by_its_size_before_reading(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.pdf"
    with path.open("wb") as f:
        f.truncate(200 * MB)  # sparse: a real 200 MB file without writing 200 MB
    assert os.path.getsize(path) == 200 * MB

    def must_not_read(*_: object, **__: object) -> None:
        raise AssertionError("an oversized file was opened")

    monkeypatch.setattr(Path, "open", must_not_read)
    with pytest.raises(StepInputError) as info:
        ocr_file(path)
    assert info.value.kind == "payload_too_large"
    assert "209,715,200 bytes" in str(info.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    for path in (tmp_path / "nope.png", tmp_path):
        with pytest.raises(StepInputError) as info:
            ocr_file(path)
        assert info.value.kind == "not_a_file"


def test_random_bytes_are_not_a_document() -> None:
    noise = random.Random(0).randbytes(4096)
    assert pages_module.detect_format(noise) is None
    message = refused("unsupported_content_type", noise)
    assert "PNG, JPEG, TIFF" in message
    assert "declared PNG" in refused("corrupt_image", noise, filename="scan.png")
    assert "declared a PDF" in refused("corrupt_pdf", noise, content_type="application/pdf")
    assert "text/plain" in refused("unsupported_content_type", noise, content_type="text/plain")


def test_decompression_bomb_is_refused_before_decoding() -> None:
    data = bomb_png(20_000, 20_000)  # 400 M pixels: Pillow's DecompressionBombError range
    assert len(data) < 2 * MB
    message = refused("image_too_large", data)
    assert "too large" in message


@pytest.mark.parametrize("size", [(9_000, 9_000), (10_000, 9_000)])
def test_huge_image_headers_are_refused_by_pixel_count(size: tuple[int, int]) -> None:
    # 81 M pixels: over our limit, under Pillow's; 90 M: over Pillow's warning threshold
    assert size[0] * size[1] > DEFAULT_MAX_PIXELS
    message = refused("image_too_large", png_header_only(*size))
    assert f"{size[0] * size[1]} pixels" in message.replace(",", "")


def test_image_without_text_is_not_an_error() -> None:
    blank = Image.new("L", (1275, 1650), 250)
    result = ocr_document(png_bytes(blank), filename="blank.png")
    assert result.text == ""
    assert result.confidence == 0.0
    assert result.words == [] and result.blocks == []
    assert result.fields == DocumentFields()
    assert result.document_kind == "other"
    assert result.pages == 1


def test_content_type_does_not_override_the_bytes() -> None:
    blank = Image.new("L", (400, 300), 255)
    result = ocr_document(png_bytes(blank), content_type="application/pdf")
    assert result.pages == 1 and result.text == ""


def test_not_bytes() -> None:
    with pytest.raises(TypeError):
        ocr_document("scan.png")  # type: ignore[arg-type]
