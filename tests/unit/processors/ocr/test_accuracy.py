"""OCR accuracy on synthetic dealership scans with known field values (tesseract runs).

16 single-page scans (4 kinds x distortions: rotation, blur, noise, JPEG artefacts; PNG,
JPEG and TIFF) plus a two-page repair-order PDF. Key fields must be >= 95% exact in
aggregate; a field extracted where the document has none counts as an error too.
"""

from __future__ import annotations

import io
import pickle
import re
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from connectors.samples.scans import FIELD_NAMES, SyntheticScan, corpus
from processors.ocr import OcrResult, ocr_document, ocr_file

MIN_AGGREGATE = 0.95


@pytest.fixture(scope="module")
def results() -> list[tuple[SyntheticScan, OcrResult]]:
    return [(s, ocr_document(s.data, filename=s.filename, content_type=s.content_type))
            for s in corpus(per_kind=4, seed=31)]


def field_scores(results: list[tuple[SyntheticScan, OcrResult]]) -> tuple[Counter, Counter,
                                                                          Counter, list[str]]:
    right, present, extra, misses = Counter(), Counter(), Counter(), []
    for scan, res in results:
        got = res.fields.model_dump()
        for f in FIELD_NAMES:
            want = scan.expected[f]
            if want is None:
                if got[f] is not None:
                    extra[f] += 1
                    misses.append(f"{scan.name}: {f} extracted {got[f]!r}, document has none")
                continue
            present[f] += 1
            if got[f] == want:
                right[f] += 1
            else:
                misses.append(f"{scan.name}: {f} {got[f]!r} != {want!r}")
    return right, present, extra, misses


def test_corpus_covers_every_kind_distortion_and_format(
        results: list[tuple[SyntheticScan, OcrResult]]) -> None:
    scans = [s for s, _ in results]
    assert {s.kind for s in scans} == {"repair_order", "buyers_order", "drivers_license",
                                       "insurance_card"}
    assert any(s.distortion.rotate for s in scans) and any(s.distortion.blur for s in scans)
    assert any(s.distortion.noise for s in scans)
    assert any(s.distortion.jpeg_quality for s in scans)
    assert {s.content_type for s in scans} >= {"image/png", "image/jpeg", "image/tiff",
                                               "application/pdf"}


def test_key_fields_at_least_95_percent_exact(
        results: list[tuple[SyntheticScan, OcrResult]]) -> None:
    right, present, extra, misses = field_scores(results)
    lines = [f"{f:15s} {right[f]:3d}/{present[f]:<3d} "
             f"{(right[f] / present[f] if present[f] else 1):7.1%}  false+ {extra[f]}"
             for f in FIELD_NAMES]
    total = sum(right.values()) / (sum(present.values()) + sum(extra.values()))
    report = "\n".join(["per-field accuracy (exact match):", *lines,
                        f"aggregate {total:.1%} over {len(results)} documents", *misses])
    print(report)
    assert total >= MIN_AGGREGATE, report
    assert sum(present.values()) >= 120  # the corpus really exercises the fields


def test_document_kinds(results: list[tuple[SyntheticScan, OcrResult]]) -> None:
    wrong = [(s.name, r.document_kind) for s, r in results if r.document_kind != s.kind]
    assert len(wrong) <= 1, wrong


def test_multi_page_pdf(results: list[tuple[SyntheticScan, OcrResult]]) -> None:
    scan, res = next((s, r) for s, r in results if s.pages == 2)
    assert res.pages == 2
    assert {w.page for w in res.words} == {1, 2}
    assert res.text.count("\f") == 1
    assert res.fields.total == scan.expected["total"]  # the total is on page 2
    assert res.fields.ro_number == scan.expected["ro_number"]  # the RO number on page 1


def test_result_shape(results: list[tuple[SyntheticScan, OcrResult]]) -> None:
    for scan, res in results:
        assert 0.5 < res.confidence <= 1.0, scan.name
        assert res.words and res.blocks and res.processing_ms > 0
        assert res.text.strip()
        assert all(0 <= w.confidence <= 100 for w in res.words)
        assert all(b.text for b in res.blocks)
    # boxes are in the decoded page's pixels, even where the page was deskewed
    scan, res = next((s, r) for s, r in results if abs(s.distortion.rotate) >= 2.5)
    width, height = Image.open(io.BytesIO(scan.data)).size
    assert all(-5 <= w.left and w.left + w.width <= width + 5 and -5 <= w.top
               and w.top + w.height <= height + 5 for w in res.words)
    assert pickle.loads(pickle.dumps(res)) == res  # crosses a process pool


def test_corrections_never_quote_a_vin(results: list[tuple[SyntheticScan, OcrResult]]) -> None:
    notes = [n for _, r in results for n in r.corrections]
    vins = [s.expected["vin"] for s, _ in results if s.expected["vin"]]
    assert notes  # the distorted scans do need VIN corrections
    assert not any(re.search(r"[A-Z0-9€]{12,}", n) for n in notes), notes
    assert not any(v[:10] in n for v in vins for n in notes)


def test_ocr_file_matches_ocr_document(results: list[tuple[SyntheticScan, OcrResult]],
                                       tmp_path: Path) -> None:
    scan, res = next((s, r) for s, r in results if s.kind == "insurance_card")
    path = tmp_path / scan.filename
    path.write_bytes(scan.data)
    from_file = ocr_file(path)
    assert from_file.fields == res.fields
    assert from_file.text == res.text
