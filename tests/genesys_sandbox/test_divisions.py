"""A role covering only some of the org's divisions: the divisions it is permitted in, and the analytics
and external-contact answers that leave out (or refuse) objects of the divisions it does not cover."""

from __future__ import annotations

from datetime import timedelta

from genesys_sandbox.clock import format_instant
from genesys_sandbox.divisions import division_id
from tests.support.sandbox import FIXED_NOW, ApiClient

DIVISIONS = "Home,Sales EU,Support EU"
PERMITTED = "/api/v2/authorization/divisionspermitted/paged/me"
DETAILS = "/api/v2/analytics/conversations/details"
CONTACTS = "/api/v2/externalcontacts/contacts"
QUERY = "/api/v2/analytics/conversations/details/query"
JOBS = "/api/v2/analytics/conversations/details/jobs"
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


def _recent_contact_in_sales(sb) -> tuple[str, str, dict]:
    """A customer with an old conversation at home and a recent one in Sales EU; the analytics body
    finding both."""
    customer = sb.org.add_customer(phones=["+442079460777"], name="Split Person")
    old = sb.org.add_conversation(customer, start=FIXED_NOW - timedelta(days=20))
    recent = sb.org.add_conversation(customer, start=FIXED_NOW - timedelta(days=3))
    sb.org.conversations[recent].division_id = division_id("Sales EU")
    interval = f"{format_instant(FIXED_NOW - timedelta(days=30))}/{format_instant(FIXED_NOW)}"
    predicate = {"type": "dimension", "dimension": "ani", "value": "tel:+442079460777"}
    return old, recent, {"interval": interval, "segmentFilters": [{"type": "or", "predicates": [predicate]}]}


def test_silent_denial_hides_a_customers_recent_conversation_from_the_details_query(sandbox_factory):
    sb = sandbox_factory(divisions=DIVISIONS, role_divisions="Home", division_denial="silent")
    old, _recent, body = _recent_contact_in_sales(sb)
    answer = ApiClient(sb).post(QUERY, json=body).json()
    assert answer["totalHits"] == 1
    assert [c["conversationId"] for c in answer["conversations"]] == [old]


def test_silent_denial_hides_a_customers_recent_conversation_from_job_results(sandbox_factory):
    sb = sandbox_factory(
        divisions=DIVISIONS, role_divisions="Home", division_denial="silent", job_fulfil_seconds=0
    )
    old, _recent, body = _recent_contact_in_sales(sb)
    client = ApiClient(sb)
    job_id = client.post(JOBS, json=body).json()["jobId"]
    assert client.get(f"{JOBS}/{job_id}").json()["state"] == "FULFILLED"
    results = client.get(f"{JOBS}/{job_id}/results").json()
    assert [c["conversationId"] for c in results["conversations"]] == [old]


def test_403_denial_refuses_a_details_query_touching_an_uncovered_division(sandbox_factory):
    sb = sandbox_factory(divisions=DIVISIONS, role_divisions="Home", division_denial="403")
    _old, _recent, body = _recent_contact_in_sales(sb)
    refused = ApiClient(sb).post(QUERY, json=body)
    assert refused.status_code == 403
    assert refused.json()["code"] == "missing.division.permission"
