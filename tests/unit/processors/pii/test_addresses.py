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


@pytest.mark.parametrize(("text", "after"), [
    ("address kerkstraat 5, 3511 lk utrecht needs a 2019 golf", "needs"),
    ("address Kerkstraat 5, 3511 LK Utrecht Needs a 2019 Golf", "Needs"),
    ("ship to calle real 4, 41001 sevilla. contact me by email", "contact"),
])
def test_a_place_line_in_one_case_ends_at_prose(pii_analyzer: PiiAnalyzer, text: str,
                                                after: str) -> None:
    spans = [text[f.start:f.end] for f in pii_analyzer.analyze_one(text)
             if f.entity_type == "STREET_ADDRESS"]
    assert spans and not any(after in s for s in spans), spans


@pytest.mark.parametrize("text", [
    "wiring 2, 1500 dollars quoted for the harness",
    "o-ring 3 14000 miles ago",
    "front spring 2, 1500 miles ago it was fine",
])
def test_english_words_ending_like_streets_are_no_streets(pii_analyzer: PiiAnalyzer,
                                                          text: str) -> None:
    assert [f for f in pii_analyzer.analyze_one(text) if f.entity_type == "STREET_ADDRESS"] == []


def test_a_street_in_capitals_keeps_its_street_word(pii_analyzer: PiiAnalyzer) -> None:
    text = "ADDRESS 40 ELM STREET, PARK CITY, UTAH"
    spans = [text[f.start:f.end] for f in pii_analyzer.analyze_one(text)
             if f.entity_type == "STREET_ADDRESS"]
    assert spans == ["40 ELM STREET, PARK CITY, UTAH"], spans


@pytest.mark.parametrize(("text", "block"), [
    # a flat before the street; a UK postcode after the town
    ("address Flat 7, 221 Elm Crescent, Leeds LS6 2AB. Needs a Sprinter",
     "Flat 7, 221 Elm Crescent, Leeds LS6 2AB"),
    # a French civic number before "rue", an apartment, the province in parentheses
    ("Ship it to 48, rue Principale, app. 3, Laval (Québec) H7N 2K1. Contact me",
     "48, rue Principale, app. 3, Laval (Québec) H7N 2K1"),
    # a flat number after a slash and a Polish postcode before the town
    ("owner address: ul. Lipowa 12/4, 30-215 Kraków | email", "ul. Lipowa 12/4, 30-215 Kraków"),
    # lower case, with state and ZIP+4
    ("street: 4410 maple grove blvd #12, salem, or 97301-8003\nmobile",
     "4410 maple grove blvd #12, salem, or 97301-8003"),
    # lower case, two units, the town on the next line
    ("registration: 17 birch ln, bldg c unit 9\nfairview, tn 37062-1100, plate pending",
     "17 birch ln, bldg c unit 9\nfairview, tn 37062-1100"),
    # a German street in lower case with postcode and town
    ("bitte an lindenallee 7b, 50968 köln senden", "lindenallee 7b, 50968 köln"),
    # a Dutch floor in roman numerals, lower case postcode letters, no comma after the town
    ("adres prinsengracht 88-ii, 1015 dx amsterdam wants the van", "prinsengracht 88-ii, "
     "1015 dx amsterdam"),
    ("ADDRESS HERENGRACHT 301-III, 1016 AZ AMSTERDAM. NEEDS A VAN", "HERENGRACHT 301-III, "
     "1016 AZ AMSTERDAM"),
    # a Spanish floor and door in lower case
    ("envio a calle mayor 3, 2º c, 28013 madrid. gracias", "calle mayor 3, 2º c, 28013 madrid"),
    # a 4-digit postcode and a town in lower case
    ("zustellung an lindengasse 12, 1070 wien bitte", "lindengasse 12, 1070 wien"),
    # a Mexican avenue and colonia in capitals
    ("DOMICILIO AV. INSURGENTES 1200, COL. DEL VALLE, 03100 CDMX", "AV. INSURGENTES 1200, "
     "COL. DEL VALLE, 03100 CDMX"),
])
def test_international_and_lower_case_blocks(pii_analyzer: PiiAnalyzer, text: str,
                                             block: str) -> None:
    assert removed(pii_analyzer, text, block), [
        text[f.start:f.end] for f in pii_analyzer.analyze_one(text)]


