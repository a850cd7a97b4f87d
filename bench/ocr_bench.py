"""OCR bench rows: our OCR step vs the bare tesseract CLI, and process scaling.

    python -m bench.ocr_bench [n_pages]

- Pages/s, one process: `processors.ocr.ocr_document` on PNG bytes (decode, greyscale,
  skew estimate/deskew, one tesseract call, VIN re-read when one is doubtful, layout, kind,
  fields) vs `tesseract page.png -` as a subprocess with OMP_THREAD_LIMIT=1 on the same PNG
  files. Pages alternate ours/baseline so load from other processes hits both alike; each
  page's best of `rounds` rounds counts. Target: ours within 10% of the CLI (ratio >= 0.9).
  Also split into straight pages and skewed ones (which we deskew).
- Scaling: the same pages through a spawn ProcessPoolExecutor with 1 worker vs 2 workers
  (pools warmed up first); the ratio is the speedup.
The pages are synthetic dealership scans (connectors/sample_scans.py), all four document
kinds, cycling through the distortions (rotation, blur, noise, JPEG artefacts).
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from bench.table import print_table, row
from connectors.samples.scans import DISTORTIONS, KINDS, SyntheticScan, make_scan
from processors.ocr import ocr_document


def bench_pages(n_pages: int, seed: int = 11) -> list[SyntheticScan]:
    """`n_pages` single-page PNG scans cycling through kinds and distortions."""
    return [make_scan(KINDS[i % len(KINDS)], seed * 1000 + i,
                      DISTORTIONS[i % len(DISTORTIONS)], fmt="PNG")
            for i in range(n_pages)]


def _cli(path: Path) -> None:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    subprocess.run(["tesseract", str(path), "-"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def single_process(pages: list[SyntheticScan], rounds: int = 2,
                   ) -> tuple[list[float], list[float]]:
    """Seconds per page (CLI, ours), each page's best of `rounds`, pages interleaved."""
    with tempfile.TemporaryDirectory(prefix="auterity-ocr-bench-") as tmp:
        paths = []
        for p in pages:
            path = Path(tmp) / p.filename
            path.write_bytes(p.data)
            paths.append(path)
        _cli(paths[0])  # warm-up: traineddata into the page cache, imports done
        ocr_document(pages[0].data, filename=pages[0].filename)
        cli = [float("inf")] * len(pages)
        ours = [float("inf")] * len(pages)
        for _ in range(rounds):
            for i, (p, path) in enumerate(zip(pages, paths, strict=True)):
                t = time.perf_counter()
                _cli(path)
                cli[i] = min(cli[i], time.perf_counter() - t)
                t = time.perf_counter()
                ocr_document(p.data, filename=p.filename)
                ours[i] = min(ours[i], time.perf_counter() - t)
    return cli, ours


def pool_rate(pages: list[SyntheticScan], workers: int) -> float:
    """Pages/s through a warmed-up spawn process pool of `workers`."""
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        warm = [pool.submit(ocr_document, pages[i % len(pages)].data) for i in range(workers)]
        for f in warm:
            f.result()
        t = time.perf_counter()
        futures = [pool.submit(ocr_document, p.data, filename=p.filename) for p in pages]
        for f in futures:
            f.result()
        return len(pages) / (time.perf_counter() - t)


def ocr_rows(n_pages: int = 12) -> list[dict[str, Any]]:
    pages = bench_pages(n_pages)
    cli, ours = single_process(pages)
    skewed = [i for i, p in enumerate(pages) if p.distortion.rotate]
    straight = [i for i in range(len(pages)) if i not in skewed]

    def rate(times: list[float], idx: list[int]) -> float:
        return len(idx) / sum(times[i] for i in idx)

    everything = list(range(len(pages)))
    one, two = pool_rate(pages, 1), pool_rate(pages, 2)
    return [
        row(f"OCR pages/s, 1 process, {n_pages} synthetic scans: ocr_document (preprocess + "
            "fields) vs tesseract CLI (target ratio >= 0.9)",
            "tesseract page.png - (OMP_THREAD_LIMIT=1)", rate(cli, everything),
            rate(ours, everything), "pages/s"),
        row(f"  of which {len(straight)} straight pages", "tesseract CLI",
            rate(cli, straight), rate(ours, straight), "pages/s"),
        row(f"  of which {len(skewed)} skewed pages (1.2-3 deg, deskewed)", "tesseract CLI",
            rate(cli, skewed), rate(ours, skewed), "pages/s"),
        row(f"OCR scaling: spawn ProcessPoolExecutor 2 workers vs 1 ({os.cpu_count()} cores, "
            "shared)", "1 worker pages/s", one, two, "pages/s"),
    ]


if __name__ == "__main__":
    print_table(ocr_rows(int(sys.argv[1]) if len(sys.argv) > 1 else 12))
