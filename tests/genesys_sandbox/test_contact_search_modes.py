"""The external-contact search's pessimistic knobs: tokenised free-text matching, partial result sets."""

from __future__ import annotations

import pytest

from genesys_sandbox import SandboxSettings
from tests.support.sandbox import ApiClient

CONTACTS = "/api/v2/externalcontacts/contacts"


def _ids(response):
    return {entity["id"] for entity in response.json()["entities"]}


def _plant(sandbox, name, emails=(), phones=()):
    return sandbox.org.add_external_contact(name, list(emails), list(phones)).id


@pytest.fixture
def tokenised(sandbox_factory):
    return sandbox_factory(customers=1, conversations=1, contact_search="tokenised")


def test_tokenised_search_for_an_email_finds_namesakes_and_the_whole_domain(tokenised):
    anna = _plant(tokenised, "Anna Berg", emails=["anna.berg@example.com"])
    other_anna = _plant(tokenised, "Anna Lind", emails=["al@elsewhere.example"])
    same_domain = _plant(tokenised, "Bo Ek", emails=["bo.ek@example.com"])
    stranger = _plant(tokenised, "Cy Fox", emails=["cy@fox.example"])

    found = _ids(ApiClient(tokenised).get(CONTACTS, params={"q": "anna.berg@example.com", "pageSize": 100}))

    assert {anna, other_anna, same_domain} <= found
    assert stranger not in found


def test_tokenised_search_for_a_phone_finds_contacts_sharing_a_digit_group(tokenised):
    caller = _plant(tokenised, "Di Gray", phones=["+447700900123"])
    same_ending = _plant(tokenised, "Ed Hale", phones=["+447911550123"])
    elsewhere = _plant(tokenised, "Flo Ives", phones=["+447911555888"])

    found = _ids(ApiClient(tokenised).get(CONTACTS, params={"q": "+447700900123", "pageSize": 100}))

    assert {caller, same_ending} <= found
    assert elsewhere not in found


def test_exact_search_is_the_default(sandbox_factory):
    sandbox = sandbox_factory(customers=1, conversations=1)
    anna = _plant(sandbox, "Anna Berg", emails=["anna.berg@example.com"])
    other_anna = _plant(sandbox, "Anna Lind", emails=["al@elsewhere.example"])

    found = _ids(ApiClient(sandbox).get(CONTACTS, params={"q": "anna.berg@example.com"}))

    assert anna in found and other_anna not in found


def test_search_above_the_partial_threshold_answers_a_truncated_partial_list(sandbox_factory):
    sandbox = sandbox_factory(customers=1, conversations=1, contact_search_partial_above=2)
    for n in range(5):
        _plant(sandbox, f"Gus Jolly{n}", emails=[f"gus{n}@jolly.example"])

    body = ApiClient(sandbox).get(CONTACTS, params={"q": "jolly", "pageSize": 100}).json()

    assert body["partialResults"] is True
    assert len(body["entities"]) == 2


def test_search_under_the_partial_threshold_is_complete(sandbox_factory):
    sandbox = sandbox_factory(customers=1, conversations=1, contact_search_partial_above=10)
    _plant(sandbox, "Gus Jolly", emails=["gus@jolly.example"])

    body = ApiClient(sandbox).get(CONTACTS, params={"q": "jolly"}).json()

    assert "partialResults" not in body and len(body["entities"]) == 1


def test_unknown_contact_search_mode_is_refused():
    with pytest.raises(ValueError, match="contact_search"):
        SandboxSettings(contact_search="fuzzy")
