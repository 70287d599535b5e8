"""Live conversation view, disconnect, recording metadata and deletion protection."""

from __future__ import annotations

from datetime import timedelta

from tests.support.sandbox import FIXED_NOW

PROTECTION = "/api/v2/recordings/deletionprotection"


def test_active_conversation_has_no_end_time_until_disconnected(api, fresh_sandbox):
    org = fresh_sandbox.org
    customer = org.add_customer(phones=["+442079460901"], name="Still Talking")
    conversation_id = org.add_conversation(customer, start=FIXED_NOW - timedelta(minutes=3), end=None)
    live = api.get(f"/api/v2/conversations/{conversation_id}").json()
    assert "endTime" not in live
    assert {call["state"] for p in live["participants"] for call in p.get("calls", [])} == {"connected"}
    assert api.post(f"/api/v2/conversations/{conversation_id}/disconnect").status_code == 202
    assert "endTime" in api.get(f"/api/v2/conversations/{conversation_id}").json()
    analytics = api.get(f"/api/v2/analytics/conversations/{conversation_id}/details").json()
    assert "conversationEnd" in analytics


def test_live_view_names_the_parties(api, fresh_sandbox):
    org = fresh_sandbox.org
    customer = org.add_customer(phones=["+442079460902"], name="Named Caller")
    conversation_id = org.add_conversation(customer)
    live = api.get(f"/api/v2/conversations/{conversation_id}").json()
    customer_party = next(p for p in live["participants"] if p["purpose"] == "customer")
    assert customer_party["name"] == "Named Caller"
    assert customer_party["ani"] == "tel:+442079460902"
    assert customer_party["externalContactId"] == customer.external_contact_id
    assert any(p.get("userId") for p in live["participants"] if p["purpose"] == "agent")


def test_unknown_conversation_is_404(shared_api):
    response = shared_api.get("/api/v2/conversations/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["code"] == "not.found"


def test_recording_metadata_lists_file_state_and_delete_date(shared_api, shared_sandbox):
    conversation = next(
        c
        for c in shared_sandbox.org.conversations.values()
        if c.recordings and any(r.delete_date for r in c.recordings)
    )
    metadata = shared_api.get(f"/api/v2/conversations/{conversation.id}/recordingmetadata").json()
    assert {r["id"] for r in metadata} == {r.id for r in conversation.recordings}
    assert all(r["fileState"] in ("AVAILABLE", "ARCHIVED") for r in metadata)
    assert any("deleteDate" in r for r in metadata)


def test_deletion_protection_lists_only_protected_conversations(shared_api, shared_sandbox):
    conversations = shared_sandbox.org.conversations.values()
    protected = [c.id for c in conversations if c.protected][:2]
    unprotected = [c.id for c in conversations if not c.protected][:3]
    response = shared_api.post(PROTECTION, json={"conversationIds": protected + unprotected})
    assert response.status_code == 200
    assert sorted(ref["id"] for ref in response.json()) == sorted(protected)


def test_protection_can_be_applied_and_revoked(api, fresh_sandbox):
    conversation_id = next(c.id for c in fresh_sandbox.org.conversations.values() if not c.protected)
    body = {"conversationIds": [conversation_id]}
    assert api.call("PUT", PROTECTION, params={"protect": "true"}, json=body).json() == {"failedUpdates": []}
    assert [ref["id"] for ref in api.post(PROTECTION, json=body).json()] == [conversation_id]
    api.call("PUT", PROTECTION, params={"protect": "false"}, json=body)
    assert api.post(PROTECTION, json=body).json() == []


def test_protection_query_is_limited_to_100_ids(shared_api):
    response = shared_api.post(PROTECTION, json={"conversationIds": [f"id-{n}" for n in range(101)]})
    assert response.status_code == 400
