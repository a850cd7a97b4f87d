"""Tesseract through pytesseract: one `image_to_data` call per page -> words and blocks
(plus `read_line`, a whitelisted single-line read used to re-read doubtful VINs).

OMP_THREAD_LIMIT=1 is set here (unless already set; the one place it is set), at import,
before any tesseract process is spawned, so every child inherits it: multi-threaded
tesseract is ~5x slower per page on these machines; throughput comes from running pages in
several processes instead.

The page is handed to tesseract as an uncompressed TIFF we write ourselves (~5 ms):
pytesseract would otherwise PNG-encode it (~180 ms for a 300-dpi page), and leptonica reads
PGM/BMP ~25% slower than TIFF (measured: 0.54 s vs 0.41 s for the same page).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from statistics import fmean

import pytesseract
from PIL import Image

from processors.ocr.models import OcrBlock, OcrWord

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

PAGE_TIMEOUT_S = 180
LANG = "eng"
_WORD_LEVEL, _BLOCK_LEVEL = 5, 2


class OcrEngineError(RuntimeError):
    """Tesseract failed or timed out on a page (not the input's fault as far as we know)."""

    kind = "ocr_engine_failed"  # the dead-letter reason on the stream


@dataclass(frozen=True)
class PageText:
    """One page's OCR: words in reading order, blocks, and the page text (blocks joined by
    a blank line, lines by newlines, words by spaces)."""

    page: int
    words: list[OcrWord]
    blocks: list[OcrBlock]
    text: str
    block_boxes: dict[int, tuple[int, int, int, int]]

    def with_words(self, words: list[OcrWord]) -> PageText:
        """The same page with `words` instead (e.g. a re-read VIN; blocks and text follow)."""
        return assemble(self.page, words, self.block_boxes)


def _run(image: Image.Image, config: str, output: str, timeout_s: float) -> str:
    """One tesseract process on `image` (mode "L" or "1"); `output`: "tsv" or "txt"."""
    if image.mode not in ("L", "1"):
        raise ValueError(f"tesseract input must be an 'L' or '1' image, got {image.mode!r}")
    run = pytesseract.image_to_data if output == "tsv" else pytesseract.image_to_string
    with tempfile.NamedTemporaryFile(prefix="auterity_ocr_", suffix=".tif") as f:
        image.save(f, format="TIFF")  # uncompressed: the cheapest to write and to read
        f.flush()
        try:
            out = run(f.name, lang=LANG, config=config, output_type=pytesseract.Output.STRING,
                      timeout=timeout_s)
        except pytesseract.TesseractError as exc:
            raise OcrEngineError(f"tesseract failed (status {exc.status}): "
                                 f"{exc.message}") from exc
        except RuntimeError as exc:  # pytesseract's timeout is a bare RuntimeError
            raise OcrEngineError(f"tesseract did not finish in {timeout_s} s") from exc
    return str(out)


def run_tesseract_tsv(image: Image.Image, *, dpi: float | None = None, psm: int = 3,
                      timeout_s: float = PAGE_TIMEOUT_S) -> str:
    """Tesseract's TSV (words with boxes and confidences) for a page image."""
    config = f"--psm {psm}" + (f" --dpi {round(dpi)}" if dpi is not None else "")
    return _run(image, config, "tsv", timeout_s)


def read_line(image: Image.Image, *, whitelist: str, dpi: float | None = None,
              timeout_s: float = 30) -> str:
    """The text of a single-line image (psm 7) using only `whitelist` characters."""
    config = f"--psm 7 -c tessedit_char_whitelist={whitelist}"
    config += f" --dpi {round(dpi)}" if dpi is not None else ""
    return _run(image, config, "txt", timeout_s).strip()


def parse_tsv(tsv: str, page: int, scale: float = 1.0) -> PageText:
    """Words (level 5, non-blank) and blocks (level 2) from tesseract TSV. Coordinates are
    divided by `scale`. Lines are renumbered per block across paragraphs. Confidences keep
    tesseract's decimals (pytesseract's DICT output truncates them to integers)."""
    block_boxes: dict[int, tuple[int, int, int, int]] = {}
    words: list[OcrWord] = []
    line_ids: dict[tuple[int, int, int], int] = {}
    lines_in_block: dict[int, int] = {}
    for raw in tsv.splitlines()[1:]:
        cells = raw.split("\t")
        if len(cells) < 11:
            continue
        level, block, par, line = (int(cells[0]), int(cells[2]), int(cells[3]),
                                   int(cells[4]))
        left, top, width, height = (round(int(c) / scale) for c in cells[6:10])
        if level == _BLOCK_LEVEL:
            block_boxes[block] = (left, top, width, height)
            continue
        text = cells[11].strip() if len(cells) > 11 else ""
        conf = float(cells[10])
        if level != _WORD_LEVEL or not text or conf < 0:
            continue
        key = (block, par, line)
        if key not in line_ids:
            lines_in_block[block] = lines_in_block.get(block, 0) + 1
            line_ids[key] = lines_in_block[block]
        words.append(OcrWord(text=text, confidence=min(100.0, conf), page=page, block=block,
                             line=line_ids[key], left=left, top=top, width=width,
                             height=height))
    return assemble(page, words, block_boxes)


def assemble(page: int, words: list[OcrWord],
             block_boxes: dict[int, tuple[int, int, int, int]]) -> PageText:
    """Blocks and page text from words; a block without words is dropped."""
    by_block: dict[int, list[OcrWord]] = {}
    for w in words:
        by_block.setdefault(w.block, []).append(w)
    blocks, texts = [], []
    for block, (left, top, width, height) in block_boxes.items():
        bw = by_block.get(block)
        if not bw:
            continue
        lines: dict[int, list[str]] = {}
        for w in bw:
            lines.setdefault(w.line, []).append(w.text)
        text = "\n".join(" ".join(ws) for _, ws in sorted(lines.items()))
        texts.append(text)
        blocks.append(OcrBlock(page=page, block=block, text=text,
                               confidence=fmean(w.confidence for w in bw), left=left, top=top,
                               width=width, height=height))
    return PageText(page, words, blocks, "\n\n".join(texts), block_boxes)


def ocr_page(image: Image.Image, page: int, *, dpi: float | None = None, scale: float = 1.0,
             psm: int = 3) -> PageText:
    """OCR one prepared page image (one tesseract call)."""
    return parse_tsv(run_tesseract_tsv(image, dpi=dpi, psm=psm), page, scale)
