"""Independent verification after Genesys reports COMPLETED."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.verification import (
    CONTACT_NOT_YET_DELETED,
    CONTACT_SEARCH_LAG,
    RECORDING_DELETE_SCHEDULED,
    Exemption,
    PendingFinding,
    VerificationResult,
    verify_subject,
)
from tests.support.conversation_builder import email_conversation, voice_call

START = datetime(2026, 1, 12, 10, 30, tzinfo=UTC)
PHONE = "+447700900317"
EMAIL = "zelda.quarantino@planted-example.org"
CONTACT_ID = "5f0d3c1e-7a2b-4c8d-9e6f-0a1b2c3d4e5f"
SUBJECT = [
    Identifier(IdentifierKind.PHONE, PHONE),
    Identifier(IdentifierKind.EMAIL, EMAIL),
    Identifier(IdentifierKind.EXTERNAL_CONTACT, CONTACT_ID),
]
SOMEONE_ELSE = "tel:+447700900999"


def _scrubbed_call(label: str, **options):
    return voice_call(label, start=START, customer_number=SOMEONE_ELSE, customer_name="", **options)


def _recording(conversation: dict, state: str, recording_id: str = "rec-1") -> dict:
    return {"id": recording_id, "conversationId": conversation["conversationId"], "fileState": state}


def test_scrubbed_conversations_verify():
    calls = [_scrubbed_call("a"), _scrubbed_call("b")]
    result = verify_subject(
        SUBJECT, analytics_conversations=calls, recordings=[_recording(calls[0], "DELETED")]
    )
    assert (result.ok, result.status, result.conversations_checked) == (True, "verified", 2)


def test_verification_flags_identifier_left_in_ani():
    call = voice_call("left-over", start=START, customer_number="tel:" + PHONE, customer_name="")
    result = verify_subject(SUBJECT, analytics_conversations=[call, _scrubbed_call("clean")])
    assert not result.ok
    [finding] = result.conversation_findings
    assert finding.conversation_id == call["conversationId"]
    assert "analytics.participants[].sessions[].ani" in finding.fields


def test_e_mail_left_in_address_from_is_found_whatever_its_case():
    mail = email_conversation("mail", start=START, customer_address=EMAIL.upper())
    [finding] = verify_subject(SUBJECT, analytics_conversations=[mail]).conversation_findings
    assert "analytics.participants[].sessions[].addressFrom" in finding.fields


def test_identifier_in_participant_attributes_is_reported_without_the_attribute_key():
    call = _scrubbed_call("attrs")
    call["participants"][0]["attributes"] = {"customerEmail": EMAIL}
    [finding] = verify_subject(SUBJECT, analytics_conversations=[call]).conversation_findings
    assert finding.fields == ("analytics.participants[].attributes.*",)


def _live(participant: dict) -> dict:
    return {"id": "conv-live", "endTime": "2026-01-12T10:40:00Z", "participants": [participant]}


def test_value_left_only_in_live_attributes_fails_as_attributes_only():
    live = _live({"purpose": "customer", "name": "", "attributes": {"cb": PHONE}})
    result = verify_subject(SUBJECT, live_conversations=[live])
    assert (result.status, result.only_attributes_left) == ("failed", True)


def test_value_left_in_attributes_and_an_address_field_is_not_attributes_only():
    live = _live({"purpose": "customer", "ani": "tel:" + PHONE, "attributes": {"cb": PHONE}})
    result = verify_subject(SUBJECT, live_conversations=[live])
    assert (result.status, result.only_attributes_left) == ("failed", False)


def test_attribute_counts_survive_the_ledger_round_trip_and_older_results_read_as_none():
    result = VerificationResult(
        ok=True,
        attributes_checked=2,
        attributes_not_verified=(("permission_denied", 3),),
        attributes_absent_when_planned=4,
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["participant_attributes"] == {
        "conversations_checked": 2,
        "not_verified": {"permission_denied": 3},
        "absent_when_planned": 4,
    }
    assert VerificationResult.from_dict(data) == result
    del data["participant_attributes"]
    assert VerificationResult.from_dict(data).attributes_not_verified == ()


def test_identifier_left_in_live_conversation_is_found():
    live = {
        "id": "conv-live",
        "endTime": "2026-01-12T10:40:00Z",
        "participants": [{"purpose": "customer", "ani": "tel:" + PHONE, "name": ""}],
    }
    [finding] = verify_subject(SUBJECT, live_conversations=[live]).conversation_findings
    assert (finding.conversation_id, finding.fields) == ("conv-live", ("live.participants[].ani",))


def test_findings_name_fields_but_never_values():
    call = voice_call("leaky", start=START, customer_number="tel:" + PHONE, customer_name=EMAIL)
    serialised = json.dumps(verify_subject(SUBJECT, analytics_conversations=[call]).to_dict())
    assert PHONE not in serialised and PHONE[1:] not in serialised and EMAIL not in serialised
    assert "participantName" in serialised


def test_active_conversation_is_deferred_not_failed():
    active = voice_call("active", start=START, customer_number="tel:" + PHONE, duration=None)
    active_recording = _recording(active, "AVAILABLE")
    result = verify_subject(SUBJECT, analytics_conversations=[active], recordings=[active_recording])
    assert (result.ok, result.status) == (True, "deferred")
    assert result.deferred_conversation_ids == (active["conversationId"],)
    assert result.recording_findings == ()


def test_recording_not_deleted_fails_verification():
    call = _scrubbed_call("recorded")
    result = verify_subject(
        SUBJECT, analytics_conversations=[call], recordings=[_recording(call, "ARCHIVED")]
    )
    assert not result.ok
    assert [(f.recording_id, f.file_state) for f in result.recording_findings] == [("rec-1", "ARCHIVED")]


SHARED_HEADER = f"{EMAIL}, bob@example.org"


def _left_for_bob(value: object) -> bool:
    return value == SHARED_HEADER


def test_recording_of_a_conversation_naming_the_subject_only_in_a_header_left_for_others_awaits_review():
    mail = email_conversation("shared", start=START, customer_address=SHARED_HEADER)
    result = verify_subject(
        SUBJECT,
        analytics_conversations=[mail],
        recordings=[_recording(mail, "ARCHIVED")],
        left_for_others=_left_for_bob,
    )
    assert (result.ok, result.status, result.recording_findings) == (True, "shared_residue", ())
    assert [(f.recording_id, f.file_state) for f in result.shared_recording_findings] == [
        ("rec-1", "ARCHIVED")
    ]
    assert VerificationResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_recording_left_in_a_conversation_the_delete_reached_fails_beside_a_shared_header():
    # the scrubbed call held the subject's own number, so the delete found it: a recording it left there
    # without a deleteDate is a failed delete, whatever another conversation shares with somebody else
    mail = email_conversation("shared", start=START, customer_address=SHARED_HEADER)
    scrubbed = _scrubbed_call("scrubbed")
    result = verify_subject(
        SUBJECT,
        analytics_conversations=[mail, scrubbed],
        recordings=[_recording(scrubbed, "ARCHIVED")],
        left_for_others=_left_for_bob,
    )
    assert result.status == "failed" and not result.shared_recording_findings
    assert [f.conversation_id for f in result.recording_findings] == [scrubbed["conversationId"]]


def test_protected_recording_is_a_legal_hold_exemption():
    call = _scrubbed_call("held")
    result = verify_subject(
        SUBJECT,
        analytics_conversations=[call],
        recordings=[_recording(call, "AVAILABLE")],
        protected_conversation_ids=[call["conversationId"]],
    )
    assert (result.ok, result.recording_findings) == (True, ())
    assert result.exemptions == (Exemption(call["conversationId"], "rec-1", "legal_hold"),)


def test_deletion_protection_does_not_excuse_identifiers_left_in_the_conversation():
    call = voice_call("held-and-leaky", start=START, customer_number="tel:" + PHONE)
    result = verify_subject(
        SUBJECT, analytics_conversations=[call], protected_conversation_ids=[call["conversationId"]]
    )
    assert not result.ok


def test_external_contact_still_holding_an_identifier_is_pending_not_failed():
    contact = {"id": "contact-9", "firstName": "Z.", "cellPhone": {"e164": PHONE, "display": "07700 900317"}}
    result = verify_subject(SUBJECT, external_contacts=[contact])
    assert (result.ok, result.status) == (True, "erasure_pending")
    assert result.pending == (PendingFinding("external_contact", "contact-9", CONTACT_NOT_YET_DELETED),)


def test_search_hit_on_a_contact_that_answers_404_is_search_lag():
    result = verify_subject(
        SUBJECT, external_contacts=[{"id": CONTACT_ID, "firstName": ""}], missing_contact_ids=[CONTACT_ID]
    )
    assert result.status == "erasure_pending"
    assert [p.reason for p in result.pending] == [CONTACT_SEARCH_LAG]


def test_participant_naming_a_deleted_contacts_id_is_erased():
    call = _scrubbed_call("linked", external_contact_id=CONTACT_ID)
    result = verify_subject(SUBJECT, analytics_conversations=[call], missing_contact_ids=[CONTACT_ID])
    assert (result.ok, result.status, result.pending) == (True, "verified", ())


def test_participant_naming_an_existing_contacts_id_is_pending():
    call = _scrubbed_call("linked", external_contact_id=CONTACT_ID)
    result = verify_subject(SUBJECT, analytics_conversations=[call])
    assert (result.ok, result.status) == (True, "erasure_pending")


def test_recording_with_a_delete_date_before_the_deadline_is_pending():
    call = _scrubbed_call("scheduled")
    recording = {**_recording(call, "AVAILABLE"), "deleteDate": "2026-01-13T00:00:00.000Z"}
    result = verify_subject(
        SUBJECT, analytics_conversations=[call], recordings=[recording], delete_by=START + timedelta(days=7)
    )
    assert (result.ok, result.status) == (True, "erasure_pending")
    assert result.pending == (PendingFinding("recording", "rec-1", RECORDING_DELETE_SCHEDULED),)


def test_recording_whose_delete_date_is_after_the_deadline_fails():
    call = _scrubbed_call("retained")
    recording = {**_recording(call, "AVAILABLE"), "deleteDate": "2033-01-12T00:00:00.000Z"}
    result = verify_subject(
        SUBJECT, analytics_conversations=[call], recordings=[recording], delete_by=START + timedelta(days=7)
    )
    assert result.status == "failed"


def test_value_still_readable_in_a_conversation_fails_even_with_pending_items():
    call = voice_call("leaky", start=START, customer_number="tel:" + PHONE)
    recording = {**_recording(call, "AVAILABLE"), "deleteDate": "2026-01-13T00:00:00.000Z"}
    result = verify_subject(SUBJECT, analytics_conversations=[call], recordings=[recording])
    assert result.status == "failed"


def test_search_hit_on_someone_else_is_not_a_finding():
    other = {"id": "contact-2", "firstName": "Zelda", "workEmail": "zelda@elsewhere.example"}
    result = verify_subject(SUBJECT, external_contacts=[other])
    assert (result.ok, result.external_contacts_checked) == (True, 1)


def test_result_round_trips_through_its_dict_form():
    call = voice_call("round", start=START, customer_number="tel:" + PHONE)
    held = _scrubbed_call("held", duration=timedelta(minutes=3))
    result = verify_subject(
        SUBJECT,
        analytics_conversations=[call, held],
        recordings=[_recording(held, "AVAILABLE", "rec-h")],
        protected_conversation_ids=[held["conversationId"]],
    )
    assert VerificationResult.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_conversation_without_id_is_refused_naming_its_position():
    with pytest.raises(ValueError, match=r"analytics_conversations\[1\]\.conversationId"):
        verify_subject(SUBJECT, analytics_conversations=[_scrubbed_call("ok"), {"participants": []}])
