"""Word lists for the seed generator: names and phone-number shapes from the countries the org serves.

Every phone shape yields numbers that `phonenumbers` accepts as valid (checked by a test), so the pipeline's
normaliser sees realistic E.164 values rather than obviously fake ones.
"""

from __future__ import annotations

FIRST_NAMES = {
    "GB": (
        "Oliver",
        "Amelia",
        "Harry",
        "Isla",
        "George",
        "Ava",
        "Noah",
        "Mia",
        "Jack",
        "Grace",
        "Freya",
        "Arthur",
    ),
    "US": ("James", "Olivia", "Liam", "Emma", "Ethan", "Sophia", "Mason", "Harper", "Logan", "Ella", "Lucas"),
    "DE": (
        "Lukas",
        "Hannah",
        "Felix",
        "Lea",
        "Jonas",
        "Marie",
        "Paul",
        "Lena",
        "Leon",
        "Anna",
        "Finn",
        "Emilia",
    ),
    "SE": (
        "Erik",
        "Astrid",
        "Lars",
        "Ingrid",
        "Nils",
        "Saga",
        "Oskar",
        "Elsa",
        "Axel",
        "Maja",
        "Hugo",
        "Linnea",
    ),
}
LAST_NAMES = {
    "GB": ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts", "Walker"),
    "US": ("Johnson", "Miller", "Davis", "Garcia", "Rodriguez", "Martinez", "Anderson", "Moore", "Jackson"),
    "DE": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann"),
    "SE": ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson"),
}
EMAIL_DOMAINS = {
    "GB": ("example.co.uk", "mail.example.com"),
    "US": ("example.com", "example.net"),
    "DE": ("example.de", "post.example.org"),
    "SE": ("example.se", "example.org"),
}
COUNTRY_WEIGHTS = (("GB", 35), ("US", 30), ("DE", 20), ("SE", 15))

# (prefix, number of random digits) pairs; landline and mobile shapes per country. For +1 numbers the
# first random digit (the exchange) is 2-9, as the North American plan requires.
PHONE_SHAPES = {
    "GB": (("+4420794", 5), ("+44777", 7), ("+44780", 7), ("+44161", 7)),
    "US": (("+1212", 7), ("+1415", 7), ("+1312", 7), ("+1646", 7)),
    "DE": (("+4930", 8), ("+49151", 8), ("+49170", 7), ("+4989", 8)),
    "SE": (("+468", 7), ("+4670", 7), ("+4673", 7), ("+4631", 7)),
}

AGENT_FIRST = (
    "Alex",
    "Sam",
    "Robin",
    "Kim",
    "Charlie",
    "Jamie",
    "Taylor",
    "Morgan",
    "Jordan",
    "Casey",
    "Riley",
)
AGENT_LAST = ("Berg", "Novak", "Keller", "Hughes", "Lind", "Okafor", "Rossi", "Dubois", "Sato", "Kowalski")

ORG_DOMAIN = "northwind-care.example"
ORG_EMAIL_ADDRESSES = (f"support@{ORG_DOMAIN}", f"billing@{ORG_DOMAIN}", f"kundservice@{ORG_DOMAIN}")
ORG_DIDS = ("+12125550100", "+442079460100", "+493040004000", "+46850550100")
ORG_TOLL_FREE = ("+18005550199", "+448000119911")
ORG_SMS_NUMBERS = ("+12125550150", "+447777000150")
QUEUE_NAMES = ("Customer Care", "Billing", "Sales", "Technical Support", "Kundservice")

# identifiers agents type in when a customer gives none: implausibly shared by many conversations
PLACEHOLDER_PHONE = "+10000000000"
PLACEHOLDER_EMAIL = "noemail@example.com"

# data_shapes="real": the SIP hosts of the org's edges and BYOC trunk, as they appear in `sip:` ANIs/DNIS
ORG_SIP_HOSTS = ("edge-eu1.northwind-care.example", "byoc-trunk.northwind-care.example")
# callers who withheld their number, as carriers and edges present them
WITHHELD_CALLERS = ("anonymous", "sip:anonymous@anonymous.invalid", "", "Anonymous <sip:anonymous@10.20.0.5>")
# participant-attribute keys flows use for what the customer typed in the IVR or a web form
EMAIL_ATTRIBUTE_KEYS = ("customerEmail", "Email", "context.email")
PHONE_ATTRIBUTE_KEYS = ("callbackNumber", "ivr.enteredNumber", "context.phone")
