"""The knobs for what a GDPR delete leaves behind, each at its pessimistic value, seen through the API."""

from __future__ import annotations

from datetime import timedelta

from genesys_sandbox.clock import parse_instant
from tests.support.sandbox import FIXED_NOW, ApiClient, finish_gdpr_requests

REQUESTS = "/api/v2/gdpr/requests"
EMAIL = "left.over@example.com"
LAG_HOURS = 24


def _planted(sandbox):
    org = sandbox.org
    customer = org.add_customer(emails=[EMAIL], phones=[], name="Lena Leftover")
    conversation_id = org.add_conversation(customer, media="email", start=FIXED_NOW - timedelta(days=400))
    return customer, conversation_id


def _delete(api) -> None:
    response = api.post(
        REQUESTS,
        params={"deleteConfirmed": "true"},
        json={"requestType": "GDPR_DELETE", "subject": {"emailAddresses": [EMAIL]}},
    )
    assert response.status_code == 202, response.text
    finish_gdpr_requests(api.sb)
    assert api.get(f"{REQUESTS}/{response.json()['id']}").json()["status"] == "COMPLETED"


def _advance(api, hours: float) -> ApiClient:
    """Move sandbox time on; returns a client with a fresh token (the old one may have expired)."""
    api.post("/sandbox/faults", json={"advance_clock_seconds": hours * 3600}).raise_for_status()
    return ApiClient(api.sb)


def _customer_session(api, conversation_id):
    details = api.get(f"/api/v2/analytics/conversations/{conversation_id}/details").json()
    return next(p for p in details["participants"] if p["purpose"] in ("customer", "external"))


def test_placeholder_is_written_over_a_deleted_value(sandbox_factory):
    sandbox = sandbox_factory(gdpr_delete_placeholder="[redacted]")
    _, conversation_id = _planted(sandbox)
    api = ApiClient(sandbox)
    _delete(api)
    sessions = _customer_session(api, conversation_id)["sessions"]
    values = {s.get(k) for s in sessions for k in ("addressFrom", "addressTo", "remote")}
    assert "[redacted]" in values and EMAIL not in values


def test_participant_keeps_the_contact_id_of_a_deleted_contact(sandbox_factory):
    sandbox = sandbox_factory(gdpr_delete_keeps_participant_contact_id=True)
    customer, conversation_id = _planted(sandbox)
    api = ApiClient(sandbox)
    _delete(api)
    assert _customer_session(api, conversation_id)["externalContactId"] == customer.external_contact_id
    contact = api.get(f"/api/v2/externalcontacts/contacts/{customer.external_contact_id}")
    assert contact.status_code == 404


def test_external_contact_is_deleted_only_after_the_lag(sandbox_factory):
    sandbox = sandbox_factory(gdpr_contact_delete_lag_hours=LAG_HOURS)
    customer, _ = _planted(sandbox)
    api = ApiClient(sandbox)
    path = f"/api/v2/externalcontacts/contacts/{customer.external_contact_id}"
    _delete(api)
    assert api.get(path).status_code == 200
    api = _advance(api, LAG_HOURS + 1)
    assert api.get(path).status_code == 404


def test_external_contact_is_never_deleted_when_the_lag_is_null(sandbox_factory):
    sandbox = sandbox_factory(gdpr_contact_delete_lag_hours=None)
    customer, _ = _planted(sandbox)
    api = ApiClient(sandbox)
    _delete(api)
    api = _advance(api, 24 * 365)
    assert api.get(f"/api/v2/externalcontacts/contacts/{customer.external_contact_id}").status_code == 200


def test_recording_gets_a_delete_date_at_completion_and_is_deleted_after_the_lag(sandbox_factory):
    sandbox = sandbox_factory(gdpr_recording_delete_lag_hours=LAG_HOURS)
    _, conversation_id = _planted(sandbox)
    api = ApiClient(sandbox)
    path = f"/api/v2/conversations/{conversation_id}/recordingmetadata"
    _delete(api)
    [recording] = api.get(path).json()
    assert recording["fileState"] != "DELETED"
    assert parse_instant(recording["deleteDate"]) <= sandbox.org.clock.now()
    api = _advance(api, LAG_HOURS + 1)
    assert [r["fileState"] for r in api.get(path).json()] == ["DELETED"]


ATTRIBUTES = {"customer.email": EMAIL, "context.orderNumber": "A-1234"}


def _live_attributes(api, conversation_id) -> dict[str, str]:
    live = api.get(f"/api/v2/conversations/{conversation_id}").json()
    customer = next(p for p in live["participants"] if p["purpose"] in ("customer", "external"))
    return customer.get("attributes", {})


def _planted_with_attributes(sandbox) -> str:
    customer = sandbox.org.add_customer(emails=[EMAIL], phones=[], name="Lena Leftover")
    return sandbox.org.add_conversation(
        customer, media="email", start=FIXED_NOW - timedelta(days=400), attributes=ATTRIBUTES
    )


def test_delete_removes_a_participant_attribute_holding_the_subjects_value(sandbox_factory):
    sandbox = sandbox_factory()
    conversation_id = _planted_with_attributes(sandbox)
    api = ApiClient(sandbox)
    assert _live_attributes(api, conversation_id) == ATTRIBUTES
    _delete(api)
    assert _live_attributes(api, conversation_id) == {"context.orderNumber": "A-1234"}


def test_delete_leaves_participant_attributes_when_the_knob_keeps_them(sandbox_factory):
    sandbox = sandbox_factory(gdpr_delete_keeps_attributes=True, gdpr_delete_placeholder="[redacted]")
    conversation_id = _planted_with_attributes(sandbox)
    api = ApiClient(sandbox)
    _delete(api)
    assert _live_attributes(api, conversation_id) == ATTRIBUTES
    assert _customer_session(api, conversation_id)["participantName"] == "[redacted]"


def test_update_replaces_a_participant_attribute_unless_the_knob_keeps_them(sandbox_factory):
    for keeps, expected in ((False, "REDACTED"), (True, EMAIL)):
        sandbox = sandbox_factory(gdpr_delete_keeps_attributes=keeps)
        conversation_id = _planted_with_attributes(sandbox)
        api = ApiClient(sandbox)
        response = api.post(
            REQUESTS,
            json={
                "requestType": "GDPR_UPDATE",
                "subject": {"emailAddresses": [EMAIL]},
                "replacementTerms": [{"type": "EMAIL", "existingValue": EMAIL, "updatedValue": "REDACTED"}],
            },
        )
        assert response.status_code == 202, response.text
        finish_gdpr_requests(sandbox)
        assert api.get(f"{REQUESTS}/{response.json()['id']}").json()["status"] == "COMPLETED"
        assert _live_attributes(api, conversation_id)["customer.email"] == expected
