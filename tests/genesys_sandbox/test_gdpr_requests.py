"""POST/GET /api/v2/gdpr/requests: validation, the status walk, failures and paging."""

from __future__ import annotations

from genesys_sandbox.gdpr import PATHS

REQUESTS = "/api/v2/gdpr/requests"


def _delete(api, subject):
    return api.post(
        REQUESTS, params={"deleteConfirmed": "true"}, json={"requestType": "GDPR_DELETE", "subject": subject}
    )


def test_delete_without_delete_confirmed_is_a_400_naming_the_parameter(api):
    response = api.post(
        REQUESTS, json={"requestType": "GDPR_DELETE", "subject": {"emailAddresses": ["a@b.com"]}}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "bad.request"
    assert body["details"][0]["fieldName"] == "deleteConfirmed"


def test_replacement_terms_on_an_export_are_invalid_data(api):
    response = api.post(
        REQUESTS,
        json={
            "requestType": "GDPR_EXPORT",
            "subject": {"emailAddresses": ["a@b.com"]},
            "replacementTerms": [{"type": "EMAIL", "existingValue": "a@b.com", "updatedValue": "c@d.com"}],
        },
    )
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid data"


def test_update_without_replacement_terms_is_rejected(api):
    response = api.post(
        REQUESTS, json={"requestType": "GDPR_UPDATE", "subject": {"emailAddresses": ["a@b.com"]}}
    )
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldName"] == "replacementTerms"


def test_unknown_request_type_is_rejected(api):
    response = api.post(
        REQUESTS, json={"requestType": "GDPR_ERASE", "subject": {"emailAddresses": ["a@b.com"]}}
    )
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldName"] == "requestType"


def test_a_list_of_subjects_is_rejected(api):
    response = api.post(
        REQUESTS,
        params={"deleteConfirmed": "true"},
        json={"requestType": "GDPR_DELETE", "subjects": [{"emailAddresses": ["a@b.com"]}]},
    )
    assert response.status_code == 400


def test_empty_subject_is_rejected(api):
    response = _delete(api, {})
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldName"] == "subject"


def test_created_request_starts_initiated_with_server_fields(api):
    response = _delete(api, {"phoneNumbers": ["+442079460123"]})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "INITIATED"
    assert body["requestType"] == "GDPR_DELETE"
    assert body["selfUri"] == f"{REQUESTS}/{body['id']}"
    assert {"createdDate", "createdBy", "subject"} <= set(body)


def test_unknown_request_id_is_404_not_found(api):
    response = api.get(f"{REQUESTS}/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["code"] == "not.found"


def test_delete_walks_every_status_to_completed(api):
    request_id = _delete(api, {"phoneNumbers": ["+442079460123"]}).json()["id"]
    seen = [api.get(f"{REQUESTS}/{request_id}").json()["status"] for _ in range(5)]
    assert seen == ["SEARCHING", "DELETING", "FINALIZING", "COMPLETED", "COMPLETED"]
    assert ("INITIATED", *seen[:4]) == PATHS["GDPR_DELETE"]


def test_time_based_progress_follows_the_clock(sandbox_factory):
    from tests.support.sandbox import ApiClient

    sb = sandbox_factory(gdpr_step_seconds=60)
    api = ApiClient(sb)
    request_id = _delete(api, {"phoneNumbers": ["+442079460123"]}).json()["id"]
    assert api.get(f"{REQUESTS}/{request_id}").json()["status"] == "INITIATED"
    sb.control.advance_clock(seconds=121)
    assert api.get(f"{REQUESTS}/{request_id}").json()["status"] == "DELETING"
    sb.control.advance_clock(minutes=10)
    assert api.get(f"{REQUESTS}/{request_id}").json()["status"] == "COMPLETED"


def test_fail_next_gdpr_requests_ends_in_error(api, fresh_sandbox):
    fresh_sandbox.control.fail_next_gdpr_requests(1)
    failing = _delete(api, {"phoneNumbers": ["+442079460123"]}).json()["id"]
    healthy = _delete(api, {"phoneNumbers": ["+442079460124"]}).json()["id"]
    failing_states = [api.get(f"{REQUESTS}/{failing}").json()["status"] for _ in range(3)]
    assert failing_states == ["SEARCHING", "ERROR", "ERROR"]
    healthy_states = [api.get(f"{REQUESTS}/{healthy}").json()["status"] for _ in range(4)]
    assert healthy_states[-1] == "COMPLETED"


def test_paged_list_returns_every_request_once(api):
    created = {_delete(api, {"phoneNumbers": [f"+4420794601{n:02d}"]}).json()["id"] for n in range(7)}
    seen: list[str] = []
    page = 1
    while True:
        body = api.get(REQUESTS, params={"pageSize": 3, "pageNumber": page}).json()
        seen += [entity["id"] for entity in body["entities"]]
        assert body["total"] == 7
        assert body["pageCount"] == 3
        if "nextUri" not in body:
            break
        page += 1
    assert sorted(seen) == sorted(created)


def test_list_rejects_page_size_over_100(api):
    response = api.get(REQUESTS, params={"pageSize": 101})
    assert response.status_code == 400
    assert response.json()["details"][0]["fieldName"] == "pageSize"
