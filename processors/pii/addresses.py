"""Street addresses beyond the US street line: European forms, post boxes, military mail,
and whole address blocks (the city / region / postcode / country lines after a street).

`InternationalStreetRecognizer` reports street lines; `extend_address_blocks` then grows
every STREET_ADDRESS finding over the address lines that follow it on the same line
(", Arnsdorf, Germany") or on the next lines ("Suite 464\\n OULU\\n Finland 80896"), so a
signature block is removed as a whole, not only its first line. Country names come from
`pycountry` (ISO 3166), not a hand list.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

import pycountry
from presidio_analyzer import Pattern, RecognizerResult
from wordfreq import zipf_frequency

from processors.pii.recognizers import (
    FIELD_LABELS,
    US_STATE_NAMES,
    US_STATES,
    VEHICLE_ONLY,
    ClassPatterns,
)

CA_PROVINCES = ("AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT")
#: words that never start a place of an address line ("12 Oak St for RO 55123")
_STOP = "for|and|ask|at|to|the|on|in|with|bill|is|was|re|per|from|by|odometer|mileage"
_TOKEN = re.compile(r"[^\W_]+")
#: capitalised words of real addresses (post boxes, military mail)
_MAIL_CODES = frozenset({"PO", "PSC", "CMR", "APO", "FPO", "DPO", "AA", "AE", "AP", "USNS",
                         "USS", "USCGC"})

#: a lower-case street-type word this common in English is an English word ("wiring" 3.5)
LOWER_STREET_MAX_ZIPF = 2.5
#: the longest ALL-CAPS word taken for a model code ("RX", "GTI", "AMG", "SRT4" has a digit)
MODEL_CODE_MAX = 4
_CAP = r"(?-i:[A-ZÀ-ÖØ-ÞĀ-Ž])"
_WORDCH = r"[\w'.\-]"
#: street-type morphemes written as a word ending (Finnish, Scandinavian, German, Dutch, ...)
_SUFFIX_MORPHEMES = (
    "katu", "kuja", "tie", "polku", "gatan", "gata", "vägen", "väg", "gade", "vej", "veien",
    "vegen", "stræde", "straße", "strasse", "str.", "laan", "straat", "weg", "plein",
    "gracht", "dreef", "singel", "kade", "steeg", "allee", "gasse", "platz", "ring",
    "stræti", "gata", "braut", "vegur", "utca",
)  # fmt: skip
#: street-type words written before the name (French, Italian, Spanish, Portuguese, Slavic)
_PREFIX_WORDS = (
    "Rue", "Via", "Viale", "Piazza", "Corso", "Calle", "Avenida", "Av.", "Rua", "Praça",
    "Carrer", "Boulevard", "Bd", "Chemin", "Place", "Quai", "Allée", "Impasse", "Route",
    "ul.", "ulica", "Ulica", "Trg", "Náměstí", "nám.", "Aleja", "al.", "Strada", "Str.",
)  # fmt: skip
#: street-type words written after the name as a separate word (Hungarian, English)
_AFTER_WORDS = ("u.", "utca", "út", "tér", "krt.", "Street", "Road", "Square", "Squares")
#: a house number, with a flat or letter suffix ("6/31", "88-i", "210-I", "12b")
#: or a Dutch floor ("76-III", "1-hs")
_NUM = r"[1-9][0-9]{0,4}(?:/[0-9]{1,4}|-(?:I{1,3}|IV|hs|bis)|-?[A-Za-z])?(?![\w-])"
#: words after a number that make it an amount, not a postcode
_AMOUNT_WORDS = "down|payment|dollars|bucks|cash|off|per|each|total|deposit|usd|mo|month"
_NOT_AFTER_NUMBER = (
    "January|February|March|April|May|June|July|August|September|October|November|"
    "December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Monday|Tuesday|Wednesday|"
    "Thursday|Friday|Saturday|Sunday|Miles|Mi|Km|Years|Year|Days|Hours|Minutes|Percent"
)

#: ALL-CAPS words of addresses, never a model code
_NOT_MODEL_CODES = (_MAIL_CODES | {"I", "II", "III", "IV"}
                    | {w.rstrip(".").upper() for w in _PREFIX_WORDS + _AFTER_WORDS})
_MORPH = "|".join(re.escape(m) for m in _SUFFIX_MORPHEMES)
_PREFIX = "|".join(re.escape(w) for w in _PREFIX_WORDS)
_AFTER = "|".join(re.escape(w) for w in _AFTER_WORDS)


class InternationalStreetRecognizer(ClassPatterns):
    """Street lines in non-US forms, post boxes and US military addresses."""

    PATTERNS = [
        # "Koskikatu 25", "5049 Harjukuja 54", "Brixtonlaan 380", "Hammarvägen 15"
        Pattern("Street-type word ending + number",
                rf"(?:\b[0-9]{{1,5}}[ \t]+)?\b{_CAP}[\w-]{{0,30}}(?:{_MORPH})\b\.?[ \t]+{_NUM}",
                0.6),
        # in any case where a postcode and a place follow: "kirchallee 190a, 22000 köln",
        # "keizersgracht 1-iii, 8734 kp amsterdam"
        Pattern("Street-type word ending + number + postcode (any case)",
                rf"\b[^\W\d_][\w-]{{0,30}}(?:{_MORPH})\b\.?[ \t]+{_NUM}"
                rf"(?=,?[ \t]+[0-9]{{4,5}}(?:[ \t]?[A-Za-z]{{2}})?[ \t]+[^\W\d_])", 0.6),
        # "Rue de Piétrain 371", "ul. Więckowskiego Stefana 28", "Via Roma 12"
        Pattern("Street-type word + name + number",
                rf"(?:\b[0-9]{{1,5}}[ \t]+)?(?<![\w.])(?:{_PREFIX})[ \t]+"
                rf"(?:{_WORDCH}+[ \t]+){{0,4}}{_NUM}", 0.6),
        # "132, rue Principale", "69, rue saint-denis": the civic number first (French)
        Pattern("Number + street-type word + name",
                rf"\b[1-9][0-9]{{0,4}}(?:[ \t]+(?-i:bis|ter))?,?[ \t]+(?<![\w.])"
                rf"(?:(?-i:{_PREFIX})[ \t]+{_CAP}[\w'-]*"
                rf"|(?-i:rue|calle|rua|avenida|ul\.)[ \t]+[\w'-]+"
                # lower-case French street types before a capitalised name ("36 boulevard
                # Jean-Jaurès", "81 ter avenue de la République")
                rf"|(?-i:boulevard|avenue|chemin|allée|impasse|quai)[ \t]+"
                rf"(?:(?-i:de|du|des|la|le)[ \t]+)*{_CAP}[\w'-]*)"
                rf"(?:[ \t]+(?:{_CAP}[\w'-]*|de|des|du|la|le|saint-[\w-]+)){{0,3}}", 0.6),
        # "Király u. 15", "25 Dili Gianni Street", "Trg revolucije 17"
        Pattern("Name + street word + number",
                rf"\b{_CAP}{_WORDCH}{{0,30}}[ \t]+(?:{_AFTER})[ \t]+{_NUM}\.?", 0.6),
        # "6750 Koskikatu 25", "03751 Gerrit Achterberghove 137": number, name, number
        Pattern("Number + capitalised name + number",
                rf"\b[0-9]{{1,5}}[ \t]+(?!(?-i:{_NOT_AFTER_NUMBER})\b){_CAP}[\w'-]+"
                rf"(?:[ \t]+{_CAP}[\w'.-]*){{0,3}}[ \t]+{_NUM}", 0.45),
        Pattern("Post box",
                r"\b(?:P\.?[ \t]?O\.?[ \t]*Box|Post[ \t]+Office[ \t]+Box|Postbox|"
                r"(?:PSC|Unit|CMR)[ \t]+[0-9]{3,5},?[ \t]+Box)[ \t]+[0-9]{1,6}\b", 0.6),
        Pattern("US military mail", r"\b(?-i:(?:APO|FPO|DPO)[ \t]+(?:AA|AE|AP))[ \t]+[0-9]{5}\b",
                0.6),
        Pattern("Street corner",
                rf"\bthe[ \t]+corner[ \t]+of[ \t]+[^\n,.;:?!]{{2,60}}?[ \t]+and[ \t]+{_CAP}[\w'-]*"
                rf"(?:[ \t]+{_CAP}[\w'-]*){{0,3}}", 0.6),
        Pattern("Postcode after a ZIP cue",
                r"(?<=\b(?:zip|zip[ \t]code|postal[ \t]code|post[ \t]?code)[ \t]*[:#]?[ \t]*)"
                r"[0-9]{3,6}(?:[ -](?:[0-9]{2,4}|(?-i:[A-Z]{2})))?\b", 0.6),
        Pattern("Navy ship", rf"\b(?-i:USNS|USS|USCGC)[ \t]+{_CAP}[\w'-]+", 0.5),
    ]
    CONTEXT = ["address", "live", "street", "mail", "ship", "send", "deliver", "office",
               "meet", "located"]

    ENTITY = "STREET_ADDRESS"
    NAME = "InternationalStreetRecognizer"

    def invalidate_result(self, pattern_text: str) -> bool:
        """Not an address: a vehicle ("2013 Lexus RX 350", "2008 Hyundai Ioniq 5") — a make or
        model word, or an ALL-CAPS model code (at most MODEL_CODE_MAX letters, no street-type
        word: "AV. REVOLUCIÓN 938" and "PRINSENGRACHT 214-I" are streets), among the words;
        or a lower-case word ending in a street-type morpheme that is an English word
        (LOWER_STREET_MAX_ZIPF: "wiring", "spring" end in "ring"; "kirchallee" is a street)."""
        first = next((w for w in pattern_text.split() if not w[:1].isdigit()), "")
        if first.islower() and first.endswith(_SUFFIX_MORPHEMES) and zipf_frequency(
                first, "en") >= LOWER_STREET_MAX_ZIPF:
            return True  # "wiring 2, 1500 dollars", "o-ring 3": English words, no street
        for word in _TOKEN.findall(pattern_text):
            if VEHICLE_ONLY.fullmatch(word) or (1 < len(word) <= MODEL_CODE_MAX and word.isupper()
                                            and word.isalpha() and word not in _NOT_MODEL_CODES):
                return True
        return False


@cache
def _country_names() -> tuple[str, ...]:
    names: set[str] = set()
    for c in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(c, attr, None)
            if value and "," not in value:
                names.add(value)
    names |= {"USA", "UK", "Greenland", "Greenlander"}
    return tuple(sorted(names, key=len, reverse=True))


@cache
def usps_street_suffixes() -> tuple[str, ...]:
    """USPS Publication 28 street suffixes (full names), as Faker's en_US provider carries
    them ("Streets", "Union", "Rapids", ...), longest first."""
    from faker.providers.address.en_US import Provider

    return tuple(sorted(set(Provider.street_suffixes), key=len, reverse=True))


@cache
def _street_name_after() -> re.Pattern[str]:
    """A second street name on the line of a street finding ("Bundesstrasse 31 Zezig
    Streets", "P.O. Box 149 Monika Union"): 1-2 capitalised words and a USPS suffix."""
    suffixes = "|".join(re.escape(s) for s in usps_street_suffixes())
    return re.compile(rf"[ \t]+(?:{_CAP}[\w'-]*[ \t]+){{1,2}}(?-i:{suffixes})(?![\w-])")


@cache
def _continuation() -> re.Pattern[str]:
    countries = "|".join(re.escape(n) for n in _country_names())
    states = "|".join(re.escape(n) for n in US_STATE_NAMES)
    # a unit, or a Spanish floor and door ("1º A", "3ª")
    unit = (r"(?:(?i:Suite|Ste\.?|Apt\.?|Apartment|Unit|Room|Floor|Fl\.?|Bldg\.?|Flat|Lot"
            r"|app\.?|Apto\.?)[ \t]*#?[ \t]*[\w-]{1,6}"
            # a Mexican colonia ("Col. Roma Norte")
            rf"|Col\.[ \t]+{_CAP}[\w'-]*(?:[ \t]+{_CAP}[\w'-]*){{0,2}}"
            # NFKC (processors/pii/normalise.py) has made "º" an "o" and "ª" an "a"
            r"|[0-9]{1,2}(?-i:[oaºª°])(?:[ \t]?(?-i:[A-Za-z])(?![\w-]))?)")
    particle = r"(?:(?:de|del|da|do|dos|du|des|la|le|von|van|der|den)[ \t]+|[dl]['’])"
    # a place word; a full stop only inside it or after a short abbreviation ("St.", "Mt.")
    # Every character has exactly one way to match (no two alternatives take the same
    # character), so a failed match cannot backtrack exponentially ("A" + 30 dots took
    # minutes when a dot could be taken two ways).
    # No digits: "VIN KNDX..." after a ZIP is no place.
    pw = r"(?:[^\W\d_]|['()]|-(?=\w)|\.(?=\S)|(?<!\w\w\w\w)\.(?!\S))*"
    labels = "|".join(sorted(FIELD_LABELS))
    place = (rf"(?!(?-i:{labels})\b){_CAP}{pw}(?:[ \t]+{particle}?"
             rf"(?!(?-i:{labels})\b)(?:{_CAP}|\(){pw}){{0,3}}")
    # a place in any case, only where a region and a postcode follow ("salem, or 47779")
    # (a full stop only inside a word: "valencia. contact me" ends at "valencia")
    any_word = r"[^\W\d_](?:[\w'-]|\.(?=\w))*"
    any_place = (rf"(?!(?i:{_STOP})\b){any_word}(?:[ \t]+(?!(?i:{_STOP})\b)"
                 rf"{any_word}){{0,2}}")
    region = r"(?-i:[A-Z]{2})"
    # a US state or Canadian province code in any case, or a province in parentheses
    any_region = rf"(?:(?i:{'|'.join(US_STATES + CA_PROVINCES)})|\([^\W\d_][\w' -]{{1,30}}\))"
    postcode = (r"(?:[0-9]{4,6}(?:-[0-9]{4})?|[0-9]{2}-[0-9]{3}|[0-9]{4}[ \t]?(?-i:[A-Z]{2})"
                r"|(?-i:[A-Z]{1,2}[0-9][0-9A-Z]?[ \t]?[0-9][A-Z]{2})"
                r"|(?-i:[A-Z][0-9][A-Z][ \t]?[0-9][A-Z][0-9]))")  # US/EU/PL/NL, UK, Canada
    # UK and Canadian postcodes are distinctive enough to take in lower case after a street
    any_postcode = (rf"(?:{postcode}|[a-z]{{1,2}}[0-9][0-9a-z]?[ \t]?[0-9][a-z]{{2}}"
                    r"|[a-z][0-9][a-z][ \t]?[0-9][a-z][0-9]|[0-9]{4}[ \t]?[a-z]{2})")
    # lines that are an address line by their shape: they may end mid-sentence
    # ("... Almussafes\n Spain 97197 in case of an issue")
    strong = (rf"(?:{unit}|(?:{countries}|{states})(?:[ \t]+{postcode})?"
              rf"|{place},?[ \t]+{region}[ \t]+{postcode}|{place}[ \t]+{any_postcode}"
              rf"|{any_place},?[ \t]+{any_region}[ \t]+{any_postcode}"
              rf"|{postcode}[ \t]+{place}|,?[ \t]*{any_region}[ \t]+{any_postcode}"
              # a Polish, 4- or 5-digit postcode and a place in lower case ("66-128 gdańsk",
              # "1010 wien"), not a
              # quantity ("2500 down payment", "45000 miles")
              rf"|(?:[0-9]{{2}}-[0-9]{{3}}|[0-9]{{4,5}}|[0-9]{{4}}[ \t]?[a-z]{{2}})[ \t]+"
              rf"(?!(?i:{_NOT_AFTER_NUMBER}|"
              rf"{_AMOUNT_WORDS})\b){any_place})(?![\w-])")
    # lines that could be ordinary words ("Dover", "OK"): only as a whole line or clause
    weak = (rf"(?:{unit}[ \t]+{place}|{place}(?:,?[ \t]+{region})?|,?[ \t]*{region}|{postcode}"
            rf"|nan)(?=[ \t]*(?:,|\n|$|[.?!](?:\s|$)))")
    # one continuation: a separator (comma or line break, with blanks), then an address line;
    # a unit, or a place with region and postcode, may follow on the same line after a blank
    return re.compile(rf"(?:[ \t]+{unit}(?![\w-])|[ \t]+{any_place},?[ \t]+{any_region}[ \t]+"
                      rf"{any_postcode}(?![\w-])|(?:[ \t]*,[ \t]*|[ \t]*\n(?:[ \t]*\n)?"
                      rf"[ \t>?]*)(?:,[ \t]*)?(?:{strong}|{weak}))", re.MULTILINE)


_LEADING_NUMBER = re.compile(r"(?:\b[0-9]{1,5}[ \t]+){1,2}$")
#: a flat or unit written before the street ("Flat 19, 135 Church Crescent")
_LEADING_UNIT = re.compile(
    r"\b(?:Flat|Apt\.?|Apartment|Unit|Suite)[ \t]*#?[ \t]*[\w-]{1,5},?[ \t]+$", re.IGNORECASE)


class CountryRecognizer(ClassPatterns):
    """Country names (ISO 3166 via pycountry) as LOCATION."""

    ENTITY = "LOCATION"
    NAME = "CountryRecognizer"
    CONTEXT: list[str] = []

    def __init__(self, supported_language: str = "en") -> None:
        names = "|".join(re.escape(n) for n in _country_names())
        self.PATTERNS = [Pattern("Country name", rf"(?<![\w-])(?-i:{names})(?![\w-])", 0.6)]
        super().__init__(supported_language)


MAX_CONTINUATIONS = 5
_YEAR_AND_WORD = re.compile(r"^[\s,]*(?:19|20)[0-9]{2}[ \t]+([^\W_]+)")


def _is_vehicle_year(continuation: str) -> bool:
    """"12 Oak St, 2019 Honda Civic": a model year and a make, not a postcode and a city."""
    m = _YEAR_AND_WORD.match(continuation)
    return m is not None and VEHICLE_ONLY.fullmatch(m.group(1)) is not None


def extend_address_blocks(text: str, results: Sequence[RecognizerResult]
                          ) -> list[RecognizerResult]:
    """Grow STREET_ADDRESS findings over the address lines that follow them (module doc)."""
    pattern = _continuation()
    out = list(results)
    for r in out:
        if r.entity_type != "STREET_ADDRESS":
            continue
        if lead := _LEADING_NUMBER.search(text, max(0, r.start - 14), r.start):
            r.start = lead.start()
        if lead := _LEADING_UNIT.search(text, max(0, r.start - 24), r.start):
            r.start = lead.start()
        end = r.end
        if same_line := _street_name_after().match(text, end):
            end = same_line.end()
        for _ in range(MAX_CONTINUATIONS):
            m = pattern.match(text, end)
            if m is None or m.end() == end or _is_vehicle_year(m.group()):
                break
            end = m.end()
        r.end = _without_trailing_prose(text, r.end, end)
    return out


#: a trailing word this common (in lower case or ALL CAPS) is prose, not a place ("8734 kp
#: amsterdam wants", "06389 PUEBLA, PUE. WANTS")
PROSE_MIN_ZIPF = 4.0
#: a Title Case word only this common ("2802 DT Amsterdam Needs a ..."): "Falls", "Ridge",
#: "Springs", "Valley" (4.6) stay; "City" and "Park" do where GeoNames knows the place
PROSE_TITLE_MIN_ZIPF = 5.0
_LAST_WORDS = re.compile(r"(?:([^\W\d_]+)[ \t]+)?([^\W\d_]{3,}|(?i:a|an))$")


def _without_trailing_prose(text: str, start: int, end: int) -> int:
    """`end` moved back, not before `start` (the end of the street line), over trailing
    common English words (PROSE_MIN_ZIPF, Title Case PROSE_TITLE_MIN_ZIPF) that are not (the
    end of) a known place ("PARK CITY" stays): a place line has no other end than its
    words."""
    from processors.pii.gazetteer import known_places

    places = known_places()
    while (m := _LAST_WORDS.search(text, start, end)) and m.start(2) > start:
        word = m.group(2)
        least = PROSE_MIN_ZIPF if word.islower() or word.isupper() else PROSE_TITLE_MIN_ZIPF
        if (len(word) < 3 and m.group(1) is None
                or zipf_frequency(word.lower(), "en") < least or word.casefold() in places
                or f"{m.group(1)} {word}".casefold() in places):
            break
        end = max(start, len(text[:m.start(2)].rstrip(" \t.,")))
    return end
