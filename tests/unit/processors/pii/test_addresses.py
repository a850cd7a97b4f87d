"""Address blocks: every line of a multi-line or run-on address is removed, not the first."""

import pytest

from processors.pii.engine import PiiAnalyzer


def removed(analyzer: PiiAnalyzer, text: str, part: str) -> bool:
    start = text.index(part)
    spans = [(f.start, f.end) for f in analyzer.analyze_one(text)]
    covered = set()
    for s, e in spans:
        covered.update(range(s, e))
    return all(i in covered for i in range(start, start + len(part)) if not text[i].isspace())


@pytest.mark.parametrize(("text", "block"), [
    # the block ends mid-sentence with a country and a postcode
    ("Please return it to 4417 Kapellenweg 12\n Apt. 31\n Mellingen\n Switzerland 5507 if it "
     "does not fit.", "4417 Kapellenweg 12\n Apt. 31\n Mellingen\n Switzerland 5507"),
    # a second street name on the street's line (USPS suffix), then unit, city, country
    ("Address:\nLindenstrasse 31 Harper Union\n Suite 12\n KREMS\n Austria 3500.",
     "Lindenstrasse 31 Harper Union\n Suite 12\n KREMS\n Austria 3500"),
    # a unit and a city on one line, then state and ZIP
    ("Title work: 10 Willow Way, Bldg A Apt 147 Dover, DE 07193, thanks",
     "10 Willow Way, Bldg A Apt 147 Dover, DE 07193"),
])
def test_address_block_is_removed_whole(pii_analyzer: PiiAnalyzer, text: str,
                                        block: str) -> None:
    assert removed(pii_analyzer, text, block), [
        text[f.start:f.end] for f in pii_analyzer.analyze_one(text)]


def test_block_does_not_swallow_the_sentence_after_it(pii_analyzer: PiiAnalyzer) -> None:
    text = "Ship to 12 Oak St, Dover, DE 19901 OK thanks, and Monday works."
    spans = [text[f.start:f.end] for f in pii_analyzer.analyze_one(text)]
    assert not any("thanks" in s or "Monday" in s for s in spans), spans
    assert not any(s.endswith("OK") for s in spans), spans
