"""Page clean-up before tesseract, kept cheap: tesseract itself takes ~0.2-0.5 s for a
300-dpi page here, so every full-page pass costs percent.

What a page goes through (`prepare_page`):
1. rescale towards `target_dpi`: pages whose dpi (from the file) is over 1.5x the target are
   shrunk to it, pages under 200 dpi are enlarged (at most 3x); with no dpi, a page whose long
   side exceeds MAX_SIDE_PX is shrunk to it, one under MIN_SIDE_PX is doubled;
2. heavy noise (sigma estimated on the input over NOISE_SIGMA_MEDIAN grey levels,
   `noise_sigma`) gets a 3x3 median filter (~300 ms a page, so only then); lighter noise is
   left to tesseract's own thresholding, which it does not disturb;
3. skew: estimated on a ~1000-px thumbnail with a projection-profile search over +-10
   degrees (`estimate_skew`, ~7 ms). From `deskew_min_degrees` (PIXEL_DESKEW_MIN_DEGREES)
   up the pixels are straightened: under SHEAR_MAX_DEGREES by moving whole columns up/down
   (`shear_columns`, ~11 ms, letters keep a slight slant tesseract reads like italics),
   beyond it by a bilinear rotation of the box holding ink (`rotate_content`, ~25-40 ms).
   Below the threshold only the layout's coordinates are straightened (`to_upright`).
   Measured on the synthetic scans: without straightening tesseract already merges a form
   box's small label line with its value line at 1.5 degrees, drops whole boxes at 3 (59/61
   fields), and fails at 5 (51/61) and 8 (1/61); rotation gets 61/61 at 3/5/8 degrees,
   shearing 61/61, 61/61, 60/61, nearest-neighbour rotation 57/61 at 3. Over 7 x 17 scans
   the hybrid read as many fields right as rotating every page (927/933) for ~25 ms less
   per skewed page;
4. Otsu binarisation (`otsu_threshold`, from the thumbnail's histogram) when `binarize`
   (off by default: tesseract is ~18% faster on a binary page but read fewer fields right).

Invariant: the prepared image is mode "L" (or "1" when binarised), never larger than the
input times 3 per side; `to_input` maps its pixels back to the input page, `to_upright` to
the deskewed page, and `straight_crop` cuts an upright, resampled region (for re-reads).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

MAX_SIDE_PX = 4400  # a letter page at 400 dpi
PIXEL_DESKEW_MIN_DEGREES = 0.5
SHEAR_MAX_DEGREES = 4.0
MIN_SIDE_PX = 900
NOISE_SIGMA_MEDIAN = 25.0
_THUMB_SIDE = 1000
_MAX_POINTS = 30_000


@dataclass(frozen=True)
class PreparedPage:
    """What tesseract reads, and how it relates to the input page."""

    image: Image.Image
    scale: float  # prepared px per input px
    skew_degrees: float  # estimated skew; the page was rotated by this when `rotated`
    rotated: bool
    dpi: float | None  # effective dpi of `image`, if the input's was known
    noise_sigma: float
    denoised: bool
    threshold: int | None  # Otsu threshold used when binarised
    center: tuple[float, float] | None = None  # rotation centre when `rotated`
    method: str = "rotate"  # how the pixels were straightened when `rotated`
    source: Image.Image | None = None  # the rescaled page before it was straightened

    def straight_crop(self, left: int, top: int, right: int, bottom: int,
                      margin: int = 2) -> Image.Image:
        """The region (prepared pixels) as an upright, properly resampled crop: a rotated
        page is cropped as is; a sheared one from `source`, rotated (bilinear; a crop is
        small); an unstraightened one rotated by its skew."""
        box = (left - margin, top - margin, right + margin, bottom + margin)
        if self.rotated and self.method == "rotate":
            return _crop(self.image, box)
        if self.rotated and self.method == "shear" and self.source is not None:
            ys = [box[1] + column_shift(x, self.image.size[0], self.skew_degrees)
                  for x in (box[0], box[2])] + \
                 [box[3] + column_shift(x, self.image.size[0], self.skew_degrees)
                  for x in (box[0], box[2])]
            crop = _crop(self.source, (box[0], min(ys), box[2], max(ys)))
        else:
            crop = _crop(self.image, box)
        if abs(self.skew_degrees) < 0.2:
            return crop
        return crop.rotate(self.skew_degrees, resample=Image.Resampling.BILINEAR,
                           expand=True, fillcolor=255)

    def to_input(self, x: float, y: float) -> tuple[float, float]:
        """A point of the prepared image -> the same point of the input page: undo the
        rotation (Pillow's own affine matrix for `rotate`, about `center`), then the
        scaling."""
        if self.rotated and self.method == "shear":
            y += column_shift(x, self.image.size[0], self.skew_degrees)
        elif self.rotated:
            cx, cy = self.center or (self.image.size[0] / 2, self.image.size[1] / 2)
            phi = -math.radians(self.skew_degrees)
            dx, dy = x - cx, y - cy
            x, y = (math.cos(phi) * dx + math.sin(phi) * dy + cx,
                    -math.sin(phi) * dx + math.cos(phi) * dy + cy)
        return x / self.scale, y / self.scale

    def to_upright(self, x: float, y: float) -> tuple[float, float]:
        """A point of the prepared image -> where it is once the skew is removed (itself
        when the pixels were rotated already). Layout reads rows in these coordinates."""
        if self.rotated or not self.skew_degrees:
            return x, y
        cx, cy = self.image.size[0] / 2, self.image.size[1] / 2
        phi = -math.radians(self.skew_degrees)
        dx, dy = x - cx, y - cy
        return (math.cos(phi) * dx - math.sin(phi) * dy + cx,
                math.sin(phi) * dx + math.cos(phi) * dy + cy)


def _crop(image: Image.Image, box: tuple[int, int, int, int]) -> Image.Image:
    w, h = image.size
    crop = image.crop((max(0, box[0]), max(0, box[1]), min(w, box[2]), min(h, box[3])))
    return crop.convert("L") if crop.mode == "1" else crop


def otsu_threshold(hist: np.ndarray) -> int:
    """The grey level t maximising between-class variance of a 256-bin histogram; pixels
    <= t are ink. Returns 127 for an empty or single-level histogram."""
    h = np.asarray(hist, dtype=np.float64)
    total = h.sum()
    if total <= 0:
        return 127
    levels = np.arange(h.size, dtype=np.float64)
    w0 = np.cumsum(h)
    w1 = total - w0
    s0 = np.cumsum(h * levels)
    mu_t = s0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu_t * w0 - total * s0) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = -1.0
    if between.max() <= 0:
        return 127
    return int(np.argmax(between))


def thumbnail(gray: Image.Image, side: int = _THUMB_SIDE) -> Image.Image:
    """A box-reduced copy whose long side is about `side` (cheap: Image.reduce)."""
    factor = max(1, round(max(gray.size) / side))
    return gray.reduce(factor) if factor > 1 else gray


def ink_points(thumb: Image.Image) -> tuple[np.ndarray, np.ndarray, int]:
    """Centred (x, y) float arrays of the thumbnail's ink pixels (Otsu), subsampled to at
    most _MAX_POINTS, and the threshold used."""
    arr = np.asarray(thumb)
    t = otsu_threshold(np.bincount(arr.ravel(), minlength=256))
    ys, xs = np.nonzero(arr <= t)
    if ys.size > _MAX_POINTS:
        step = ys.size // _MAX_POINTS + 1
        ys, xs = ys[::step], xs[::step]
    h, w = arr.shape
    # dither by up to half a pixel: projections of points on the integer grid would
    # otherwise pile into whole bins at exactly 0 degrees and favour it over the true skew
    jitter = np.random.default_rng(0).uniform(-0.5, 0.5, (2, xs.size))
    return xs + jitter[0] - w / 2, ys + jitter[1] - h / 2, t


def _profile_score(xs: np.ndarray, ys: np.ndarray, degrees: float) -> float:
    a = math.radians(degrees)
    proj = np.round(ys * math.cos(a) - xs * math.sin(a)).astype(np.int64)
    counts = np.bincount(proj - proj.min())
    return float(np.dot(counts, counts))


def estimate_skew(gray: Image.Image, max_degrees: float = 10.0) -> float:
    """The rotation (degrees, counter-clockwise as `Image.rotate` takes it) that makes the
    text lines horizontal: the angle whose horizontal projection profile of ink is sharpest,
    searched in 0.5-degree steps (on a third of the ink) then refined to 0.05. 0.0 for a
    page with (almost) no ink, mostly ink, or ink without line structure (nothing to
    align)."""
    return skew_and_content(gray, max_degrees)[0]


def skew_and_content(gray: Image.Image, max_degrees: float = 10.0,
                     ) -> tuple[float, tuple[int, int, int, int] | None]:
    """(`estimate_skew`, the box (left, top, right, bottom) holding the page's ink, in
    `gray`'s pixels; None when there is no ink to speak of) from one thumbnail."""
    thumb = thumbnail(gray)
    xs, ys, t = ink_points(thumb)
    n_pixels = thumb.size[0] * thumb.size[1]
    if xs.size < 200 or xs.size > 0.5 * n_pixels:
        return 0.0, None

    def scores(candidates: np.ndarray, step: int = 1) -> np.ndarray:
        return np.array([_profile_score(xs[::step], ys[::step], float(d))
                         for d in candidates])

    grid = np.arange(-max_degrees, max_degrees + 1e-9, 0.5)
    coarse_scores = scores(grid, step=3)
    if coarse_scores.max() < 1.1 * float(np.median(coarse_scores)):
        return 0.0, None  # no line structure (noise, a photo): nothing to align
    coarse = float(grid[int(np.argmax(coarse_scores))])
    near = np.arange(coarse - 0.5, coarse + 0.5 + 1e-9, 0.05)
    fine = float(near[int(np.argmax(scores(near)))])
    ink = np.asarray(thumb) <= t
    rows, cols = np.nonzero(ink.sum(axis=1) >= 2)[0], np.nonzero(ink.sum(axis=0) >= 2)[0]
    f = gray.size[0] / thumb.size[0]
    box = (max(0, int((cols[0] - 1) * f)), max(0, int((rows[0] - 1) * f)),
           min(gray.size[0], int((cols[-1] + 2) * f)), min(gray.size[1], int((rows[-1] + 2) * f)))
    return round(fine, 2), box


def column_shift(x: float, width: int, degrees: float) -> int:
    """Rows a column at `x` moves up under `shear_columns` (input row = output row + it)."""
    return round(math.tan(math.radians(degrees)) * (math.floor(x) - width / 2))


def shear_columns(gray: Image.Image, degrees: float) -> Image.Image:
    """Straighten text lines skewed by `degrees` (the angle `Image.rotate` would take) by
    moving each column up or down by whole pixels: no resampling, so glyphs keep their
    pixels, and ~4x cheaper than a bilinear rotation. The residual horizontal shear leaves
    letters slanted by `degrees`, which tesseract reads like italics."""
    a = np.asarray(gray)
    h, w = a.shape
    out = np.full_like(a, 255)
    shifts = np.array([column_shift(x, w, degrees) for x in range(w)])
    edges = np.flatnonzero(np.diff(shifts)) + 1
    for x0, x1 in zip(np.concatenate(([0], edges)), np.concatenate((edges, [w])), strict=True):
        k = int(shifts[x0])
        if k >= 0:
            out[: h - k, x0:x1] = a[k:, x0:x1]
        else:
            out[-k:, x0:x1] = a[: h + k, x0:x1]
    return Image.fromarray(out, mode="L")


def rotate_content(gray: Image.Image, degrees: float, box: tuple[int, int, int, int] | None,
                   resample: Image.Resampling = Image.Resampling.BILINEAR,
                   ) -> tuple[Image.Image, tuple[float, float]]:
    """`gray` with the ink inside `box` rotated by `degrees` about the box's centre; only
    the box (grown so nothing rotates out of it) is resampled, the blank rest is copied.
    Returns the image and the rotation centre."""
    w, h = gray.size
    if box is None:
        box = (0, 0, w, h)
    x0, y0, x1, y1 = box
    grow = math.ceil(max(x1 - x0, y1 - y0) / 2 * abs(math.sin(math.radians(degrees)))) + 4
    x0, y0, x1, y1 = max(0, x0 - grow), max(0, y0 - grow), min(w, x1 + grow), min(h, y1 + grow)
    center = ((x0 + x1) / 2, (y0 + y1) / 2)
    if (x1 - x0) * (y1 - y0) > 0.8 * w * h:  # mostly ink: rotate the page as a whole
        return gray.rotate(degrees, resample=resample, fillcolor=255, center=center), center
    out = gray.copy()
    out.paste(gray.crop((x0, y0, x1, y1)).rotate(degrees, resample=resample, fillcolor=255),
              (x0, y0))
    return out, center


def noise_sigma(gray: Image.Image) -> float:
    """Robust estimate of additive noise (grey levels): the median absolute difference of
    horizontal neighbours in the central crop, scaled to a Gaussian sigma. Text edges are few
    next to paper, so the median sees paper grain."""
    w, h = gray.size
    cw, ch = min(w, 512), min(h, 512)
    box = ((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch)
    arr = np.asarray(gray.crop(box), dtype=np.int16)
    if arr.shape[1] < 2:
        return 0.0
    d = np.abs(np.diff(arr, axis=1))
    return float(np.median(d)) * 1.4826 / math.sqrt(2)


def _rescale(gray: Image.Image, dpi: float | None, target_dpi: int) -> tuple[Image.Image, float]:
    long_side = max(gray.size)
    if dpi is not None:
        if dpi > 1.5 * target_dpi:
            factor = target_dpi / dpi
        elif dpi < 200:
            factor = min(3.0, target_dpi / dpi)
        else:
            return gray, 1.0
    elif long_side > MAX_SIDE_PX:
        factor = MAX_SIDE_PX / long_side
    elif long_side < MIN_SIDE_PX:
        factor = 2.0
    else:
        return gray, 1.0
    if factor < 1 and abs(1 / factor - round(1 / factor)) < 0.05:
        k = round(1 / factor)
        return gray.reduce(k), 1.0 / k
    size = (max(1, round(gray.size[0] * factor)), max(1, round(gray.size[1] * factor)))
    resample = Image.Resampling.BILINEAR if factor < 1 else Image.Resampling.BICUBIC
    return gray.resize(size, resample, reducing_gap=2.0 if factor < 1 else None), factor


def prepare_page(gray: Image.Image, *, dpi: float | None = None, target_dpi: int = 300,
                 deskew_min_degrees: float = PIXEL_DESKEW_MIN_DEGREES,
                 binarize: bool = False,
                 resample: Image.Resampling = Image.Resampling.BILINEAR,
                 deskew: str | None = None) -> PreparedPage:
    """Rescale, deskew, denoise (heavy noise only) and optionally binarise a greyscale page."""
    if gray.mode != "L":
        raise ValueError(f"prepare_page takes an 'L' image, got {gray.mode!r}")
    sigma = noise_sigma(gray)  # of the scan itself: resampling would smooth it
    image, scale = _rescale(gray, dpi, target_dpi)
    eff_dpi = dpi * scale if dpi is not None else None
    denoised = sigma > NOISE_SIGMA_MEDIAN
    if denoised:
        image = image.filter(ImageFilter.MedianFilter(3))
    skew, content = skew_and_content(image)
    rotated = abs(skew) >= deskew_min_degrees
    center = None
    source = image
    method = deskew or ("shear" if abs(skew) < SHEAR_MAX_DEGREES else "rotate")
    if rotated and method == "shear":
        image = shear_columns(image, skew)
    elif rotated:
        image, center = rotate_content(image, skew, content, resample)
    threshold = None
    if binarize:
        threshold = otsu_threshold(np.bincount(np.asarray(thumbnail(image)).ravel(),
                                               minlength=256))
        image = image.point([0 if v <= threshold else 255 for v in range(256)], "1")
    return PreparedPage(image=image, scale=scale, skew_degrees=skew, rotated=rotated,
                        dpi=eff_dpi, noise_sigma=sigma, denoised=denoised, threshold=threshold,
                        center=center, method=method, source=source if rotated else None)
