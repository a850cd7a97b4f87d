"""A bare domain of one common word is a public site, not personal data."""

import pytest

from processors.pii.engine import PiiAnalyzer
from processors.pii.sites import public_site


@pytest.mark.parametrize(("span", "public"), [
    ("Cars.com", True), ("www.trucks.com", True), ("outlook.com", True),
    ("garcia.com", False),              # a Census surname
    ("ScrapbookInsider.com", False),    # a rare word
    ("https://cars.com/listing/123", False),  # a scheme and a path
    ("smith-jones.net", False),
])
def test_public_site(span: str, public: bool) -> None:
    assert public_site(span) is public


def test_a_lead_source_site_is_kept_a_personal_site_is_not(pii_analyzer: PiiAnalyzer) -> None:
    text = "Lead source: Cars.com, see my page at https://www.oyelowo-photos.net/me"
    kinds = {text[f.start:f.end]: f.entity_type for f in pii_analyzer.analyze_one(text)}
    assert "Cars.com" not in kinds, kinds
    assert any("oyelowo-photos" in span for span in kinds), kinds
