"""The compose image copies every package the distribution ships (a new top-level package
that the Dockerfile misses builds an image whose `auterity` cannot import)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_image_copies_every_shipped_package() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shipped = {p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]
               ["include"]}
    dockerfile = (ROOT / "compose" / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile, flags=re.M))
    assert shipped <= copied, f"not copied into the image: {sorted(shipped - copied)}"
    script = pyproject["project"]["scripts"]["auterity"].split(":")[0].split(".")[0]
    assert script in copied
