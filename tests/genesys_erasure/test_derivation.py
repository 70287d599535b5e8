from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from genesys_erasure.derivation import ContactIndex
from genesys_erasure.identifiers import Identifier, IdentifierKind
from tests.support.conversation_builder import (
    AGENT_USER_ID,
    ORG_DID,
    ORG_EMAIL,
    callback_conversation,
    conversation_id,
    email_conversation,
    message_conversation,
    voice_call,
)

OLD = datetime(2019, 3, 4, 9, 30, tzinfo=UTC)
CUTOFF = datetime(2021, 1, 1, tzinfo=UTC)
RECENT = datetime(2024, 6, 1, 14, 0, tzinfo=UTC)


def phone(value: str) -> Identifier:
    return Identifier(IdentifierKind.PHONE, value)


def email(value: str) -> Identifier:
    return Identifier(IdentifierKind.EMAIL, value)


def expired_identifiers(index: ContactIndex) -> set[Identifier]:
    return {summary.identifier for summary in index.expired(CUTOFF)}


def test_inbound_call_takes_caller_ani_not_org_dnis():
    index = ContactIndex()
    index.add(voice_call("in", start=OLD, direction="inbound", customer_number="tel:+447700900123"))
    assert expired_identifiers(index) == {phone("+447700900123")}


def test_outbound_call_takes_customer_dnis():
    index = ContactIndex()
    index.add(voice_call("out", start=OLD, direction="outbound", customer_number="tel:+447700900321"))
    assert expired_identifiers(index) == {phone("+447700900321")}


def test_agent_user_id_is_never_a_customer():
    index = ContactIndex()
    index.add(voice_call("in", start=OLD))
    index.add(email_conversation("mail", start=OLD))
    kinds = {summary.identifier.kind for summary in index.expired(CUTOFF)}
    assert IdentifierKind.USER not in kinds
    assert all(summary.identifier.value != AGENT_USER_ID for summary in index.expired(CUTOFF))


def test_customer_side_participant_with_a_user_id_is_staff_not_customer():
    call = voice_call("internal", start=OLD, customer_number="tel:+447700900555")
    call["participants"][0]["userId"] = AGENT_USER_ID
    index = ContactIndex()
    index.add(call)
    assert index.expired(CUTOFF) == []
    assert index.problems["participant:customer_with_user_id"] == 1


def test_customer_with_recent_contact_is_not_expired():
    index = ContactIndex()
    index.add(voice_call("old", start=OLD, customer_number="+447700900123"))
    index.add(voice_call("new", start=RECENT, customer_number="+447700900123"))
    assert index.expired(CUTOFF) == []
    assert index.recent(CUTOFF) == {phone("+447700900123")}


def test_recent_conversation_fed_before_old_one_still_wins():
    index = ContactIndex()
    index.add(voice_call("new", start=RECENT, customer_number="+447700900123"))
    index.add(voice_call("old", start=OLD, customer_number="+447700900123"))
    assert index.expired(CUTOFF) == []


def test_old_conversation_still_active_makes_customer_stalled_not_expired():
    index = ContactIndex()
    index.add(voice_call("stuck", start=OLD, customer_number="+447700900123", duration=None))
    assert index.expired(CUTOFF) == []
    assert [s.identifier for s in index.stalled(CUTOFF)] == [phone("+447700900123")]
    assert index.summary(phone("+447700900123")).active


def test_active_conversation_started_after_cutoff_keeps_customer_recent():
    index = ContactIndex()
    index.add(voice_call("live", start=RECENT, customer_number="+447700900123", duration=None))
    assert index.stalled(CUTOFF) == []
    assert index.recent(CUTOFF) == {phone("+447700900123")}


def test_contact_exactly_at_cutoff_is_recent():
    index = ContactIndex()
    index.add(voice_call("edge", start=CUTOFF - timedelta(minutes=7), duration=timedelta(minutes=7)))
    assert index.expired(CUTOFF) == []
    assert len(index.expired(CUTOFF + timedelta(milliseconds=1))) == 1


def test_last_contact_is_the_end_of_the_latest_conversation():
    index = ContactIndex()
    index.add(voice_call("a", start=OLD, customer_number="+447700900123", duration=timedelta(hours=2)))
    (summary,) = index.expired(CUTOFF)
    assert summary.last_contact == OLD + timedelta(hours=2)


def test_inbound_dnis_numbers_are_excluded_as_own_numbers():
    index = ContactIndex()
    # An agent rings the org's own line from an outbound call before any inbound call to it is scanned.
    index.add(voice_call("test-call", start=OLD, direction="outbound", customer_number="tel:" + ORG_DID))
    index.add(voice_call("in", start=OLD, direction="inbound", customer_number="tel:+447700900123"))
    assert expired_identifiers(index) == {phone("+447700900123")}
    assert index.detected_own_number_count == 1
    assert index.customer_count() == 1


def test_configured_own_numbers_and_addresses_are_never_customers():
    index = ContactIndex(own_identifiers=[phone("+442079460111"), email(ORG_EMAIL.lower())])
    index.add(voice_call("out", start=OLD, direction="outbound", customer_number="+44 20 7946 0111"))
    index.add(email_conversation("mail", start=OLD, direction="inbound", customer_address=ORG_EMAIL))
    assert index.expired(CUTOFF) == []


