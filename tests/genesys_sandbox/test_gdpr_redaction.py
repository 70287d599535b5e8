"""What a finished GDPR request does to the org, seen through the API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.sandbox import FIXED_NOW, finish_gdpr_requests

REQUESTS = "/api/v2/gdpr/requests"
PHONE = "+442079460777"
EMAIL = "erase.me@example.com"


def _submit(api, request_type, subject, **extra):
    params = {"deleteConfirmed": "true"} if request_type == "GDPR_DELETE" else {}
    response = api.post(
        REQUESTS, params=params, json={"requestType": request_type, "subject": subject, **extra}
    )
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _run_to_end(api, request_id):
    finish_gdpr_requests(api.sb)
    return api.get(f"{REQUESTS}/{request_id}").json()["status"]


def _pii(api, conversation_id):
    """Every identifying value the analytics view of a conversation still shows."""
    conversation = api.get(f"/api/v2/analytics/conversations/{conversation_id}/details").json()
    values = set()
    for participant in conversation["participants"]:
        values |= {participant.get("participantName"), participant.get("externalContactId")}
        for session in participant["sessions"]:
            values |= {session.get(k) for k in ("ani", "dnis", "addressFrom", "addressTo", "remote")}
            values |= set(session.get("callbackNumbers", []))
    return values - {None}


@pytest.fixture
def subject(fresh_sandbox):
    """A customer with ended, active and protected conversations over voice, e-mail and callback."""
    org = fresh_sandbox.org
    customer = org.add_customer(emails=[EMAIL], phones=[PHONE], name="Erin Erase")
    start = FIXED_NOW - timedelta(days=400)
    ids = {
        "voice": org.add_conversation(customer, media="voice", start=start),
        "email": org.add_conversation(customer, media="email", start=start + timedelta(days=1)),
        "callback": org.add_conversation(customer, media="callback", start=start + timedelta(days=2)),
        "protected": org.add_conversation(customer, start=start + timedelta(days=3), protected=True),
        "active": org.add_conversation(customer, start=FIXED_NOW - timedelta(minutes=5), end=None),
    }
    return customer, ids


def _full_subject(customer):
    return {
        "name": customer.name,
        "externalContactId": customer.external_contact_id,
        "emailAddresses": customer.emails,
        "phoneNumbers": customer.phones,
    }


def test_completed_delete_redacts_ended_conversations(api, subject):
    customer, ids = subject
    assert _run_to_end(api, _submit(api, "GDPR_DELETE", _full_subject(customer))) == "COMPLETED"
    for key in ("voice", "email", "callback", "protected"):
        left = _pii(api, ids[key])
        assert not {f"tel:{PHONE}", PHONE, EMAIL, customer.name, customer.external_contact_id} & left, key


def test_completed_delete_keeps_the_org_numbers_and_the_agent(api, subject, fresh_sandbox):
    customer, ids = subject
    _run_to_end(api, _submit(api, "GDPR_DELETE", _full_subject(customer)))
    conversation = api.get(f"/api/v2/analytics/conversations/{ids['voice']}/details").json()
    agent = next(p for p in conversation["participants"] if p["purpose"] == "agent")
    assert agent.get("userId") and agent.get("participantName")
    dnis = conversation["participants"][0]["sessions"][0]["dnis"]
    assert dnis.removeprefix("tel:") in fresh_sandbox.org.channels.all_numbers


def test_delete_leaves_active_conversations_untouched(api, subject):
    customer, ids = subject
    before = _pii(api, ids["active"])
    _run_to_end(api, _submit(api, "GDPR_DELETE", _full_subject(customer)))
    assert _pii(api, ids["active"]) == before
    live = api.get(f"/api/v2/conversations/{ids['active']}").json()
    assert "endTime" not in live
    assert any(p.get("ani") == f"tel:{PHONE}" for p in live["participants"])


def test_delete_removes_recordings_except_protected_ones(api, subject):
    customer, ids = subject
    _run_to_end(api, _submit(api, "GDPR_DELETE", _full_subject(customer)))
    deleted = api.get(f"/api/v2/conversations/{ids['voice']}/recordingmetadata").json()
    protected = api.get(f"/api/v2/conversations/{ids['protected']}/recordingmetadata").json()
    assert deleted and all(r["fileState"] == "DELETED" for r in deleted)
    assert protected and all(r["fileState"] != "DELETED" for r in protected)


def test_delete_removes_the_external_contact(api, subject):
    customer, _ = subject
    _run_to_end(api, _submit(api, "GDPR_DELETE", _full_subject(customer)))
    assert api.get(f"/api/v2/externalcontacts/contacts/{customer.external_contact_id}").status_code == 404


def test_delete_redacts_the_live_conversation_view(api, subject):
    customer, ids = subject
    _run_to_end(api, _submit(api, "GDPR_DELETE", _full_subject(customer)))
    live = api.get(f"/api/v2/conversations/{ids['voice']}").json()
    shown = {
        p.get(k)
        for p in live["participants"]
        for k in ("name", "ani", "dnis", "address", "externalContactId")
    }
    assert not {f"tel:{PHONE}", customer.name, customer.external_contact_id} & shown


def test_nothing_changes_before_the_request_completes(api, subject):
    customer, ids = subject
    before = _pii(api, ids["voice"])
    request_id = _submit(api, "GDPR_DELETE", _full_subject(customer))
    for _ in range(3):  # SEARCHING, DELETING, FINALIZING
        api.get(f"{REQUESTS}/{request_id}")
    assert api.get(f"/api/v2/analytics/conversations/{ids['voice']}/details").status_code == 200
    assert _pii(api, ids["voice"]) == before


def test_plain_e164_subject_redacts_the_tel_uri_form(api, subject):
    _, ids = subject
    _run_to_end(api, _submit(api, "GDPR_DELETE", {"phoneNumbers": [PHONE]}))
    assert f"tel:{PHONE}" not in _pii(api, ids["voice"])
    assert EMAIL in _pii(api, ids["email"])  # only the phone was named


def test_failed_request_changes_nothing(api, subject, fresh_sandbox):
    customer, ids = subject
    fresh_sandbox.control.fail_next_gdpr_requests(1)
    before = _pii(api, ids["voice"])
    assert _run_to_end(api, _submit(api, "GDPR_DELETE", _full_subject(customer))) == "ERROR"
    assert _pii(api, ids["voice"]) == before


def test_update_replaces_the_value_with_the_updated_value(api, subject):
    _, ids = subject
    terms = [{"type": "EMAIL", "existingValue": EMAIL, "updatedValue": "new.address@example.com"}]
    request_id = _submit(api, "GDPR_UPDATE", {"emailAddresses": [EMAIL]}, replacementTerms=terms)
    assert _run_to_end(api, request_id) == "COMPLETED"
    values = _pii(api, ids["email"])
    assert "new.address@example.com" in values
    assert EMAIL not in values


def test_user_subject_redacts_the_former_agents_name_and_id(api, fresh_sandbox):
    org = fresh_sandbox.org
    agent = org.add_agent("Former Staffer", "former.staffer@northwind-care.example", active=False)
    customer = org.add_customer(phones=["+442079460778"], name="Served Customer")
    conversation_id = org.add_conversation(customer, agent=agent, start=FIXED_NOW - timedelta(days=30))
    _run_to_end(api, _submit(api, "GDPR_DELETE", {"userId": agent.id}))
    conversation = api.get(f"/api/v2/analytics/conversations/{conversation_id}/details").json()
    agent_party = next(p for p in conversation["participants"] if p["purpose"] == "agent")
    assert "userId" not in agent_party
    assert "participantName" not in agent_party
    assert "Served Customer" in _pii(api, conversation_id)


def test_export_completes_with_a_results_url(api, subject):
    _, ids = subject
    request_id = _submit(api, "GDPR_EXPORT", {"emailAddresses": [EMAIL]})
    assert _run_to_end(api, request_id) == "COMPLETED"
    body = api.get(f"{REQUESTS}/{request_id}").json()
    export = api.http.get(body["resultsUrl"], timeout=10).json()
    assert ids["email"] in export["conversationIds"]
