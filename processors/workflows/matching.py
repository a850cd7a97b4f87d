"""The workflow template matcher: rank templates by semantic similarity to a request."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from processors.embeddings import MiniLmEmbedder, default_embedder, normalise
from processors.workflows.templates import Template

# Matching bonuses: added to the cosine similarity when the request's domain (or channels)
# agree with a template's. Small, so they only break near-ties between similar templates.
DOMAIN_BONUS = 0.05
CHANNEL_BONUS = 0.03
# Template similarity = MAX_WEIGHT * best cosine over the template's texts + the rest * cosine to
# their normalised centroid (chosen over max-only / centroid-only on held-out requests).
MAX_WEIGHT = 0.5



@dataclass(frozen=True)
class TemplateMatch:
    template: Template
    score: float  # similarity plus domain/channel bonuses; what results are sorted by
    similarity: float  # cosine similarity of the request to the template


class TemplateMatcher:
    """Rank workflow templates by semantic similarity to a manager's request.

    A template is represented by the embeddings of its title + description and of each of its
    example requests. Its similarity to a request averages the best cosine over those texts
    (a request usually paraphrases one way of asking) with the cosine to their normalised
    centroid (what the template is about overall); on held-out requests this beat either alone
    (tests/unit/processors/workflows/test_template_matching.py). Template embeddings are
    computed once, at construction; a match costs one sentence embedding and a (texts x 384)
    product.
    """

    def __init__(self, templates: Iterable[Template],
                 embedder: MiniLmEmbedder | None = None) -> None:
        self.templates: list[Template] = list(templates)
        if not self.templates:
            raise ValueError("TemplateMatcher needs at least one template")
        self.embedder = embedder or default_embedder()
        texts: list[str] = []
        owners: list[int] = []
        for n, template in enumerate(self.templates):
            for text in (f"{template.title}. {template.description}", *template.examples):
                texts.append(text)
                owners.append(n)
        self._vectors = self.embedder.embed(texts)
        self._owners = np.array(owners)
        self._centroids = normalise(np.stack([
            self._vectors[self._owners == n].mean(axis=0) for n in range(len(self.templates))]))

    def similarities(self, text: str) -> np.ndarray:
        """Cosine similarity of `text` to each template, in `self.templates` order."""
        query = self.embedder.embed([text])[0]
        cosines = self._vectors @ query
        best = np.full(len(self.templates), -1.0, dtype=np.float32)
        np.maximum.at(best, self._owners, cosines)
        return MAX_WEIGHT * best + (1 - MAX_WEIGHT) * (self._centroids @ query)

    def match(self, text: str, domain: str | None = None,
              channels: Sequence[str] = ()) -> list[TemplateMatch]:
        """Every template, best first. `domain`/`channels` (e.g. from processors.analysis.rules)
        add a small bonus to templates in that domain / using all those channels."""
        wanted = set(channels)
        matches = []
        for template, similarity in zip(self.templates, self.similarities(text), strict=True):
            score = float(similarity)
            if domain is not None and template.domain == domain:
                score += DOMAIN_BONUS
            if wanted and wanted <= set(template.channels):
                score += CHANNEL_BONUS
            matches.append(TemplateMatch(template, score, float(similarity)))
        matches.sort(key=lambda m: m.score, reverse=True)
        return matches
