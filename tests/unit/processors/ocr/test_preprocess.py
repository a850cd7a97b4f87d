"""Page preparation, word layout and the VIN re-read choice (no tesseract except where
named)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image, ImageDraw

from processors.ocr.layout import layout_from_words
from processors.ocr.models import OcrWord
from processors.ocr.preprocess import (
    estimate_skew,
    noise_sigma,
    otsu_threshold,
    prepare_page,
)
from processors.ocr.vin_reread import choose_reading, needs_reread


def text_like_page(dot: tuple[int, int] = (1850, 2300)) -> Image.Image:
    """Bars like lines of text, plus a lone dot to track."""
    im = Image.new("L", (2000, 2600), 255)
    d = ImageDraw.Draw(im)
    for i, y in enumerate(range(300, 1800, 60)):
        d.rectangle([200, y, 1700 - 37 * (i % 7), y + 25], fill=0)
    d.rectangle([dot[0], dot[1], dot[0] + 20, dot[1] + 20], fill=0)
    return im


def centroid(img: Image.Image, box: tuple[int, int, int, int]) -> tuple[float, float]:
    a = 255.0 - np.asarray(img.crop(box), dtype=np.float64)
    ys, xs = np.mgrid[0 : a.shape[0], 0 : a.shape[1]]
    return box[0] + float((xs * a).sum() / a.sum()), box[1] + float((ys * a).sum() / a.sum())


def test_otsu_splits_a_bimodal_histogram() -> None:
    hist = np.zeros(256)
    hist[30:50] = 100
    hist[200:230] = 400
    assert 49 <= otsu_threshold(hist) < 200
    assert otsu_threshold(np.zeros(256)) == 127


@pytest.mark.parametrize("angle", [-7.0, -3.0, -1.2, 0.0, 0.8, 2.5, 6.0])
def test_skew_estimate_within_a_tenth_of_a_degree(angle: float) -> None:
    page = text_like_page().rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=255)
    assert estimate_skew(page) == pytest.approx(-angle, abs=0.1)


def test_blank_page_has_no_skew() -> None:
    assert estimate_skew(Image.new("L", (1000, 1300), 255)) == 0.0


@pytest.mark.parametrize(("angle", "method"), [(3.0, "shear"), (-4.5, "rotate"),
                                               (0.3, None)])
def test_prepared_points_map_back_to_the_input_page(angle: float, method: str | None) -> None:
    page = text_like_page().rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=255)
    prepared = prepare_page(page)
    assert prepared.rotated == (method is not None)
    if method:
        assert prepared.method == method
        assert abs(estimate_skew(prepared.image)) <= 0.15  # the page is straight now
    window = (1650, 2100, 2000, 2550)
    dot_in, dot_prepared = centroid(page, window), centroid(prepared.image, window)
    assert prepared.to_input(*dot_prepared) == pytest.approx(dot_in, abs=1.0)
    if not prepared.rotated:  # only the coordinates are straightened: a bar is level again
        left, right = (prepared.to_upright(*rotated_point(x, 312.5, angle, (1000, 1300)))
                       for x in (250, 1650))
        assert left[1] == pytest.approx(right[1], abs=0.5)
        assert right[0] - left[0] == pytest.approx(1400, abs=0.5)


def rotated_point(x: float, y: float, degrees: float,
                  center: tuple[float, float]) -> tuple[float, float]:
    """Where Image.rotate(degrees) moves the point (x, y)."""
    a = math.radians(degrees)
    dx, dy = x - center[0], y - center[1]
    return (center[0] + dx * math.cos(a) + dy * math.sin(a),
            center[1] - dx * math.sin(a) + dy * math.cos(a))


@pytest.mark.parametrize("angle", [3.0, -4.5, 0.3])
def test_straight_crop_is_upright_for_every_method(angle: float) -> None:
    page = text_like_page().rotate(angle, resample=Image.Resampling.BILINEAR, fillcolor=255)
    prepared = prepare_page(page)
    # the first bar, found in the prepared image, cut out: its ink rows form one band
    ink_rows = np.nonzero((np.asarray(prepared.image)[:, 600:1300] < 128).any(axis=1))[0]
    top = int(ink_rows[0])
    crop = prepared.straight_crop(400, top - 40, 1400, top + 70)
    profile = (np.asarray(crop) < 128).mean(axis=1)
    assert profile.max() > 0.9  # a level bar fills whole rows (a skewed crop: < 0.6)


def test_rescale_by_dpi_and_size() -> None:
    page = Image.new("L", (5100, 6600), 255)
    halved = prepare_page(page, dpi=600)
    assert halved.image.size == (2550, 3300) and halved.scale == 0.5 and halved.dpi == 300
    capped = prepare_page(page)  # no dpi: long side capped
    assert max(capped.image.size) == 4400
    assert prepare_page(Image.new("L", (400, 250), 255)).image.size == (800, 500)


def test_noise_estimate_and_heavy_noise_filter() -> None:
    rng = np.random.default_rng(0)
    clean = Image.new("L", (800, 800), 240)
    noisy = Image.fromarray(np.clip(240 + rng.normal(0, 40, (800, 800)), 0, 255)
                            .astype(np.uint8))
    assert noise_sigma(clean) == 0.0
    assert 25 < noise_sigma(noisy) < 60
    assert prepare_page(noisy).denoised and not prepare_page(clean).denoised


def test_prepare_takes_greyscale_only() -> None:
    with pytest.raises(ValueError, match="'L'"):
        prepare_page(Image.new("RGB", (10, 10)))


def word(text: str, left: int, top: int, width: int, height: int, line: int = 1,
         block: int = 1) -> OcrWord:
    return OcrWord(text=text, confidence=90, page=1, block=block, line=line, left=left,
                   top=top, width=width, height=height)


def test_words_become_rows_and_cells_even_when_tesseract_merged_two_lines() -> None:
    words = [  # tesseract put a small label line and its value line in ONE line
        word("Customer", 100, 100, 120, 16), word("Maria", 100, 130, 90, 28),
        word("Name", 230, 100, 70, 16), word("Johnson", 200, 130, 130, 28),
        word("Cell", 900, 100, 50, 16, block=2), word("615-555-0130", 900, 130, 200, 28,
                                                       block=2),
    ]
    rows = layout_from_words(words).rows
    assert [[c.text for c in r.cells] for r in rows] == [
        ["Customer Name", "Cell"], ["Maria Johnson", "615-555-0130"]]


@pytest.mark.parametrize(("text", "reread"), [
    ("1HGCM82633A004352", False),  # valid as read
    ("1HGCM82633AO04352", False),  # O -> 0 alone makes it valid: safe
    ("1HGCM8263IA004352", True),  # an I: 1 and J share a check value
    ("1IHGCM82633A004352", True),  # an inserted character
    ("VIN:", False), ("Nashville,", False),
])
def test_which_words_are_re_read(text: str, reread: bool) -> None:
    assert needs_reread(text) is reread


def test_re_read_choice() -> None:
    valid = "1HGCM82633A004352"
    assert choose_reading("1IHGCM82633A004352", valid)[0] == valid  # re-read fixed it
    text, notes = choose_reading("1HGCM82633AO04352", "1HGCM8Z633A004352")
    assert text == "1HGCM82633AO04352" and notes == []  # page read repairs cleanly
    assert choose_reading("1IHGCM82633A004352", "junk") == ("1IHGCM82633A004352", [])
