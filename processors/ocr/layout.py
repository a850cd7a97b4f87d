"""Visual rows and cells: the geometry field extraction reads labels and values from.

A *row* is a visual line across the whole page (tesseract often puts the columns of one
line in different blocks); a *cell* is a run of words inside a row with no wide gap, i.e.
one "label: value" or one column entry. Field extraction looks for a label's value after it
in the same cell, in the next cell to the right, or in the cell below it (form boxes).

Both OCR words (pixels) and plain text (characters; cells split at 2+ spaces or tabs) build
the same structure, so extraction is tested on text and run on scans with one code path.
Invariant: rows are in reading order (page, then top); cells in a row are left to right.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

from processors.ocr.models import OcrWord

CELL_GAP_FACTOR = 1.6  # a gap wider than this many word heights starts a new cell
_TEXT_CELL_SPLIT = re.compile(r"\t+|\s{2,}")


@dataclass(frozen=True)
class Cell:
    text: str
    left: float
    right: float
    row: int  # index of its row in Layout.rows


@dataclass(frozen=True)
class Row:
    index: int
    page: int
    top: float
    bottom: float
    cells: tuple[Cell, ...]

    @property
    def text(self) -> str:
        return "  ".join(c.text for c in self.cells)

    @property
    def height(self) -> float:
        return max(1.0, self.bottom - self.top)


@dataclass(frozen=True)
class Layout:
    rows: tuple[Row, ...]

    def cells(self) -> list[Cell]:
        return [c for r in self.rows for c in r.cells]

    def right_of(self, cell: Cell) -> Cell | None:
        """The next cell to the right in the same row."""
        cells = self.rows[cell.row].cells
        i = cells.index(cell)
        return cells[i + 1] if i + 1 < len(cells) else None

    def below(self, cell: Cell, max_rows: int = 1) -> Cell | None:
        """The cell under `cell` in the next row (same page, not further than two row
        heights down) that overlaps it horizontally the most."""
        row = self.rows[cell.row]
        for nxt in self.rows[cell.row + 1 : cell.row + 1 + max_rows]:
            if nxt.page != row.page or nxt.top - row.bottom > 2 * row.height:
                return None
            best, best_overlap = None, 0.0
            for c in nxt.cells:
                overlap = min(c.right, cell.right) - max(c.left, cell.left)
                if overlap > best_overlap:
                    best, best_overlap = c, overlap
            if best is not None:
                return best
        return None

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.rows)


def layout_from_text(text: str) -> Layout:
    """One row per non-blank line (a form feed starts a new page); cells split at runs of
    2+ spaces or tabs; positions in characters, row `top` is the line number."""
    rows: list[Row] = []
    line_no = 0
    for page, page_text in enumerate(text.split("\f"), start=1):
        for line in page_text.splitlines():
            line_no += 1
            cells = []
            pos = 0
            for part in _TEXT_CELL_SPLIT.split(line):
                start = line.index(part, pos) if part else pos
                pos = start + len(part)
                if part.strip():
                    cells.append(Cell(" ".join(part.split()), float(start), float(pos),
                                      len(rows)))
            if cells:
                rows.append(Row(len(rows), page, float(line_no), float(line_no + 1),
                                tuple(cells)))
    return Layout(tuple(rows))


@dataclass
class _Band:
    page: int
    center_sum: float
    height_sum: float
    words: list[OcrWord]

    @property
    def center(self) -> float:
        return self.center_sum / len(self.words)

    @property
    def height(self) -> float:
        return self.height_sum / len(self.words)

    def add(self, w: OcrWord) -> None:
        self.words.append(w)
        self.center_sum += w.top + w.height / 2
        self.height_sum += w.height


def layout_from_words(words: Sequence[OcrWord]) -> Layout:
    """Rows from word boxes (deskewed coordinates): a word joins the row whose mean vertical
    centre is within half a word height of its own (words, not tesseract's lines, so two
    text lines tesseract merged still become two rows); a row's words split into cells at
    gaps wider than CELL_GAP_FACTOR times the row's median word height."""
    bands: list[_Band] = []
    for w in sorted(words, key=lambda w: (w.page, w.top + w.height / 2)):
        center = w.top + w.height / 2
        target = None
        for band in reversed(bands[-6:]):
            if band.page != w.page:
                break
            if abs(band.center - center) <= 0.5 * max(band.height, w.height, 1):
                target = band
                break
        if target is None:
            bands.append(_Band(w.page, center, float(w.height), [w]))
        else:
            target.add(w)
    bands.sort(key=lambda b: (b.page, b.center))
    rows: list[Row] = []
    for band in bands:
        ws = sorted(band.words, key=lambda w: w.left)
        gap_limit = CELL_GAP_FACTOR * median(max(1, w.height) for w in ws)
        groups: list[list[OcrWord]] = [[ws[0]]]
        for prev, w in zip(ws, ws[1:], strict=False):
            if w.left - (prev.left + prev.width) > gap_limit:
                groups.append([w])
            else:
                groups[-1].append(w)
        index = len(rows)
        cells = tuple(Cell(" ".join(w.text for w in g), float(g[0].left),
                           float(max(w.left + w.width for w in g)), index) for g in groups)
        rows.append(Row(index, band.page, min(w.top for w in ws),
                        max(w.top + w.height for w in ws), cells))
    return Layout(tuple(rows))
