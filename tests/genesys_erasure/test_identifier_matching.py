"""Finding a subject's identifiers in raw Genesys field values, whatever form Genesys wrote them in."""

from __future__ import annotations

import pytest

from genesys_erasure.identifier_matching import IdentifierMatcher, field_keys, normalise_field_value
from genesys_erasure.identifiers import Identifier, IdentifierKind

PHONE = Identifier(IdentifierKind.PHONE, "+441632960961")
EMAIL = Identifier(IdentifierKind.EMAIL, "jane.doe@example.com")
CONTACT = Identifier(IdentifierKind.EXTERNAL_CONTACT, "5f0d3c1e-7a2b-4c8d-9e6f-0a1b2c3d4e5f")
MATCHER = IdentifierMatcher([PHONE, EMAIL, CONTACT])


@pytest.mark.parametrize(
    "raw",
    ["tel:+441632960961", "sip:+441632960961@trunk.example;user=phone", "+44 1632 960961", "00441632960961"],
)
def test_phone_uri_and_formatted_forms_normalise_to_e164(raw):
    assert normalise_field_value(raw) == "+441632960961"


@pytest.mark.parametrize("raw", [None, "", "   ", {}, [], True, "tel:", "sip:;user=phone"])
def test_junk_field_values_normalise_to_nothing(raw):
    assert normalise_field_value(raw) is None


def test_email_normalises_case_insensitively_without_scheme():
    assert normalise_field_value("MAILTO:Jane.Doe@Example.COM") == "jane.doe@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        "tel:+441632960961",
        "01632 960961",  # national format
        "Please call me back on +44 (0)1632 960-961 after six",
        "Jane Doe <JANE.DOE@EXAMPLE.COM>",
        "jane.doe%40example.com",
        "reply to jane.doe@example.com.",
        "5F0D3C1E-7A2B-4C8D-9E6F-0A1B2C3D4E5F",
    ],
)
def test_identifier_is_found_in_any_written_form(raw):
    assert MATCHER.matches(raw)


@pytest.mark.parametrize(
    "raw",
    ["tel:+441632960962", "john.doe@example.com", "xjane.doe@example.community", "Jane Doe", 4.38, None, {}],
)
def test_other_values_do_not_match(raw):
    assert not MATCHER.matches(raw)


def test_matcher_without_usable_identifiers_is_refused():
    with pytest.raises(ValueError, match="identifiers"):
        IdentifierMatcher([])


@pytest.mark.parametrize(
    "stored",
    [
        "tel:+442079460958",
        "sip:+442079460958@edge-eu1.example;user=phone",
        "020 7946 0958",
        "sip:02079460958@byoc-trunk.example;user=phone",
        "+44 20 7946 0958",
    ],
)
def test_phone_matcher_finds_every_form_a_real_org_stores(stored):
    assert IdentifierMatcher([Identifier(IdentifierKind.PHONE, "+442079460958")]).matches(stored)


def test_email_matcher_finds_an_address_in_a_header_with_display_names_and_several_addresses():
    matcher = IdentifierMatcher([Identifier(IdentifierKind.EMAIL, "anna.berg@example.com")])
    assert matcher.matches('"Berg, Anna" <Anna.Berg@Example.com>, other@example.org')


@pytest.mark.parametrize(
    "raw",
    [
        "tel:+441632960961",
        "sip:+441632960961@trunk.example;user=phone",
        "+44 1632 960961",
        "01632 960961",
        "call me on 01632-960-961 after six",
        "MAILTO:Jane.Doe@Example.COM",
        '"Doe, Jane" <jane.doe@example.com>, other@example.com',
        "jane.doe%40example.com",
        "5F0D3C1E-7A2B-4C8D-9E6F-0A1B2C3D4E5F",
    ],
)
def test_every_value_the_matcher_matches_is_filed_under_one_of_its_lookup_keys(raw):
    # the contact scan finds its candidates by these keys: a value matched but not filed would be missed
    assert MATCHER.matches(raw)
    assert field_keys(raw) & MATCHER.lookup_keys()


def test_a_namesake_on_the_same_domain_is_not_filed_under_the_subjects_keys():
    assert not field_keys("jane.roe@example.com") & MATCHER.lookup_keys()
