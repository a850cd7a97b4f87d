"""Dealership-specific presidio recognizers: what the stock registry lacks.

All are presidio `PatternRecognizer`s: regexes with a base score, optional validation and
context words (presidio's LemmaContextAwareEnhancer raises a score by 0.35 when a context
word is among the 5 lemmas before a match). Scores are tuned for a 0.4 threshold: weak
patterns (< 0.4) only report with context, strong ones report on their own.

Case-sensitive parts use scoped `(?-i:...)` groups, because presidio compiles every pattern
with IGNORECASE by default.
"""

from __future__ import annotations

import re

from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer

from schemas.vin import vin_check_digit_ok


class ClassPatterns(PatternRecognizer):
    """A PatternRecognizer declared by class attributes ENTITY, NAME, PATTERNS, CONTEXT."""

    ENTITY: str
    NAME: str
    PATTERNS: list[Pattern]
    CONTEXT: list[str]

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity=self.ENTITY,
            name=self.NAME,
            patterns=self.PATTERNS,
            context=self.CONTEXT,
            supported_language=supported_language,
        )


# --- VIN -------------------------------------------------------------------------------------


class VinRecognizer(ClassPatterns):
    """17-character VINs; a wrong position-9 check digit means "not a VIN" (dropped)."""

    PATTERNS = [
        Pattern(
            "VIN (17 chars, check digit validated)",
            r"\b(?=[A-HJ-NPR-Z0-9]*[0-9])(?=[A-HJ-NPR-Z0-9]*[A-HJ-NPR-Z])[A-HJ-NPR-Z0-9]{17}\b",
            0.5,
        )
    ]
    CONTEXT = ["vin", "vehicle identification", "chassis", "serial"]

    ENTITY = "VIN"
    NAME = "VinRecognizer"

    def validate_result(self, pattern_text: str) -> bool:
        return vin_check_digit_ok(pattern_text)


# --- street address --------------------------------------------------------------------------

# USPS Publication 28, C1: the common street suffixes (full names and standard abbreviations).
STREET_SUFFIXES: tuple[str, ...] = (
    "Alley", "Aly", "Avenue", "Ave", "Av", "Bend", "Blvd", "Boulevard", "Bypass", "Byp",
    "Causeway", "Cswy", "Circle", "Cir", "Close", "Common", "Cmn", "Court", "Ct", "Cove", "Cv",
    "Creek", "Crk", "Crescent", "Cres", "Crossing", "Xing", "Drive", "Dr", "Expressway",
    "Expy", "Freeway", "Fwy", "Gardens", "Gdns", "Glen", "Gln", "Grove", "Grv", "Heights",
    "Hts", "Highway", "Hwy", "Hill", "Hl", "Hollow", "Holw", "Lane", "Ln", "Loop", "Manor",
    "Mnr", "Meadow", "Meadows", "Mdws", "Parkway", "Pkwy", "Pass", "Path", "Pike", "Place",
    "Pl", "Plaza", "Plz", "Point", "Pt", "Ridge", "Rdg", "Road", "Rd", "Route", "Rte", "Row",
    "Run", "Square", "Sq", "Street", "St", "Terrace", "Ter", "Trace", "Trce", "Trail", "Trl",
    "Turnpike", "Tpke", "Valley", "Vly", "View", "Vw", "Village", "Vlg", "Way", "Walk",
    "Park", "Springs", "Spgs", "Station", "Sta", "Estates", "Ests", "Harbor", "Hbr",
    # British thoroughfare types
    "Mews", "Rise", "Parade", "Wynd", "Esplanade", "Embankment",
)  # fmt: skip

_SUFFIX = "(?:" + "|".join(sorted(STREET_SUFFIXES, key=len, reverse=True)) + r")\.?"
_DIRECTIONAL = r"(?:(?:N|S|E|W|NE|NW|SE|SW)\.?|North|South|East|West)"
_UNIT = r"(?:,?[ \t]+(?:Apt|Apartment|Suite|Ste|Unit|Bldg|Building|Fl|Floor|Rm|Room)\.?[ \t]*#?[ \t]*|,?[ \t]*#[ \t]*)[A-Z0-9][A-Z0-9-]{0,5}\b"  # noqa: E501
_NUMBER = r"\b[1-9][0-9]{0,5}[A-Z]?"
_SP = r"[ \t]+"  # addresses never continue across a line break


#: words of form fields and record labels, never part of a street name
FIELD_LABELS = frozenset({"SSN", "DOB", "VIN", "DL", "PHONE", "MOBILE", "CELL", "EMAIL", "RO",
                          "STK", "STOCK", "OFFERED", "MILEAGE", "MILES", "MI", "ADDRESS"})