def test_a_car_is_not_a_street_a_street_named_after_one_is(pii_analyzer: PiiAnalyzer) -> None:
    def streets(text: str) -> list[str]:
        return [text[f.start:f.end] for f in pii_analyzer.analyze_one(text)
                if f.entity_type == "STREET_ADDRESS"]

    assert streets("Test drive slots for the 2020 Ford Explorer ST. Walk-ins welcome") == []
    assert streets("Trade-in: 2015 Mazda CX-5 Grand Touring, 80k miles") == []
    assert streets("I live at 12 Sierra Vista Dr, Reno, NV 89501") != []
    # a house number that looks like a model year
    assert streets("I live at 2000 Santa Fe Dr, Denver, CO 80223") == [
        "2000 Santa Fe Dr, Denver, CO 80223"]
    assert streets("mail it to 1954 Lincoln Ave Apt 4 please") == ["1954 Lincoln Ave Apt 4"]


@pytest.mark.parametrize("text", [
    "Ship to 12 Oak St for RO 55123 please",
    "500 Main Street and ask for RO 88123",
    "we can pick you up at 5 via shuttle",
])
def test_an_address_block_stops_at_ordinary_words(pii_analyzer: PiiAnalyzer, text: str) -> None:
    spans = [text[f.start:f.end] for f in pii_analyzer.analyze_one(text)
             if f.entity_type == "STREET_ADDRESS"]
    assert not any("RO" in s or "via" in s for s in spans), spans


@pytest.mark.parametrize(("text", "block"), [
    # lower case, with a place and a state + ZIP or a UK postcode: the shape is the evidence
    ("title work: owner sanjay kaur, 24770 prairie view st, lakewood, co 89345-0953, vin "
     "3vw8pc4k1sa100444.", "24770 prairie view st, lakewood, co 89345-0953"),
    ("shipping the odyssey to seán o'neil, flat 6, 151 baker lane, cardiff m2 9qq. contact "
     "me", "flat 6, 151 baker lane, cardiff m2 9qq"),
    # a unit after a comma ("#40"), British "Mews" and postcode
    ("this is yuki, i live at 23938 fox hollow st., #40 -- do you guys",
     "23938 fox hollow st., #40"),
    ("please update my mailing address to 7 Mill Mews, London EH17 2DE for the registration",
     "7 Mill Mews, London EH17 2DE"),
    # a Spanish floor and door, a Mexican colonia, a lower-case Polish place after its postcode
    ("address Calle Gran Vía 138, 1º A, 21062 Madrid. Needs a 2010 Outback",
     "Calle Gran Vía 138, 1º A, 21062 Madrid"),
    ("address to Av. Insurgentes Sur 301, Col. Roma Norte, 58092 Puebla for the registration",
     "Av. Insurgentes Sur 301, Col. Roma Norte, 58092 Puebla"),
    ("title work: owner mark, ul. świętokrzyska 175/50, 66-128 gdańsk, vin jn1rmeh",
     "ul. świętokrzyska 175/50, 66-128 gdańsk"),
    # lower-case French street types, "ter" after the number
    ("Title work: owner Mei-Ling Wang, 36 boulevard Jean-Jaurès, 94801 Nantes, VIN 1FM8",
     "36 boulevard Jean-Jaurès, 94801 Nantes"),
    ("update my mailing address to 81 ter avenue de la République, 09892 Paris for the",
     "81 ter avenue de la République, 09892 Paris"),
])
def test_addresses_in_any_case_and_form(pii_analyzer: PiiAnalyzer, text: str,
                                        block: str) -> None:
    assert removed(pii_analyzer, text, block), [
        text[f.start:f.end] for f in pii_analyzer.analyze_one(text)]


@pytest.mark.parametrize(("text", "word"), [
    ("Ship it to 12 Oak St, 45000 miles on it already", "miles"),
    ("Ship to 45 Elm St, 2500 down payment", "down"),
    ("i told him 12 oak st is fine, me 12345 thanks", "fine"),
])
def test_an_address_does_not_take_prose_or_a_quantity(pii_analyzer: PiiAnalyzer, text: str,
                                                      word: str) -> None:
    spans = [text[f.start:f.end] for f in pii_analyzer.analyze_one(text)
             if f.entity_type == "STREET_ADDRESS"]
    assert not any(word in s for s in spans), spans
