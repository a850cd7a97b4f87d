"""Deterministic, realistic dealership conversation data with PII ground truth.

No Kafka here: `generate_conversations` yields `SampleMessage`s; connectors turn them into
`ConversationMessageRaw` events. Each message lists the PII it carries as
(entity type, exact substring of `text`), so recall and leak checks need no guessing.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from faker import Faker

from schemas.events import ConversationMessageRaw, utcnow
from schemas.vin import VIN_ALPHABET, with_check_digit

Channel = Literal["chat", "sms", "email", "phone", "web", "other"]
CHANNELS: tuple[Channel, ...] = ("chat", "sms", "email", "phone")

#: (make, model) pairs; every make and model here is dealership vocabulary, never PII.
VEHICLES: tuple[tuple[str, str], ...] = (
    ("Toyota", "Camry"), ("Toyota", "RAV4"), ("Toyota", "Tacoma"), ("Toyota", "Highlander"),
    ("Honda", "CR-V"), ("Honda", "Civic"), ("Honda", "Accord"), ("Honda", "Pilot"),
    ("Ford", "F-150"), ("Ford", "Explorer"), ("Ford", "Escape"), ("Ford", "Mustang"),
    ("Chevrolet", "Silverado"), ("Chevrolet", "Equinox"), ("Chevrolet", "Malibu"),
    ("Nissan", "Altima"), ("Nissan", "Rogue"), ("Jeep", "Wrangler"), ("Jeep", "Grand Cherokee"),
    ("Subaru", "Outback"), ("Subaru", "Forester"), ("Hyundai", "Tucson"), ("Hyundai", "Elantra"),
    ("Kia", "Sorento"), ("Kia", "Telluride"), ("Mazda", "CX-5"), ("GMC", "Sierra"),
    ("Ram", "1500"), ("Volkswagen", "Jetta"), ("Tesla", "Model 3"),
)  # fmt: skip

SERVICES: tuple[str, ...] = (
    "oil change", "brake pads", "tire rotation", "recall", "transmission flush",
    "wheel alignment", "battery replacement", "state inspection", "cabin air filter",
    "check engine light", "warranty repair", "detail",
)  # fmt: skip

#: Terms that appear in generated texts and must survive redaction untouched.
VEHICLE_TERMS: tuple[str, ...] = tuple(
    sorted(
        {make for make, _ in VEHICLES}
        | {model for _, model in VEHICLES if not model.isdigit()}
        | set(SERVICES)
        | {"miles", "appointment", "trade-in", "test drive", "financing", "lease"}
    )
)

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
TIMES = ("8am", "9:30am", "10am", "11:15am", "noon", "1pm", "2:30pm", "3pm", "4pm", "5:45pm")
CITIES: tuple[tuple[str, str, str], ...] = (
    ("Austin", "TX", "787"), ("Dallas", "TX", "752"), ("Houston", "TX", "770"),
    ("Phoenix", "AZ", "850"), ("Denver", "CO", "802"), ("Atlanta", "GA", "303"),
    ("Orlando", "FL", "328"), ("Tampa", "FL", "336"), ("Charlotte", "NC", "282"),
    ("Nashville", "TN", "372"), ("Columbus", "OH", "432"), ("Sacramento", "CA", "958"),
    ("San Diego", "CA", "921"), ("Portland", "OR", "972"), ("Seattle", "WA", "981"),
    ("Raleigh", "NC", "276"), ("Boise", "ID", "837"), ("Omaha", "NE", "681"),
)  # fmt: skip
STREET_NAMES = (
    "Oak", "Maple", "Cedar", "Pine", "Elm", "Willow", "Oak Ridge", "Lakeview", "Sunset",
    "Highland", "Park", "Meadow Creek", "Hillcrest", "Riverside", "Magnolia", "Spring Valley",
    "Mill", "Church", "Washington", "Lincoln", "Franklin", "Jefferson", "Stone Gate", "Walnut",
)  # fmt: skip
STREET_TYPES = (
    "St", "Street", "Ave", "Avenue", "Dr", "Drive", "Rd", "Road", "Ln", "Lane", "Blvd", "Ct",
    "Court", "Way", "Pkwy", "Cir", "Trail", "Pl",
)  # fmt: skip
DEALER_NAMES = ("Lone Star Motors", "Summit Auto Group", "Bayside Toyota", "Crossroads Ford")

# Templates: {placeholders} are filled from the conversation's persona. PII placeholders:
# name, first, agent, phone, email, vin, street, city_state_zip, dl, dob, card, ssn.
CUSTOMER_OPENERS: tuple[str, ...] = (
    "Hi, this is {name}. My {year} {make} {model} is due for a {service}. Can I get an "
    "appointment {day} at {time}?",
    "Hello, my name is {name} and I'm interested in the {year} {make} {model} you have listed. "
    "Is it still available for a test drive?",
    "Hey there, {name} here. The check engine light came on in my {make} {model} at about "
    "{miles} miles. You can reach me at {phone}.",
    "Good morning! I'd like to schedule a {service} for my {year} {make} {model}. "
    "It's {name}, phone {phone}.",
    "Hi, I got a recall notice for my {make} {model}, VIN {vin}. My name is {name}, "
    "how long does the recall repair take?",
    "I'm looking to trade in my {year} {make} {model} with {miles} miles. Email me a quote at "
    "{email} please. Thanks, {name}",
    "This is {name} calling about the {make} {model} I dropped off {day}. Any update on the "
    "brake pads? Call back at {phone}.",
    "Hi! Do you have any {make} {model} lease specials this month? I'm {name}, best number "
    "is {phone}, or email {email}.",
    "Yes hello, {name} again. I wanted to ask about financing on a {year} {make} {model}.",
    "Can someone call me about my {year} {make} {model}? Tire rotation and oil change. "
    "{phone} - ask for {first}.",
)
CUSTOMER_REPLIES: tuple[str, ...] = (
    "Sure, my email is {email} and my cell is {phone}.",
    "The VIN is {vin}. It has about {miles} miles on it.",
    "I live at {street}, {city_state_zip}.",
    "My address is {street}, {city_state_zip} if you need to mail the paperwork.",
    "For the credit application: DOB {dob}, SSN {ssn}.",
    "My driver's license is {dl} and my date of birth is {dob}.",
    "You can put the deposit on my card {card}.",
    "{day} at {time} works for me. Will the {service} take long?",
    "Great, thanks {agent}! See you {day}.",
    "I was born on {dob}, the license number is {dl}.",
    "Please send the title paperwork to {street}, {city_state_zip}. Thanks!",
    "Ok. Is the {service} covered under warranty? It's only got {miles} miles.",
    "The registration is under my wife's name, {name2}. Her number is {phone2}.",
    "DL# {dl}, birthday {dob}. Anything else you need for the test drive?",
    "Thanks {agent}, this is {first}. I'll bring the {make} in {day} morning.",
    "Text me at {phone} when the {model} is ready please.",
    "Co-signer is my brother {name2}, SSN {ssn}, he lives at {street}, {city_state_zip}.",
    "Go ahead and charge the {service} to {card}, billing zip is the same as my address.",
)
EMAIL_SIGNATURES: tuple[str, ...] = (
    "\n\nThanks,\n{name}\n{phone}",
    "\n\nBest regards,\n{name}\n{street}\n{city_state_zip}",
    "\n\n-- {first}\nSent from my iPhone",
    "\n\n{agent} | Service Advisor | {dealer}",
)
AGENT_TURNS: tuple[str, ...] = (
    "Hi {first}, thanks for reaching out! This is {agent} at {dealer}. We can do {day} at "
    "{time} for the {service}.",
    "Thanks {first}! Could you send me the VIN and current mileage on your {make} {model}?",
    "Got it, {name}. I have you booked for the {service} on {day} at {time}.",
    "Hello {first}, {agent} from {dealer} service here. Your {model} is ready for pickup.",
    "Thanks {name}. To start the credit application I'll need your date of birth and "
    "driver's license number.",
    "Perfect. I just emailed the quote to {email}. The {year} {make} {model} is $28,450 "
    "before trade-in.",
    "Hi {first}, just confirming your appointment {day} at {time}. Reply STOP to opt out.",
    "We received your paperwork, {name}. The {service} on the {make} {model} is covered.",
    "{first}, I tried calling you at {phone} but got voicemail. Please call {agent} back.",
    "Your {year} {make} {model} (VIN {vin}) has an open recall; we can fix it {day}.",
    "Thanks! I'll mail the registration to {street}, {city_state_zip}.",
    "No problem {first}. The tire rotation and oil change come to $89.95 with {miles} "
    "miles on the clock.",
    "Hi {name}, I'm {agent}, your sales consultant. Do you still want the test drive {day}?",
    "Thanks {first}, the card ending in that number was approved. See you {day}!",
)


@dataclass
class SampleMessage:
    tenant_id: str
    conversation_id: str
    channel: Channel
    sender_role: Literal["customer", "agent", "system", "bot"]
    text: str
    pii: list[tuple[str, str]] = field(default_factory=list)


_PII_FIELDS: dict[str, str] = {
    "name": "PERSON",
    "name2": "PERSON",
    "first": "PERSON",
    "agent": "PERSON",
    "phone": "PHONE_NUMBER",
    "phone2": "PHONE_NUMBER",
    "email": "EMAIL_ADDRESS",
    "vin": "VIN",
    "street": "STREET_ADDRESS",
    "city_state_zip": "STATE_ZIP",
    "dl": "US_DRIVER_LICENSE",
    "dob": "DATE_OF_BIRTH",
    "card": "CREDIT_CARD",
    "ssn": "US_SSN",
}
_FIELD_RE = re.compile(r"\{(\w+)\}")
_FORBIDDEN_NAMES = {t.casefold() for t in VEHICLE_TERMS} | {"ram", "kia", "lincoln", "mercedes"}


class _Persona:
    """Everything one conversation may mention, drawn from a seeded Faker + random."""

    def __init__(self, fake: Faker, rnd: random.Random, tenant_index: int) -> None:
        self.first = self._name(fake.first_name)
        self.last = self._name(fake.last_name)
        self.name = f"{self.first} {self.last}"
        self.name2 = f"{self._name(fake.first_name_female)} {self.last}"
        self.agent = self._name(fake.first_name)
        self.phone = _phone(rnd)
        self.phone2 = _phone(rnd)
        domain = rnd.choice(("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"))
        sep = rnd.choice((".", "_", ""))
        self.email = f"{self.first.lower()}{sep}{self.last.lower()}{rnd.randint(1, 99)}@{domain}"
        self.vin = _vin(rnd)
        number = rnd.randint(1, 9999) if rnd.random() < 0.8 else rnd.randint(10000, 99999)
        direction = rnd.choice(("", "", "", "N ", "S. ", "E ", "W. "))
        street = f"{number} {direction}{rnd.choice(STREET_NAMES)} {rnd.choice(STREET_TYPES)}"
        if rnd.random() < 0.25:
            street += rnd.choice((" Apt 4B", " Unit 12", " Suite 200", " #7", " Apt. 310"))
        self.street = street
        city, state, zip3 = rnd.choice(CITIES)
        zip_code = f"{zip3}{rnd.randint(1, 99):02d}"
        if rnd.random() < 0.2:
            zip_code += f"-{rnd.randint(1000, 9999)}"
        self.city = city
        self.state_zip = f"{state} {zip_code}"
        self.city_state_zip = f"{city}, {self.state_zip}"
        self.dl = _driver_license(rnd)
        self.dob = _dob(rnd)
        self.card = _card(fake, rnd)
        self.ssn = fake.ssn()
        self.make, self.model = rnd.choice(VEHICLES)
        self.year = str(rnd.randint(2008, 2025))
        self.miles = f"{rnd.randint(5, 140)},{rnd.choice(('000', '500', '250'))}"
        self.service = rnd.choice(SERVICES)
        self.day = rnd.choice(DAYS)
        self.time = rnd.choice(TIMES)
        self.dealer = DEALER_NAMES[tenant_index % len(DEALER_NAMES)]

    @staticmethod
    def _name(draw: object) -> str:
        while True:
            value = draw()  # type: ignore[operator]
            if value.casefold() not in _FORBIDDEN_NAMES:
                return str(value)

    def render(self, template: str) -> tuple[str, list[tuple[str, str]]]:
        pii: list[tuple[str, str]] = []

        def fill(m: re.Match[str]) -> str:
            key = m.group(1)
            value = str(getattr(self, key))
            entity_type = _PII_FIELDS.get(key)
            if key == "city_state_zip":
                pii.append(("STATE_ZIP", self.state_zip))
            elif entity_type is not None:
                pii.append((entity_type, value))
            return value

        text = _FIELD_RE.sub(fill, template)
        return text, pii


def _phone(rnd: random.Random) -> str:
    area = rnd.choice(("512", "214", "713", "602", "303", "404", "407", "704", "615", "206"))
    exchange = f"{rnd.randint(2, 9)}{rnd.randint(0, 9)}{rnd.randint(0, 9)}"
    line = f"{rnd.randint(0, 9999):04d}"
    fmt = rnd.choice(("({a}) {e}-{l}", "{a}-{e}-{l}", "{a}.{e}.{l}", "+1 {a} {e} {l}"))
    return fmt.format(a=area, e=exchange, l=line)


def _vin(rnd: random.Random) -> str:
    alphabet = sorted(VIN_ALPHABET)
    wmi = rnd.choice(("1HG", "2T1", "1FT", "3VW", "5YJ", "JTD", "1C4", "KM8", "4S4", "1GC"))
    rest = "".join(rnd.choice(alphabet) for _ in range(14))
    serial = "".join(rnd.choice("0123456789") for _ in range(6))
    return with_check_digit(wmi + rest[:8] + serial)


def _driver_license(rnd: random.Random) -> str:
    style = rnd.randrange(4)
    if style == 0:  # CA / IL style: letter + 7 digits
        return rnd.choice("ABDFGHKLMNSTWY") + "".join(rnd.choices("0123456789", k=7))
    if style == 1:  # TX: 8 digits
        return "".join(rnd.choices("0123456789", k=8))
    if style == 2:  # FL: letter + 12 digits, often hyphenated
        d = "".join(rnd.choices("0123456789", k=12))
        return f"{rnd.choice('BCDHMSW')}{d[:3]}-{d[3:6]}-{d[6:8]}-{d[8:]}"
    return "".join(rnd.choices("0123456789", k=9))  # NY: 9 digits


def _dob(rnd: random.Random) -> str:
    born = date(1950, 1, 1) + timedelta(days=rnd.randint(0, 365 * 50))
    style = rnd.randrange(4)
    if style == 0:
        return born.strftime("%m/%d/%Y")
    if style == 1:
        return f"{born.month}/{born.day}/{born:%y}"
    if style == 2:
        return f"{born:%B} {born.day}, {born.year}"
    return born.isoformat()


def _card(fake: Faker, rnd: random.Random) -> str:
    number = fake.credit_card_number(card_type=rnd.choice(("visa16", "mastercard", "amex")))
    if rnd.random() < 0.5 and len(number) == 16:
        return " ".join(number[i : i + 4] for i in range(0, 16, 4))
    return number


def _conversation(
    fake: Faker, rnd: random.Random, tenant_index: int, conv_no: int, length: int
) -> list[SampleMessage]:
    persona = _Persona(fake, rnd, tenant_index)
    tenant_id = f"dealer-{tenant_index + 1:03d}"
    conversation_id = f"{tenant_id}-conv-{conv_no:06d}"
    channel = rnd.choice(CHANNELS)
    messages: list[SampleMessage] = []
    agent_first = rnd.random() < 0.2
    replies = list(CUSTOMER_REPLIES)
    rnd.shuffle(replies)
    agents = list(AGENT_TURNS)
    rnd.shuffle(agents)
    for i in range(length):
        customer_turn = (i % 2 == 0) != agent_first
        if customer_turn:
            template = rnd.choice(CUSTOMER_OPENERS) if i < 2 and not messages else replies.pop()
        else:
            template = agents.pop()
        if rnd.random() < 0.25:  # a longer message: two thoughts in one turn
            extra = CUSTOMER_REPLIES if customer_turn else AGENT_TURNS
            template += " " + rnd.choice(extra)
        if channel == "email":
            signatures = EMAIL_SIGNATURES[:3] if customer_turn else EMAIL_SIGNATURES[3:]
            template += rnd.choice(signatures)
        text, pii = persona.render(template)
        messages.append(
            SampleMessage(
                tenant_id=tenant_id,
                conversation_id=conversation_id,
                channel=channel,
                sender_role="customer" if customer_turn else "agent",
                text=text,
                pii=pii,
            )
        )
    return messages


def generate_conversations(count: int, tenants: int, seed: int = 7) -> Iterator[SampleMessage]:
    """`count` messages over `tenants` dealerships, in conversations of 2-8 messages.

    Deterministic for a given (count, tenants, seed).
    """
    if tenants < 1:
        raise ValueError("tenants must be >= 1")
    fake = Faker("en_US")
    fake.seed_instance(seed)
    rnd = random.Random(seed)
    produced = 0
    conv_no = 0
    while produced < count:
        length = min(rnd.randint(2, 8), count - produced)
        conv_no += 1
        yield from _conversation(fake, rnd, rnd.randrange(tenants), conv_no, length)
        produced += length


def pii_corpus(n: int, seed: int = 11) -> list[SampleMessage]:
    """`n` messages for recall tests (same generator, a different seed)."""
    return list(generate_conversations(n, tenants=5, seed=seed))


def sample_events(count: int, tenants: int, seed: int = 7) -> Iterator[ConversationMessageRaw]:
    """Generated dealership conversation messages as raw events (deterministic ids per seed)."""
    for i, s in enumerate(generate_conversations(count, tenants, seed=seed)):
        yield sample_to_event(s, f"sample-{seed}-{i}")


def sample_to_event(s: SampleMessage, event_key: str) -> ConversationMessageRaw:
    return ConversationMessageRaw(
        event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, event_key)), tenant_id=s.tenant_id,
        occurred_at=utcnow(), conversation_id=s.conversation_id, channel=s.channel,
        sender_role=s.sender_role, source_system="sample", text=s.text, ingested_at=utcnow())
