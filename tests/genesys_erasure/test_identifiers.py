from __future__ import annotations

import pytest

from genesys_erasure.identifiers import (
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    is_withheld_caller,
    normalise_email,
    normalise_phone,
    parse_contact_point,
    parse_identifier,
)


def test_tel_uri_with_spaces_is_normalised_to_e164():
    assert normalise_phone("tel:+44 7700 900-123") == "+447700900123"


def test_sip_uri_with_host_and_parameters_yields_the_number():
    assert normalise_phone("sip:+447700900123@edge.acme.example;user=phone") == "+447700900123"


def test_national_number_is_read_in_the_default_region():
    assert normalise_phone("07700 900123", default_region="GB") == "+447700900123"


def test_national_number_without_a_default_region_is_refused():
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_phone("07700 900123")
    assert caught.value.reason == "missing_country_code"


def test_sip_user_name_is_not_a_phone_number():
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_phone("sip:sam.agent@acme.byoc.example")
    assert caught.value.reason == "not_a_phone_number"


def test_number_too_short_for_its_country_is_refused():
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_phone("+44 20 79")
    assert caught.value.reason == "too_short"


def test_number_in_a_fictional_but_possible_range_is_accepted():
    # Ofcom's drama range is not "valid" in libphonenumber's metadata, but has a possible length.
    assert normalise_phone("+44 7700 900000") == "+447700900000"


def test_email_is_lowercased_and_mailto_is_stripped():
    assert normalise_email("mailto:Jane.Doe@Example.COM?subject=Bill") == "jane.doe@example.com"


def test_email_display_name_is_dropped():
    assert normalise_email("Jane Doe <JANE@example.com>") == "jane@example.com"


def test_email_without_a_domain_dot_is_refused():
    with pytest.raises(InvalidIdentifier) as caught:
        normalise_email("jane@localhost")
    assert (caught.value.field, caught.value.reason) == ("email", "invalid_syntax")


@pytest.mark.parametrize(
    ("kind", "raw"),
    [
        ("phone", "+44 7700 9"),
        ("phone", "07700 900123"),
        ("phone", "sip:jane.doe.private@example.com"),
        ("email", "jane.doe.private@"),
        ("email", "jane.doe,private@example.com"),
        ("email", "jane.doe.private"),
    ],
)
def test_error_messages_never_contain_the_raw_identifier(kind, raw):
    with pytest.raises(InvalidIdentifier) as caught:
        parse_identifier(kind, raw)
    message = str(caught.value) + repr(caught.value) + str(caught.value.in_context("exclusions[2]"))
    for fragment in ("7700", "jane", "private", "example"):
        assert fragment not in message


def test_error_context_names_the_location_and_keeps_the_reason():
    error = InvalidIdentifier("phone", "too_short").in_context("row 17, column ani")
    assert str(error) == "invalid row 17, column ani (phone): too_short"
    assert error.reason == "too_short"


def test_parse_identifier_normalises_by_kind():
    assert parse_identifier("email", " Jane@Example.com ") == Identifier(
        IdentifierKind.EMAIL, "jane@example.com"
    )
    assert parse_identifier(IdentifierKind.PHONE, "020 7946 0958", "GB").value == "+442079460958"
    assert parse_identifier("external_contact_id", " 5b6e1c2a-0000-4000-8000-000000000001 ").value == (
        "5b6e1c2a-0000-4000-8000-000000000001"
    )


def test_unknown_identifier_kind_is_refused():
    with pytest.raises(InvalidIdentifier) as caught:
        parse_identifier("twitter", "@jane")
    assert caught.value.reason == "unknown_kind"


def test_contact_point_is_read_as_email_or_phone_by_shape():
    assert parse_contact_point("Jane@Example.com").kind is IdentifierKind.EMAIL
    assert parse_contact_point("sip:+447700900123@edge.example").kind is IdentifierKind.PHONE
    assert parse_contact_point("07700 900123", "GB") == Identifier(IdentifierKind.PHONE, "+447700900123")


def test_identifier_repr_hides_the_value():
    assert "7700" not in repr(Identifier(IdentifierKind.PHONE, "+447700900123"))


def test_rfc3966_local_number_takes_its_country_from_the_phone_context():
    assert normalise_phone("tel:07700900123;phone-context=+44") == "+447700900123"


def test_sip_header_with_a_display_name_yields_the_number():
    assert normalise_phone('"Anna Berg" <sip:+442079460958@edge.example>') == "+442079460958"


@pytest.mark.parametrize("value", ["sip:anonymous@anonymous.invalid", "Anonymous", "", "tel:Restricted"])
def test_withheld_caller_forms_are_recognised(value):
    assert is_withheld_caller(value)


def test_a_real_number_is_not_a_withheld_caller():
    assert not is_withheld_caller("sip:+442079460958@edge.example;user=phone")
