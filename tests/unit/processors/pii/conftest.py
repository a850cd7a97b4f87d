"""One analyzer for the PII tests of this package (loading spaCy's md model takes seconds)."""

from collections.abc import Iterator

import pytest

from processors.pii.engine import PiiAnalyzer


@pytest.fixture(scope="session")
def pii_analyzer() -> Iterator[PiiAnalyzer]:
    yield PiiAnalyzer()
