"""Web addresses that are no one's personal data: a bare domain named by one common English
word ("Cars.com" as a lead source, "outlook.com"). A domain with a scheme or a path, or named
by a Census name or a rare word ("garcia-jones.net", "ScrapbookInsider.com"), stays a finding.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from presidio_analyzer import RecognizerResult
from wordfreq import zipf_frequency

from processors.pii.gazetteer import is_any_name

#: the label of a public site is an English word at least this common ("cars" 4.6)
PUBLIC_SITE_ZIPF = 3.5
_BARE_DOMAIN = re.compile(r"(?:www\.)?([a-z]+)\.(?:com|net|org|co|us|ca)", re.IGNORECASE)


def public_site(span: str) -> bool:
    """Whether `span` is a bare domain of one common English word that is no Census name."""
    m = _BARE_DOMAIN.fullmatch(span)
    return m is not None and zipf_frequency(m.group(1).lower(), "en") >= PUBLIC_SITE_ZIPF and (
        not is_any_name(m.group(1)))


def clean_sites(text: str, results: Sequence[RecognizerResult]) -> list[RecognizerResult]:
    """`results` without findings that are public sites (module doc), whatever their type:
    NER tags "Cars.com" ORGANIZATION, presidio's URL recognizer URL."""
    return [r for r in results if not public_site(text[r.start:r.end])]
