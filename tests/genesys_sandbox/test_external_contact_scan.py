"""GET /api/v2/externalcontacts/scan/contacts: the cursor scan over every external contact, and the search
index it shares with the keyword search (which may still hold a deleted contact for a while)."""

from __future__ import annotations

from genesys_sandbox.divisions import division_id
from tests.support.sandbox import ApiClient, finish_gdpr_requests

SCAN = "/api/v2/externalcontacts/scan/contacts"
CONTACTS = "/api/v2/externalcontacts/contacts"
DIVISIONS = "Home,Sales EU,Support EU"


def _scan_all(api: ApiClient, limit: int = 10, **params) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": limit, **params, **({"cursor": cursor} if cursor else {})}
        response = api.get(SCAN, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["entities"]) <= limit
        seen += [contact["id"] for contact in body["entities"]]
        cursor = (body.get("cursors") or {}).get("after")
        if not cursor:
            assert "nextUri" not in body
            return seen
        assert body["nextUri"].startswith(SCAN)


def test_the_scan_returns_every_contact_exactly_once(shared_api, shared_sandbox):
    seen = _scan_all(shared_api, limit=10)
    assert len(seen) == len(set(seen))
    assert sorted(seen) == sorted(shared_sandbox.org.external_contacts)


def test_contacts_deleted_between_pages_shift_nothing(api, fresh_sandbox):
    first = api.get(SCAN, params={"limit": 10}).json()
    cursor = first["cursors"]["after"]
    later = sorted(fresh_sandbox.org.external_contacts)[10:12]
    earlier = first["entities"][0]["id"]
    for contact_id in (earlier, *later):
        assert api.delete(f"{CONTACTS}/{contact_id}").status_code == 200
    rest = []
    while cursor:
        body = api.get(SCAN, params={"limit": 10, "cursor": cursor}).json()
        rest += [c["id"] for c in body["entities"]]
        cursor = (body.get("cursors") or {}).get("after")
    assert [c["id"] for c in first["entities"]] + rest == sorted(
        [*fresh_sandbox.org.external_contacts, earlier]
    )


def test_limit_outside_10_to_200_and_a_forged_cursor_are_400(shared_api):
    assert shared_api.get(SCAN, params={"limit": 9}).status_code == 400
    assert shared_api.get(SCAN, params={"limit": 201}).status_code == 400
    assert shared_api.get(SCAN, params={"cursor": "%%%"}).json()["code"] == "bad.request"


def test_a_deleted_contact_stays_in_the_search_and_the_scan_while_the_index_lags(sandbox_factory):
    sb = sandbox_factory(contact_index_lag_hours=12)
    api = ApiClient(sb)
    customer = sb.org.customers_where(external_contact=True, placeholder=False)[0]
    contact_id = customer.external_contact_id
    assert api.delete(f"{CONTACTS}/{contact_id}").status_code == 200
    assert api.get(f"{CONTACTS}/{contact_id}").status_code == 404
    searched = [c["id"] for c in api.get(CONTACTS, params={"q": customer.emails[0]}).json()["entities"]]
    assert contact_id in searched
    assert contact_id in _scan_all(api, limit=200)
    sb.control.advance_clock(hours=13)
    searched = [c["id"] for c in api.get(CONTACTS, params={"q": customer.emails[0]}).json()["entities"]]
    assert contact_id not in searched
    assert contact_id not in _scan_all(api, limit=200)


def test_the_scan_leaves_out_contacts_of_divisions_the_role_does_not_cover(sandbox_factory):
    sb = sandbox_factory(divisions=DIVISIONS, role_divisions="Home", division_denial="silent")
    home = division_id("Home")
    expected = sorted(c.id for c in sb.org.external_contacts.values() if c.division_id == home)
    assert sorted(_scan_all(ApiClient(sb), limit=200)) == expected


def test_the_scan_of_one_division(sandbox_factory):
    sb = sandbox_factory(divisions=DIVISIONS)
    sales = division_id("Sales EU")
    expected = sorted(c.id for c in sb.org.external_contacts.values() if c.division_id == sales)
    assert sorted(_scan_all(ApiClient(sb), limit=200, divisionId=sales)) == expected


def test_the_index_lag_counts_from_when_a_lagging_delete_was_due_not_from_when_it_landed(sandbox_factory):
    sb = sandbox_factory(contact_index_lag_hours=12, gdpr_contact_delete_lag_hours=48)
    api = ApiClient(sb)
    customer = sb.org.customers_where(external_contact=True, placeholder=False)[0]
    body = {"requestType": "GDPR_DELETE", "subject": {"emailAddresses": [customer.emails[0]]}}
    request_id = api.post("/api/v2/gdpr/requests?deleteConfirmed=true", json=body).json()["id"]
    finish_gdpr_requests(sb)
    assert api.get(f"/api/v2/gdpr/requests/{request_id}").json()["status"] == "COMPLETED"
    sb.control.advance_clock(hours=61)  # a night long after the delete was due (48 h) and its lag (12 h)
    api = ApiClient(sb)  # a fresh token: the old one expired with the clock

    assert api.get(f"{CONTACTS}/{customer.external_contact_id}").status_code == 404
    assert customer.external_contact_id not in _scan_all(api, limit=200)