def _street(word: str) -> str:
    return (
        rf"{_NUMBER}{_SP}(?:{_DIRECTIONAL}{_SP})?(?:{word}{_SP}){{0,3}}{word}{_SP}{_SUFFIX}"
        rf"(?:{_SP}{_DIRECTIONAL}(?![A-Za-z]))?(?:{_UNIT}){{0,2}}(?![A-Za-z])"
    )


US_STATES: tuple[str, ...] = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
    "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT",
    "VA", "WA", "WV", "WI", "WY", "DC", "PR",
)  # fmt: skip


#: a word of a place in a lower-case address line; never a word of ordinary prose ("12 oak st
#: is fine, me 12345")
_PLACE_WORD = (r"(?!(?:is|are|was|and|or|then|for|to|the|at|in|on|me|ok|hi|fine|but|so|if|"
               r"it|we|you|he|she|they|please|thanks)\b)[A-Za-z][A-Za-z'.-]*")


class StreetAddressRecognizer(ClassPatterns):
    """US street lines: number, optional directional, 1-4 name words, USPS suffix, unit."""

    PATTERNS = [
        # Capitalised street names ("1234 Oak Ridge Dr", "55 W. Main Street Apt 4B").
        Pattern("Street address (capitalised)", _street(r"(?-i:[A-Z0-9][A-Za-z0-9'.-]*)"), 0.6),
        # Any case ("i'm at 12 elm st") — only with context such as "address" or "live".
        Pattern("Street address (any case)", _street(r"[A-Za-z0-9][A-Za-z0-9'.-]*"), 0.25),
        # Any case, as a whole address: a place and a state + ZIP or a UK / Canadian postcode
        # follow ("24770 prairie view st, lakewood, co 89345-0953", "151 baker lane, cardiff
        # m2 9qq")
        Pattern("Street address (any case) with place and postcode",
                _street(r"[A-Za-z0-9][A-Za-z0-9'.-]*")
                + rf"(?:,?[ \t]+|,?[ \t]*\n[ \t]*){_PLACE_WORD}"
                rf"(?:[ \t]+{_PLACE_WORD}){{0,2}},?[ \t]+"
                rf"(?:(?:{'|'.join(US_STATES)})[ \t]+[0-9]{{5}}(?:-[0-9]{{4}})?"
                r"|[A-Za-z]{1,2}[0-9][0-9A-Za-z]?[ \t]?[0-9][A-Za-z]{2}"
                r"|[A-Za-z][0-9][A-Za-z][ \t]?[0-9][A-Za-z][0-9])\b", 0.6),
    ]
    CONTEXT = [
        "address", "live", "street", "home", "mail", "ship", "deliver", "pick", "drop",
        "reside", "located", "residence", "billing",
    ]  # fmt: skip

    ENTITY = "STREET_ADDRESS"
    NAME = "StreetAddressRecognizer"

    def invalidate_result(self, pattern_text: str) -> bool:
        """Not a street: a run of form fields ("1993 SSN 033 98 1494 Street"), or a vehicle —
        a make and a model ("2020 Ford Explorer ST", "2015 Mazda CX-5. Walk-ins"). A street
        named after one stays a street ("2000 Santa Fe Dr", "1954 Lincoln Ave Apt 4")."""
        words = re.findall(r"[\w-]+", pattern_text)
        if any(w.upper() in FIELD_LABELS for w in words):
            return True
        makes = sum(bool(MAKE_WORD.fullmatch(w)) for w in words)
        models = sum(bool(VEHICLE_WORD.fullmatch(w)) for w in words) - makes
        return makes >= 1 and models >= 1


# --- state + ZIP -----------------------------------------------------------------------------

US_STATE_NAMES: tuple[str, ...] = (
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut",
    "Delaware", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa",
    "Kansas", "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan",
    "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire",
    "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio",
    "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota",
    "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington", "West Virginia",
    "Wisconsin", "Wyoming",
)  # fmt: skip

_STATE = "(?:(?-i:" + "|".join(US_STATES) + ")|" + "|".join(US_STATE_NAMES) + ")"
_CITY = r"(?:(?-i:[A-Z][a-z]+\.?)(?: (?-i:[A-Z][a-z]+)){0,2},?[ \t]+)"
_ZIP = r"[0-9]{5}(?:-[0-9]{4})?"


