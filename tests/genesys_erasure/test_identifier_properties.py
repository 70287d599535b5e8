"""Properties of identifier normalisation, over generated numbers and mailboxes (hypothesis): normalising
is idempotent, every notation of one number or mailbox gives the same identifier, and two different
valid identifiers never normalise to one (which would erase the wrong person)."""

from __future__ import annotations

import phonenumbers
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from genesys_erasure.identifiers import InvalidIdentifier, normalise_email, normalise_phone

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Regions with different national formats and trunk prefixes (GB 0, DE 0, FR 0, US 1, IT keeps its 0).
REGIONS = ("GB", "DE", "FR", "US", "IT", "NL", "ES", "AU")


@st.composite
def valid_numbers(draw) -> phonenumbers.PhoneNumber:
    """A valid number of one of REGIONS: the region's example number with its last digits replaced."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(
        st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    )
    example = phonenumbers.example_number_for_type(region, kind)
    national = str(example.national_number)
    tail = draw(st.integers(min_value=0, max_value=9999))
    candidate = f"{national[:-4]}{tail:04d}"
    number = phonenumbers.parse(f"+{example.country_code}{candidate}")
    assume(phonenumbers.is_valid_number(number))
    return number


def _notations(number: phonenumbers.PhoneNumber) -> list[str]:
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    rfc3966 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.RFC3966)
    return [
        e164,
        international,
        rfc3966,  # tel:+44-20-...
        f"sip:{e164}@carrier.example;user=phone",
        f"  {international.replace(' ', '.')}  ",
        international.replace(" ", "-"),
    ]


@PROPERTY_SETTINGS
@given(valid_numbers())
def test_every_notation_of_a_number_normalises_to_one_e164(number):
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    region = phonenumbers.region_code_for_number(number)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    seen = {normalise_phone(text) for text in _notations(number)}
    seen.add(normalise_phone(national, default_region=region))
    # the international prefix most of Europe dials, read where it is dialled (without a default region a
    # number without "+" is refused, never guessed)
    seen.add(normalise_phone(f"00{expected[1:]}", default_region="DE"))
    assert seen == {expected}


@PROPERTY_SETTINGS
@given(valid_numbers())
def test_normalising_a_number_twice_changes_nothing(number):
    once = normalise_phone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))
    assert normalise_phone(once) == once


@PROPERTY_SETTINGS
@given(valid_numbers(), valid_numbers())
def test_two_different_numbers_never_normalise_to_one(first, second):
    assume(first != second)
    texts = [
        phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.INTERNATIONAL) for n in (first, second)
    ]
    assert normalise_phone(texts[0]) != normalise_phone(texts[1])


LOCAL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=20).filter(
    lambda s: s[0] not in "._+-" and s[-1] not in "._-" and ".." not in s
)
DOMAIN = (
    st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10),
        min_size=2,
        max_size=3,
    )
    .map(".".join)
    .filter(lambda d: not d.rsplit(".", 1)[-1].isdigit())
)


def _email_or_none(text: str) -> str | None:
    try:
        return normalise_email(text)
    except InvalidIdentifier:
        return None


@PROPERTY_SETTINGS
@given(LOCAL, DOMAIN)
def test_every_notation_of_a_mailbox_normalises_to_one_address(local, domain):
    address = f"{local}@{domain}"
    normal = _email_or_none(address)
    assume(normal is not None)
    notations = [
        address.upper(),
        f"mailto:{address}",
        f"  {address}  ",
        f'"Anna Berg" <{address}>',
        f"Anna <{address.upper()}>",
    ]
    assert {normalise_email(text) for text in notations} == {normal}
    assert normalise_email(normal) == normal


@PROPERTY_SETTINGS
@given(LOCAL, DOMAIN, LOCAL, DOMAIN)
def test_two_different_mailboxes_never_normalise_to_one(local_a, domain_a, local_b, domain_b):
    first, second = f"{local_a}@{domain_a}", f"{local_b}@{domain_b}"
    assume(first.lower() != second.lower())
    a, b = _email_or_none(first), _email_or_none(second)
    assume(a is not None and b is not None)
    assert a != b
