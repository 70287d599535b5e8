"""The stale analytics lake (`analytics_snapshot_hours`, pessimistic value): a GDPR delete reaches the
analytics jobs and the details multi-get only once the lake's snapshot watermark has passed it."""

from __future__ import annotations

from datetime import timedelta

from tests.support.sandbox import FIXED_NOW, ApiClient, finish_gdpr_requests

REQUESTS = "/api/v2/gdpr/requests"
JOBS = "/api/v2/analytics/conversations/details/jobs"
EMAIL = "stale.lake@example.com"
SNAPSHOT_HOURS = 24


def _planted(sandbox) -> str:
    org = sandbox.org
    customer = org.add_customer(emails=[EMAIL], phones=[], name="Stella Stale")
    return org.add_conversation(customer, media="email", start=FIXED_NOW - timedelta(days=400))


def _delete(api) -> None:
    response = api.post(
        REQUESTS,
        params={"deleteConfirmed": "true"},
        json={"requestType": "GDPR_DELETE", "subject": {"emailAddresses": [EMAIL]}},
    )
    assert response.status_code == 202, response.text
    finish_gdpr_requests(api.sb)
    assert api.get(f"{REQUESTS}/{response.json()['id']}").json()["status"] == "COMPLETED"


def _values(conversation) -> set[str]:
    return {
        value
        for p in conversation["participants"]
        for s in p.get("sessions", [])
        for value in (s.get("addressFrom"), s.get("addressTo"), s.get("remote"))
        if value
    }


def _job_values(api, conversation_id: str) -> set[str]:
    start = (FIXED_NOW - timedelta(days=401)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    end = (FIXED_NOW - timedelta(days=399)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    job_id = api.post(JOBS, json={"interval": f"{start}/{end}"}).json()["jobId"]
    assert api.get(f"{JOBS}/{job_id}").json()["state"] == "FULFILLED"
    results = api.get(f"{JOBS}/{job_id}/results").json()
    return next(_values(c) for c in results["conversations"] if c["conversationId"] == conversation_id)


def _multi_get_values(api, conversation_id: str) -> set[str]:
    found = api.get("/api/v2/analytics/conversations/details", params={"id": conversation_id}).json()
    return _values(found["conversations"][0])


def test_job_results_show_the_old_values_until_the_snapshot_passes_the_delete(sandbox_factory):
    sandbox = sandbox_factory(analytics_snapshot_hours=SNAPSHOT_HOURS)
    conversation_id = _planted(sandbox)
    api = ApiClient(sandbox)
    _delete(api)

    assert EMAIL in _job_values(api, conversation_id)


def test_details_multi_get_shows_the_old_values_until_the_snapshot_passes_the_delete(sandbox_factory):
    sandbox = sandbox_factory(analytics_snapshot_hours=SNAPSHOT_HOURS)
    conversation_id = _planted(sandbox)
    api = ApiClient(sandbox)
    _delete(api)

    assert EMAIL in _multi_get_values(api, conversation_id)


def test_job_results_show_the_delete_once_the_snapshot_has_passed_it(sandbox_factory):
    sandbox = sandbox_factory(analytics_snapshot_hours=SNAPSHOT_HOURS)
    conversation_id = _planted(sandbox)
    api = ApiClient(sandbox)
    _delete(api)
    api.post(
        "/sandbox/faults", json={"advance_clock_seconds": (SNAPSHOT_HOURS + 1) * 3600}
    ).raise_for_status()
    api = ApiClient(sandbox)

    assert EMAIL not in _job_values(api, conversation_id)
    assert EMAIL not in _multi_get_values(api, conversation_id)
