"""GET /api/v2/externalcontacts/contacts?q= and DELETE /api/v2/externalcontacts/contacts/{id}."""

from __future__ import annotations

CONTACTS = "/api/v2/externalcontacts/contacts"


def _ids(response):
    return [entity["id"] for entity in response.json()["entities"]]


def test_search_finds_a_contact_by_email_phone_and_name(shared_api, shared_sandbox):
    customer = shared_sandbox.org.customers_where(external_contact=True, placeholder=False)[0]
    contact_id = customer.external_contact_id
    assert contact_id in _ids(shared_api.get(CONTACTS, params={"q": customer.emails[0].upper()}))
    assert contact_id in _ids(shared_api.get(CONTACTS, params={"q": customer.phones[0]}))
    assert contact_id in _ids(shared_api.get(CONTACTS, params={"q": customer.name, "pageSize": 100}))


def test_search_for_an_unknown_value_is_empty(shared_api):
    body = shared_api.get(CONTACTS, params={"q": "nobody-at-all@nowhere.example"}).json()
    assert body["entities"] == []
    assert body["total"] == 0


def test_search_window_is_limited_to_1000_records(shared_api):
    response = shared_api.get(CONTACTS, params={"q": "a", "pageSize": 100, "pageNumber": 11})
    assert response.status_code == 400
    assert response.json()["code"] == "bad.request"


def test_paging_returns_every_contact_once(shared_api, shared_sandbox):
    seen: list[str] = []
    for page in range(1, 100):
        response = shared_api.get(CONTACTS, params={"pageSize": 7, "pageNumber": page})
        seen += _ids(response)
        if "nextUri" not in response.json():
            break
    assert sorted(seen) == sorted(shared_sandbox.org.external_contacts)


def test_deleted_contact_is_gone(api, fresh_sandbox):
    customer = fresh_sandbox.org.customers_where(external_contact=True)[0]
    contact_id = customer.external_contact_id
    assert api.delete(f"{CONTACTS}/{contact_id}").status_code == 200
    assert api.get(f"{CONTACTS}/{contact_id}").status_code == 404
    assert contact_id not in _ids(api.get(CONTACTS, params={"q": customer.emails[0]}))
    assert api.delete(f"{CONTACTS}/{contact_id}").status_code == 404
