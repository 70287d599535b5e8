"""POST/GET /api/v2/gdpr/requests: validation, the status walk, failures and paging."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from genesys_sandbox.gdpr import PATHS
from tests.support.sandbox import GDPR_STEP_SECONDS, ApiClient, finish_gdpr_requests

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


def test_delete_walks_every_status_to_completed_with_sandbox_time(api, fresh_sandbox):
    request_id = _delete(api, {"phoneNumbers": ["+442079460123"]}).json()["id"]
    seen = []
    for _ in range(5):
        seen.append(api.get(f"{REQUESTS}/{request_id}").json()["status"])
        fresh_sandbox.control.advance_clock(seconds=GDPR_STEP_SECONDS)
    assert seen == ["INITIATED", "SEARCHING", "DELETING", "FINALIZING", "COMPLETED"]
    assert tuple(seen) == PATHS["GDPR_DELETE"]


def test_reading_a_request_does_not_move_it(api):
    request_id = _delete(api, {"phoneNumbers": ["+442079460123"]}).json()["id"]
    single = {api.get(f"{REQUESTS}/{request_id}").json()["status"] for _ in range(5)}
    listed = {api.get(REQUESTS).json()["entities"][0]["status"] for _ in range(5)}
    assert single == listed == {"INITIATED"}


def test_time_based_progress_follows_the_clock(api, fresh_sandbox):
    request_id = _delete(api, {"phoneNumbers": ["+442079460123"]}).json()["id"]
    assert api.get(f"{REQUESTS}/{request_id}").json()["status"] == "INITIATED"
    fresh_sandbox.control.advance_clock(seconds=2 * GDPR_STEP_SECONDS + 1)
    assert api.get(f"{REQUESTS}/{request_id}").json()["status"] == "DELETING"
    fresh_sandbox.control.advance_clock(minutes=10)
    assert api.get(f"{REQUESTS}/{request_id}").json()["status"] == "COMPLETED"


def test_fail_next_gdpr_requests_ends_in_error(api, fresh_sandbox):
    fresh_sandbox.control.fail_next_gdpr_requests(1)
    failing = _delete(api, {"phoneNumbers": ["+442079460123"]}).json()["id"]
    healthy = _delete(api, {"phoneNumbers": ["+442079460124"]}).json()["id"]
    fresh_sandbox.control.advance_clock(seconds=GDPR_STEP_SECONDS)
    assert api.get(f"{REQUESTS}/{failing}").json()["status"] == "SEARCHING"
    finish_gdpr_requests(fresh_sandbox)
    assert api.get(f"{REQUESTS}/{failing}").json()["status"] == "ERROR"
    assert api.get(f"{REQUESTS}/{healthy}").json()["status"] == "COMPLETED"


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


def _created_order(api, page_size):
    body = api.get(REQUESTS, params={"pageSize": page_size, "pageNumber": 1}).json()
    return [entity["createdDate"] for entity in body["entities"]], body


def _make_requests(sb, api, count):
    ids = []
    for n in range(count):
        ids.append(_delete(api, {"phoneNumbers": [f"+4420794602{n:02d}"]}).json()["id"])
        sb.control.advance_clock(seconds=0.01)  # distinct createdDates
    return ids


def test_list_is_newest_first_by_default(api, fresh_sandbox):
    ids = _make_requests(fresh_sandbox, api, 3)
    dates, body = _created_order(api, 10)
    assert [e["id"] for e in body["entities"]] == ids[::-1]
    assert dates == sorted(dates, reverse=True)


def test_list_can_be_oldest_first(sandbox_factory):
    sb = sandbox_factory(gdpr_list_order="oldest_first")
    api = ApiClient(sb)
    ids = _make_requests(sb, api, 3)
    _dates, body = _created_order(api, 10)
    assert [e["id"] for e in body["entities"]] == ids


def test_page_size_above_the_cap_is_silently_cut_and_the_listing_says_so(sandbox_factory):
    sb = sandbox_factory(gdpr_list_page_size_cap=2)
    api = ApiClient(sb)
    _make_requests(sb, api, 5)
    body = api.get(REQUESTS, params={"pageSize": 100, "pageNumber": 1}).json()
    assert len(body["entities"]) == 2
    assert (body["pageSize"], body["pageCount"], body["total"]) == (2, 3, 5)


def test_org_wide_gdpr_quota_answers_429_with_the_rest_of_the_window(sandbox_factory):
    sb = sandbox_factory(gdpr_quota_per_window=2, gdpr_quota_window_seconds=3600)
    first, second = ApiClient(sb), ApiClient(sb)  # two tokens: the quota is the org's, not a token's
    assert _delete(first, {"phoneNumbers": ["+442079460301"]}).status_code == 202
    assert _delete(second, {"phoneNumbers": ["+442079460302"]}).status_code == 202
    refused = _delete(first, {"phoneNumbers": ["+442079460303"]})
    assert refused.status_code == 429
    assert refused.json()["code"] == "too.many.requests.retry.after"
    assert 60 < int(refused.headers["Retry-After"]) <= 3600
    assert sb.control.request_counts()["by_status"].get("202") == 2  # the refused POST created nothing
    assert second.get(REQUESTS).json()["total"] == 2
    sb.control.advance_clock(seconds=int(refused.headers["Retry-After"]))
    assert _delete(first, {"phoneNumbers": ["+442079460303"]}).status_code == 202


def test_a_held_gdpr_post_creates_the_request_before_its_caller_hears_of_it(api, fresh_sandbox):
    hold = fresh_sandbox.control.hold_next_gdpr_post(max_hold_seconds=30)
    with ThreadPoolExecutor(max_workers=1) as pool:
        answer = pool.submit(_delete, api, {"phoneNumbers": ["+442079460125"]})
        request_id = hold.wait_until_held(timeout=10)
        # Genesys has the request while its caller still waits for the answer
        assert not answer.done()
        listed = api.get(REQUESTS, params={"pageSize": 25}).json()["entities"]
        assert [entity["id"] for entity in listed] == [request_id]
        hold.release()
        assert answer.result(timeout=10).json()["id"] == request_id
    # only the next POST is held
    assert _delete(api, {"phoneNumbers": ["+442079460126"]}).status_code == 202