def test_excluded_identifiers_are_never_customers():
    index = ContactIndex(exclusions=[phone("+447700900123")])
    index.add(voice_call("in", start=OLD, customer_number="tel:+447700900123"))
    assert index.expired(CUTOFF) == []
    assert index.problems["skipped:exclusion_list"] == 1


def test_inbound_email_takes_sender_and_outbound_takes_recipient():
    index = ContactIndex()
    index.add(email_conversation("in", start=OLD, direction="inbound", customer_address="Jane@Example.com"))
    index.add(email_conversation("out", start=OLD, direction="outbound", customer_address="Bob@Example.org"))
    assert expired_identifiers(index) == {email("jane@example.com"), email("bob@example.org")}


def test_sms_address_is_taken_as_a_phone_number():
    index = ContactIndex()
    index.add(message_conversation("sms", start=OLD, customer_address="+447700900456"))
    assert expired_identifiers(index) == {phone("+447700900456")}


def test_social_messaging_id_is_counted_not_taken():
    index = ContactIndex(default_region="GB")
    # A numeric Facebook-style id: read as a GB national number it would name somebody's phone.
    index.add(message_conversation("fb", start=OLD, customer_address="2079460958", message_type="facebook"))
    assert index.expired(CUTOFF) == []
    assert index.problems["addressFrom:messaging_id"] == 1


def test_callback_numbers_are_customer_numbers():
    index = ContactIndex()
    index.add(
        callback_conversation(
            "cb",
            start=OLD,
            callback_numbers=("+447700900789", "+447700900790"),
            dialled_number="+447700900789",
        )
    )
    assert expired_identifiers(index) == {phone("+447700900789"), phone("+447700900790")}


def test_external_contact_id_of_customer_is_an_identifier():
    contact_id = "5b6e1c2a-1111-4222-8333-444455556666"
    index = ContactIndex()
    index.add(voice_call("in", start=OLD, external_contact_id=contact_id))
    assert Identifier(IdentifierKind.EXTERNAL_CONTACT, contact_id) in expired_identifiers(index)


def test_unparseable_values_are_counted_by_reason_not_fatal():
    index = ContactIndex()
    index.add(voice_call("name", start=OLD, customer_number="sip:reception@pbx.example"))
    index.add(voice_call("short", start=OLD, customer_number="tel:+4477"))
    index.add(voice_call("good", start=OLD, customer_number="tel:+447700900123"))
    assert expired_identifiers(index) == {phone("+447700900123")}
    assert index.problems["ani:not_a_phone_number"] == 1
    assert index.problems["ani:too_short"] == 1


def test_national_numbers_use_the_default_region():
    index = ContactIndex(default_region="GB")
    index.add(voice_call("in", start=OLD, customer_number="07700 900123"))
    assert expired_identifiers(index) == {phone("+447700900123")}


def test_conversation_count_covers_every_conversation_of_the_identifier():
    index = ContactIndex()
    for n in range(3):
        index.add(voice_call(f"c{n}", start=OLD + timedelta(days=n)))
    index.add(email_conversation("unrelated", start=OLD))
    assert index.summary(phone("+447700900123")).conversation_count == 3


def test_refed_conversation_is_counted_once():
    index = ContactIndex()
    call = voice_call("overlap", start=OLD)
    index.add(call)
    index.add(call)
    assert index.summary(phone("+447700900123")).conversation_count == 1


def test_conversation_id_list_is_capped_per_identifier_and_keeps_the_newest():
    index = ContactIndex(conversation_id_cap=5)
    labels = [f"call-{n}" for n in range(12)]
    for n in [7, 2, 11, 0, 5, 9, 1, 10, 3, 8, 6, 4]:  # not in time order
        index.add(voice_call(labels[n], start=OLD + timedelta(days=n)))
    summary = index.summary(phone("+447700900123"))
    assert summary.conversation_count == 12
    assert summary.conversation_ids == tuple(conversation_id(labels[n]) for n in (11, 10, 9, 8, 7))


def test_memory_does_not_grow_with_the_number_of_conversations():
    index = ContactIndex(conversation_id_cap=10)
    numbers = [f"tel:+4477009001{n:02d}" for n in range(20)]

    def feed(first: int, count: int) -> None:
        for n in range(first, first + count):
            index.add(voice_call(f"m{n}", start=OLD + timedelta(minutes=n), customer_number=numbers[n % 20]))

    tracemalloc.start()
    try:
        feed(0, 400)  # every identifier reaches its id cap
        before = tracemalloc.get_traced_memory()[0]
        feed(400, 2000)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert index.summary(phone("+447700900100")).conversation_count == 120
    assert after - before < 16_000


def test_naive_cutoff_is_refused():
    with pytest.raises(ValueError, match="timezone"):
        ContactIndex().expired(datetime(2021, 1, 1))