class StateZipRecognizer(ClassPatterns):
    """State (USPS code or name) followed by a ZIP / ZIP+4, with the city when it precedes."""

    PATTERNS = [
        Pattern("City, state ZIP", rf"\b{_CITY}{_STATE},?[ \t]+{_ZIP}\b", 0.65),
        Pattern("State ZIP", rf"\b{_STATE},?[ \t]+{_ZIP}\b", 0.6),
    ]
    CONTEXT = ["zip", "address", "postal", "live", "mail"]

    ENTITY = "STATE_ZIP"
    NAME = "StateZipRecognizer"


# --- driver's license ------------------------------------------------------------------------

_DL_CUE = (
    r"(?:driver'?s?\s+licen[cs]e|driving\s+licen[cs]e|licen[cs]e|lic\.?|DL|D\.L\.)"
    r"(?:\s*(?:#|no\.?|num(?:ber)?|id))?(?:\s+(?:is|was))?\s*[:#]?\s*"
)
#: dashed groups (FL, IL, CO), space-separated groups of three ("589 047 592" NY, "D 563 429
#: 760 606" MI), WA's "WDL" + 9 characters, a letter and digits
_DL_NUMBER = (r"(?:[A-Z][ ]?)?[0-9]{3}(?:[ ][0-9]{3}){2,3}(?![0-9])|WDL[A-Z0-9]{9}"
              r"|(?=[A-Z0-9-]*[0-9])[A-Z0-9]{1,3}(?:-?[0-9]{1,4}){1,5}|[A-Z]?[0-9]{6,14}")


class DriverLicenseRecognizer(ClassPatterns):
    """US driver's license numbers next to a licence cue ("driver's license D1234567", "DL#").

    The cue is part of a look-behind (the reported span is the number only); a bare
    alphanumeric ID scores below the threshold unless presidio finds context nearby.
    """

    PATTERNS = [
        Pattern("DL number after cue", rf"(?<=\b{_DL_CUE})(?:{_DL_NUMBER})\b", 0.85),
        Pattern("DL-like number (needs context)", r"\b[A-Z]{1,2}[0-9]{6,12}\b", 0.2),
    ]
    CONTEXT = ["driver", "license", "licence", "dl", "lic", "permit", "dmv"]

    ENTITY = "US_DRIVER_LICENSE"
    NAME = "DealershipDriverLicenseRecognizer"


# --- date of birth ---------------------------------------------------------------------------

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|Jun(?:e)?|Jul(?:y)?"
    r"|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_DATE = (
    r"(?:[0-3]?[0-9][/.-][0-3]?[0-9][/.-](?:19|20)?[0-9]{2}"  # 03/14/1985, 3-14-85, 14.03.1985
    r"|(?:19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]"  # 1985-03-14
    rf"|{_MONTH}\s+[0-3]?[0-9](?:st|nd|rd|th)?,?\s+(?:19|20)[0-9]{{2}}"  # March 14, 1985
    rf"|[0-3]?[0-9](?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(?:19|20)[0-9]{{2}})"  # 14 March 1985
)
_DOB_CUE = (
    r"(?:DOB|D\.O\.B\.?|date\s+of\s+birth|birth\s*date|birthday|born(?:\s+on)?)"
    r"(?:\s+(?:is|was))?\s*[:\-]?\s*"
)


class DateOfBirthRecognizer(ClassPatterns):
    """Dates introduced as a date of birth. Plain dates (appointments) are not PII."""

    PATTERNS = [
        Pattern("Date after DOB cue", rf"(?<=\b{_DOB_CUE})(?:{_DATE})\b", 0.85),
        Pattern("Date (needs DOB context)", rf"\b(?:{_DATE})\b", 0.1),
    ]
    CONTEXT = ["dob", "birth", "birthday", "born", "birthdate"]

    ENTITY = "DATE_OF_BIRTH"
    NAME = "DateOfBirthRecognizer"


# --- names after greetings / introductions ---------------------------------------------------

