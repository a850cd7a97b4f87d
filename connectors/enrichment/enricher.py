"""The customer intelligence agent's `Enricher` (processors/ai_agents/intelligence.py) over
the configured data sources (sources.py): every source taking the kind is asked, and each
answer or failure becomes one `Enrichment` outcome, so none is skipped silently.

Invariant: the only thing a source receives is the validated `EnrichmentQuery`; a key that
does not validate (not a VIN, not a domain) is reported as `invalid_key` for every source
and sent to none.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, cast

from pydantic import ValidationError

from connectors.enrichment.sources import DataSource, EnrichmentQuery, SourceFailed
from processors.ai_agents.intelligence import Enrichment


class SourcesEnricher:
    def __init__(self, sources: Sequence[DataSource]) -> None:
        self.sources = list(sources)

    def enrich(self, kind: str, key: str) -> list[Enrichment]:
        taking = [s for s in self.sources if kind in s.kinds]
        k = cast(Literal["vehicle", "organization"], kind)
        try:
            query = EnrichmentQuery(kind=kind, key=key)  # type: ignore[arg-type]
        except ValidationError:
            return [Enrichment(source=s.name, kind=k, status="failed", reason="invalid_key")
                    for s in taking]
        out = []
        for source in taking:
            try:
                result = source.fetch(query)
            except SourceFailed as exc:
                out.append(Enrichment(source=source.name, kind=k, status="failed",
                                      reason=exc.reason))
                continue
            out.append(Enrichment(source=source.name, kind=k, status="ok",
                                  fields=dict(result.fields)))
        return out