def test_conversation_without_timestamps_keeps_customer_recent():
    index = ContactIndex()
    call = voice_call("undated", start=OLD, customer_number="+447700900123")
    call.pop("conversationStart")
    call.pop("conversationEnd")
    index.add(call)
    assert index.expired(CUTOFF) == [] and index.stalled(CUTOFF) == []
    assert index.recent(CUTOFF) == {phone("+447700900123")}


def test_one_customer_seen_under_tel_sip_and_national_forms_is_one_identifier():
    index = ContactIndex(default_region="GB")
    forms = (
        "tel:+442079460958",
        "sip:+442079460958@edge-eu1.example;user=phone",
        "020 7946 0958",
        "sip:02079460958@byoc.example;user=phone",
        "tel:02079460958;phone-context=+44",
        '"Anna Berg" <sip:+442079460958@edge-eu1.example>',
    )
    for n, form in enumerate(forms):
        index.add(voice_call(f"form-{n}", start=OLD + timedelta(days=n), customer_number=form))
    assert expired_identifiers(index) == {phone("+442079460958")}
    assert index.summary(phone("+442079460958")).conversation_count == len(forms)


@pytest.mark.parametrize(
    "caller",
    [
        "anonymous",
        "sip:anonymous@anonymous.invalid",
        "",
        "Anonymous <sip:anonymous@10.0.0.1>",
        "tel:restricted",
    ],
)
def test_anonymous_caller_is_never_a_subject_and_is_counted_as_withheld(caller):
    index = ContactIndex(default_region="GB")
    index.add(voice_call("anon", start=OLD, customer_number=caller))
    assert index.expired(CUTOFF) == [] and index.customer_count() == 0
    assert index.problems == {"ani:withheld": 1}


def test_display_name_header_yields_the_addresses_only():
    index = ContactIndex()
    header = '"Berg, Anna" <Anna.Berg@Example.com>, other@example.org'
    index.add(email_conversation("cc", start=OLD, direction="outbound", customer_address=header))
    assert expired_identifiers(index) == {email("anna.berg@example.com"), email("other@example.org")}
    assert index.problems == {}


def test_messaging_handle_is_counted_as_a_messaging_id_not_an_email():
    index = ContactIndex()
    index.add(
        message_conversation("ig", start=OLD, customer_address="@northwind_fan", message_type="instagram")
    )
    assert index.expired(CUTOFF) == []
    assert index.problems == {"addressFrom:messaging_id": 1}


def _with_attributes(conversation: dict, attributes: dict[str, str]) -> dict:
    conversation["participants"][0]["attributes"] = attributes
    return conversation


def test_email_in_participant_attributes_keeps_that_customer_recent():
    index = ContactIndex()
    index.add(email_conversation("old", start=OLD, customer_address="anna@example.com"))
    index.add(_with_attributes(voice_call("ivr", start=RECENT), {"customerEmail": "Anna@Example.com"}))
    assert email("anna@example.com") not in expired_identifiers(index)


def test_identifier_seen_only_in_participant_attributes_is_never_planned():
    index = ContactIndex()
    call = voice_call("old", start=OLD, customer_number="tel:+447700900123")
    index.add(_with_attributes(call, {"callbackNumber": "+447700900999", "agentEmail": "x@example.org"}))
    assert expired_identifiers(index) == {phone("+447700900123")}
    assert index.attribute_only_count == 2


def test_national_number_in_participant_attributes_is_not_read():
    index = ContactIndex(default_region="GB")
    index.add(_with_attributes(voice_call("acct", start=RECENT), {"accountNumber": "02079460958"}))
    assert phone("+442079460958") not in index.recent(CUTOFF)


def test_national_caller_number_takes_the_country_of_the_org_number_called():
    index = ContactIndex(default_region="GB")
    # a Berlin caller on the org's German DID, presented nationally by the German trunk
    index.add(voice_call("de", start=OLD, customer_number="030 12345678", org_number="tel:+493040004000"))
    assert expired_identifiers(index) == {phone("+493012345678")}


def test_without_a_default_region_national_numbers_stay_unread():
    index = ContactIndex()
    index.add(voice_call("de", start=OLD, customer_number="030 12345678", org_number="tel:+493040004000"))
    assert index.expired(CUTOFF) == []
    assert index.problems["ani:missing_country_code"] == 1


def test_conversations_whose_attributes_may_hold_a_value_are_told_apart_for_verification():
    index = ContactIndex()
    caller = "tel:+447700900777"
    plain = voice_call("plain", start=OLD, customer_number=caller)
    flow_only = _with_attributes(voice_call("flow", start=OLD, customer_number=caller), {"language": "en-GB"})
    typed = _with_attributes(
        voice_call("typed", start=OLD, customer_number=caller), {"callback": "0161 496 0000"}
    )
    for conversation in (plain, flow_only, typed):
        index.add(conversation)
    index.add(voice_call("detail", start=OLD, customer_number=caller), attributes_known=False)

    (summary,) = index.expired(CUTOFF)

    assert len(summary.conversation_ids) == 4
    # a national number verification would match, and a conversation read without attributes at all
    assert set(summary.attribute_conversation_ids) == {conversation_id("typed"), conversation_id("detail")}