NAME_CUE = (
    r"(?:\b(?:Hi|Hello|Hey|Dear|Thanks|Thank\s+you|No\s+problem|Sorry|Morning|Welcome|"
    r"Good\s+(?:morning|afternoon|evening)|my\s+name\s+is|this\s+is|it'?s|I'?m|I\s+am|"
    r"ask\s+for|call|speak\s+(?:to|with)|wife|husband|son|daughter|brother|sister|"
    r"name\s+is|name:?|named|called|kid|child|mom|dad|mother|father|partner|fianc[eé]e?|"
    r"customer:?|cust\.?|client:?|owner:?|co-?buyer:?|buyer:?|co-?signer:?|primary:?|"
    r"Mr\.?|Mrs\.?|Ms\.?|Miss|Dr\.?)"
    r"\s*,?\s+|^--\s*)"
)
# Capitalised words that follow those cues without being names.
_NOT_NAMES = (
    "There|Team|All|Everyone|Again|So|For|You|Everybody|Folks|Guys|Sir|Ma'?am|Just|Back|"
    "Me|Us|The|This|That|It|Is|Not|Looking|Interested|Calling|Here|Still|Yes|No|Ok|Okay|"
    "Available|Ready|Sure|Great|Please|Service|Sales|Parts|Finance|Today|Tomorrow|"
    "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
)
# presidio matches with the `regex` module, which knows Unicode letter classes ("Åsa", "Ludmiła")
_NAME = r"(?-i:\p{Lu}\p{Ll}+(?:[-'’]\p{Lu}\p{Ll}+)?)"


class GreetingNameRecognizer(PatternRecognizer):
    """First names right after a greeting or introduction ("Hi Kimberly,", "this is Todd").

    spaCy's small model often misses a lone first name; this cue-anchored pattern catches
    it. Vehicle words are removed afterwards by the analyzer's allow list.
    """

    PATTERNS = [
        Pattern(
            "Name after greeting/introduction",
            rf"(?<={NAME_CUE})(?!(?-i:(?:{_NOT_NAMES}|{'|'.join(US_STATE_NAMES)}))\b)"
            rf"{_NAME}(?:\s{_NAME})?\b",
            0.9,  # a cued name beats NER calling it a place ("this is Helena Sokolova")
        )
    ]

    def __init__(self, supported_language: str = "en") -> None:
        super().__init__(
            supported_entity="PERSON",
            name="GreetingNameRecognizer",
            patterns=self.PATTERNS,
            supported_language=supported_language,
            global_regex_flags=re.DOTALL | re.MULTILINE | re.IGNORECASE,
        )


# --- credit cards: Mastercard 2-series --------------------------------------------------------


def mastercard_2_series_recognizer(supported_language: str = "en") -> CreditCardRecognizer:
    """presidio's CreditCardRecognizer (Luhn-validated) for the 2221-2720 Mastercard BINs its
    stock pattern (leading 3/4/5/6) does not cover."""
    return CreditCardRecognizer(
        patterns=[
            Pattern(
                "Mastercard 2-series (weak)",
                r"\b2(?:2[2-9][0-9]|[3-6][0-9]{2}|7[01][0-9]|720)[- ]?[0-9]{4}[- ]?[0-9]{4}"
                r"[- ]?[0-9]{4}\b",
                0.3,
            )
        ],
        supported_language=supported_language,
        name="Mastercard2SeriesRecognizer",
    )


# --- vehicle vocabulary (never PII) ----------------------------------------------------------

