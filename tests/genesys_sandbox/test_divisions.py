"""A role covering only some of the org's divisions: the divisions it is permitted in, and the analytics
and external-contact answers that leave out (or refuse) objects of the divisions it does not cover."""

from __future__ import annotations

from genesys_sandbox.divisions import division_id
from tests.support.sandbox import ApiClient

DIVISIONS = "Home,Sales EU,Support EU"
PERMITTED = "/api/v2/authorization/divisionspermitted/paged/me"
DETAILS = "/api/v2/analytics/conversations/details"
CONTACTS = "/api/v2/externalcontacts/contacts"
UNCOVERED = {division_id("Sales EU"), division_id("Support EU")}


def _sample(sb, covered: bool) -> list[str]:
    """Conversation ids of (un)covered divisions, at most 20."""
    ids = [c.id for c in sb.org.conversations.values() if (c.division_id not in UNCOVERED) == covered]
    return ids[:20]


def test_seeded_conversations_and_contacts_are_spread_over_every_division(sandbox_factory):
    sb = sandbox_factory(divisions=DIVISIONS)
    every = {division_id(name) for name in DIVISIONS.split(",")}
    assert {c.division_id for c in sb.org.conversations.values()} == every
    assert {c.division_id for c in sb.org.external_contacts.values()} == every


def test_the_divisions_permitted_are_those_of_the_role_and_not_all(sandbox_factory):
    sb = sandbox_factory(divisions=DIVISIONS, role_divisions="Home")
    params = {"permission": "analytics:conversationDetail:view", "pageSize": 100}
    listing = ApiClient(sb).get(PERMITTED, params=params).json()
    assert [d["name"] for d in listing["entities"]] == ["Home"]
    assert listing["allDivsPermitted"] is False


def test_a_role_without_role_divisions_is_permitted_in_all_divisions(sandbox_factory):
    sb = sandbox_factory(divisions=DIVISIONS)
    params = {"permission": "analytics:conversationDetail:view", "pageSize": 100}
    listing = ApiClient(sb).get(PERMITTED, params=params).json()
    assert listing["total"] == 3
    assert listing["allDivsPermitted"] is True


def test_silent_denial_leaves_uncovered_conversations_out_of_analytics(sandbox_factory):
    sb = sandbox_factory(divisions=DIVISIONS, role_divisions="Home", division_denial="silent")
    covered, uncovered = _sample(sb, True), _sample(sb, False)
    response = ApiClient(sb).get(DETAILS, params={"id": ",".join(covered + uncovered)})
    assert response.status_code == 200
    assert {c["conversationId"] for c in response.json()["conversations"]} == set(covered)


def test_silent_denial_leaves_uncovered_contacts_out_of_the_search(sandbox_factory):
    sb = sandbox_factory(divisions=DIVISIONS, role_divisions="Home", division_denial="silent")
    listing = ApiClient(sb).get(CONTACTS, params={"pageSize": 200}).json()
    home = [c for c in sb.org.external_contacts.values() if c.division_id not in UNCOVERED]
    assert listing["total"] == len(home) < len(sb.org.external_contacts)
    assert {c["division"]["id"] for c in listing["entities"]} == {division_id("Home")}
    assert "partialResults" not in listing  # nothing says the answer is incomplete


def test_403_denial_refuses_analytics_touching_an_uncovered_division(sandbox_factory):
    sb = sandbox_factory(divisions=DIVISIONS, role_divisions="Home", division_denial="403")
    client = ApiClient(sb)
    refused = client.get(DETAILS, params={"id": ",".join(_sample(sb, True) + _sample(sb, False)[:1])})
    assert refused.status_code == 403
    assert refused.json()["code"] == "missing.division.permission"
    assert client.get(DETAILS, params={"id": ",".join(_sample(sb, True))}).status_code == 200


def test_403_denial_refuses_a_contact_search_touching_an_uncovered_division(sandbox_factory):
    sb = sandbox_factory(divisions=DIVISIONS, role_divisions="Home", division_denial="403")
    refused = ApiClient(sb).get(CONTACTS, params={"pageSize": 200})
    assert refused.status_code == 403
    assert refused.json()["code"] == "missing.division.permission"
