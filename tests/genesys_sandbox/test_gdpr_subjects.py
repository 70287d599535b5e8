"""GET /api/v2/gdpr/subjects: how the org joins identifiers into subjects."""

from __future__ import annotations

SUBJECTS = "/api/v2/gdpr/subjects"


def _search(api, search_type, value):
    response = api.get(SUBJECTS, params={"searchType": search_type, "searchValue": value})
    assert response.status_code == 200, response.text
    return response.json()["entities"]


def test_fragmented_identity_is_joined_through_the_external_contact(shared_api, shared_sandbox):
    org = shared_sandbox.org
    customer = org.customers_where(fragmented=True)[0]
    conversations = org.conversations_of(customer)
    # the conversations never name the contact, and none holds both the e-mail and the phone
    assert all(p.external_contact_id is None for c in conversations for p in c.participants)
    by_email = _search(shared_api, "EMAIL", customer.emails[0])
    by_phone = _search(shared_api, "PHONE", customer.phones[0])
    assert by_email == by_phone
    assert by_email[0]["externalContactId"] == customer.external_contact_id
    assert set(by_email[0]["phoneNumbers"]) == set(customer.phones)
    assert set(by_email[0]["emailAddresses"]) == set(customer.emails)


def test_phone_search_accepts_the_tel_uri_form(shared_api, shared_sandbox):
    customer = shared_sandbox.org.customers_where(external_contact=True)[0]
    assert _search(shared_api, "PHONE", f"tel:{customer.phones[0]}")[0]["externalContactId"] == (
        customer.external_contact_id
    )


def test_agent_email_finds_a_user_subject(shared_api, shared_sandbox):
    agent = sorted(shared_sandbox.org.agents.values(), key=lambda a: a.id)[0]
    subjects = _search(shared_api, "EMAIL", agent.email)
    assert subjects == [{"userId": agent.id, "name": agent.name, "emailAddresses": [agent.email]}]


def test_value_seen_only_in_conversations_gives_a_bare_subject(shared_api, shared_sandbox):
    org = shared_sandbox.org
    customer = org.customers_where(external_contact=False, placeholder=False)[0]
    phone = next(p for p in customer.phones if org.conversation_ids_with(p))
    assert _search(shared_api, "PHONE", phone) == [{"phoneNumbers": [phone]}]


def test_unknown_value_gives_no_subject(shared_api):
    assert _search(shared_api, "EMAIL", "never.seen@example.com") == []


def test_search_type_and_value_are_required(shared_api):
    missing_type = shared_api.get(SUBJECTS, params={"searchValue": "x@example.com"})
    missing_value = shared_api.get(SUBJECTS, params={"searchType": "EMAIL"})
    bad_type = shared_api.get(SUBJECTS, params={"searchType": "PERSON", "searchValue": "x"})
    assert [r.status_code for r in (missing_type, missing_value, bad_type)] == [400, 400, 400]
    assert missing_type.json()["details"][0]["fieldName"] == "searchType"
    assert missing_value.json()["details"][0]["fieldName"] == "searchValue"