VEHICLE_MAKES: tuple[str, ...] = (
    "Acura", "Alfa Romeo", "Audi", "BMW", "Buick", "Cadillac", "Chevrolet", "Chevy",
    "Chrysler", "Dodge", "Fiat", "Ford", "Genesis", "GMC", "Honda", "Hyundai", "Infiniti",
    "Jaguar", "Jeep", "Kia", "Land Rover", "Lexus", "Lincoln", "Mazda", "Mercedes",
    "Mercedes-Benz", "Mini", "Mitsubishi", "Nissan", "Porsche", "Ram", "Rivian", "Subaru",
    "Tesla", "Toyota", "Volkswagen", "VW", "Volvo", "Austin-Healey", "Rolls-Royce",
    "Maserati", "Ferrari", "Lamborghini", "Polestar", "Lucid",
)  # fmt: skip
VEHICLE_MODELS: tuple[str, ...] = (
    "4Runner", "Accord", "Altima", "Armada", "Ascent", "Atlas", "Bronco", "Camry", "Canyon",
    "Challenger", "Charger", "Cherokee", "Grand Cherokee", "Civic", "Colorado", "Compass",
    "Corolla", "Corvette", "CR-V", "CX-5", "CX-9", "CX-30", "Durango", "Edge", "Elantra",
    "Equinox", "Escalade", "Escape", "Expedition", "Explorer", "F-150", "F-250", "Forester",
    "Frontier", "Gladiator", "Highlander", "HR-V", "Impreza", "Jetta", "Kona", "Malibu",
    "Maverick", "Model 3", "Model S", "Model X", "Model Y", "Murano", "Mustang", "Odyssey",
    "Outback", "Pathfinder", "Passport", "Pilot", "Prius", "RAV4", "Ranger", "Rogue",
    "Santa Fe", "Sentra", "Sienna", "Sierra", "Silverado", "Sonata", "Sorento", "Soul",
    "Sportage", "Suburban", "Tacoma", "Tahoe", "Telluride", "Tiguan", "Traverse", "Tucson",
    "Tundra", "Wrangler", "Yukon", "Crosstrek", "Ridgeline", "Versa", "Optima", "Forte",
    "Navigator", "Aviator", "Corsair", "Nautilus", "Ioniq", "Sprinter", "Caravan",
    "Grand Caravan", "Pacifica", "Palisade", "Santa Cruz", "Plus Four", "Ghost", "Wraith",
    "Cullinan", "Denali",
    "1500", "2500", "3500",
)  # fmt: skip
#: "VIN", "Model" and trim designations, from makers' line-ups (not from any test corpus);
#: trims that are places ("Laramie", "Wolfsburg", "Overland", "King Ranch") are left out: a
#: finding made only of these words is dropped
VEHICLE_WORDS: tuple[str, ...] = (
    "VIN", "Model", "Benz", "Hybrid", "Limited", "Sport", "Touring", "LX", "EX", "EX-L", "SE",
    "SEL", "LE", "XLE", "XSE", "SR", "SR5", "SV", "SL", "XLT", "LT", "LTZ", "LS", "SLT", "RST",
    "Z71", "ZR2", "Rubicon", "Lariat", "Tradesman", "Trailhawk", "TrailSport", "TRD", "GT",
    "EV", "AWD", "4WD", "FWD", "RWD", "xDrive", "Quattro", "4MATIC", "Plaid", "Performance",
    "Long Range", "Premium", "Platinum", "Turbo", "Raptor", "Tremor", "Nismo", "PRO-4X",
    "R-Line", "N Line", "Calligraphy", "Type R",
)  # fmt: skip


#: repair, service and sales vocabulary of a dealership that NER takes for names once re-cased
#: or capitalised ("Loaner agreement", "coolant flush", "LOANER AVAILABLE"); written from the
#: trade's vocabulary, none of it a name: a finding made only of these words is dropped
SERVICE_WORDS: tuple[str, ...] = (
    "loaner", "loaners", "coolant", "antifreeze", "rotor", "rotors", "caliper", "calipers",
    "serpentine", "wiper", "wipers", "alternator", "drivetrain", "powertrain", "differential",
    "alignment", "detailing", "diagnostic", "diagnostics", "muffler", "catalytic", "tailgate",
    "sunroof", "moonroof", "infotainment", "odometer", "intercooler", "camshaft", "crankshaft",
    "gasket", "thermostat", "radiator", "axle", "strut", "struts", "bushing", "bushings",
    "synthetic", "keyfob", "fob", "telematics", "lienholder", "payoff", "appraisal",
    "walkaround", "voicemail", "transcript", "login", "recall", "brake", "brakes",
)  # fmt: skip


def _vehicle_word(names: tuple[str, ...]) -> re.Pattern[str]:
    words = sorted({w for v in names for w in v.split() if not w.isdigit()}, key=len,
                   reverse=True)
    return re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)


def vehicle_allow_list() -> list[str]:
    """presidio `allow_list` (regex mode): findings made only of vehicle or service words
    are dropped."""
    words = sorted({*VEHICLE_MAKES, *VEHICLE_MODELS, *VEHICLE_WORDS, *SERVICE_WORDS}, key=len,
                   reverse=True)
    alternatives = "|".join(re.escape(w) for w in words)
    return [rf"^(?:(?:{alternatives}|(?:19|20)[0-9]{{2}})(?:\s+|$))+$"]


#: the allow-list compiled once: matches a text made only of vehicle or service words
VEHICLE_ONLY = re.compile(vehicle_allow_list()[0], re.IGNORECASE)


VEHICLE_WORD = _vehicle_word((*VEHICLE_MAKES, *VEHICLE_MODELS))
MAKE_WORD = _vehicle_word(VEHICLE_MAKES)


def dealership_recognizers(supported_language: str = "en") -> list[EntityRecognizer]:
    """Recognizers for the entity types presidio's stock registry lacks or under-detects."""
    return [
        GreetingNameRecognizer(supported_language),
        mastercard_2_series_recognizer(supported_language),
        VinRecognizer(supported_language),
        StreetAddressRecognizer(supported_language),
        StateZipRecognizer(supported_language),
        DriverLicenseRecognizer(supported_language),
        DateOfBirthRecognizer(supported_language),
    ]
