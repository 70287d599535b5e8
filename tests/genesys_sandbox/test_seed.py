"""The seeded org: deterministic, realistic values, and the hard cases the pipeline must meet."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta

import phonenumbers
import pytest
from email_validator import validate_email

from genesys_sandbox.clock import SandboxClock
from genesys_sandbox.seed import seed_org
from genesys_sandbox.views import analytics_conversation, external_contact
from tests.support.sandbox import FIXED_NOW, SANDBOX_ORG


def _seed(settings=SANDBOX_ORG):
    return seed_org(settings, SandboxClock(settings.now))


def _snapshot(org):
    return (
        [analytics_conversation(c) for c in org.iter_conversations()],
        [external_contact(c, org.division_id) for c in org.external_contacts.values()],
        [(a.id, a.name, a.email) for a in org.agents.values()],
    )


def test_same_seed_gives_the_same_org():
    assert _snapshot(_seed()) == _snapshot(_seed())


def test_another_seed_gives_another_org():
    assert _snapshot(_seed()) != _snapshot(_seed(replace(SANDBOX_ORG, seed=8)))


def test_requested_sizes_are_met():
    org = _seed()
    assert len(org.customers) == SANDBOX_ORG.customers
    assert len(org.conversations) == SANDBOX_ORG.conversations


def test_customer_phone_numbers_are_valid_e164():
    org = _seed()
    phones = [p for c in org.customers_where(placeholder=False) for p in c.phones]
    assert phones
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in phones)
    assert {p[:3] for p in phones} >= {"+44", "+49", "+46"}


def test_own_numbers_are_valid_e164():
    org = _seed()
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(p)) for p in org.channels.all_numbers)


def test_customer_emails_are_valid():
    org = _seed()
    for customer in org.customers_where(placeholder=False):
        for email in customer.emails:
            validate_email(email, check_deliverability=False)


def test_recent_customers_had_contact_within_six_weeks_and_expired_ones_before_the_cutoff():
    org = _seed()
    recent, expired = (
        org.customers_where(activity="recent", placeholder=False),
        org.customers_where(activity="expired"),
    )
    assert recent and expired
    assert all(org.last_contact(c) > FIXED_NOW - timedelta(days=42) for c in recent)
    assert all(org.is_expired(c) for c in expired)
    assert not any(org.is_expired(c) for c in recent + org.customers_where(activity="dormant"))


def test_most_customers_are_expired():
    org = _seed(replace(SANDBOX_ORG, customers=200, conversations=1000))
    by_activity = Counter(c.activity for c in org.customers_where(placeholder=False))
    assert by_activity["expired"] > sum(by_activity.values()) / 2


def test_some_conversations_are_newer_than_the_analytics_lag():
    org = _seed()
    lag_start = FIXED_NOW - timedelta(hours=SANDBOX_ORG.analytics_lag_hours)
    assert any(c.start > lag_start and not c.active for c in org.conversations.values())


def test_recently_started_active_conversations_belong_to_recent_customers():
    org = _seed()
    active = [c for c in org.conversations.values() if c.active and c.start > FIXED_NOW - timedelta(days=2)]
    assert active
    assert {org.customers[c.customer_id].activity for c in active} == {"recent"}


def test_some_expired_customers_have_a_years_old_conversation_that_never_ended():
    org = _seed(replace(SANDBOX_ORG, customers=200, conversations=2000))
    stuck = org.customers_where(activity="expired", has_active_conversation=True)
    assert stuck
    assert all(org.is_expired(c) for c in stuck)


def test_fragmented_customers_use_email_and_phone_in_separate_conversations():
    org = _seed()
    for customer in org.customers_where(fragmented=True):
        media = {c.media_type for c in org.conversations_of(customer)}
        assert "email" in media and media - {"email"}
        contact = org.external_contacts[customer.external_contact_id]
        assert set(contact.emails) == set(customer.emails) and set(contact.phones) == set(customer.phones)


def test_placeholder_number_is_shared_by_many_conversations_under_many_names():
    org = _seed(replace(SANDBOX_ORG, customers=200, conversations=2000))
    conversations = org.conversation_ids_with("+10000000000")
    names = {org.conversations[cid].participants[0].name for cid in conversations}
    assert len(conversations) >= 20
    assert len(names) > 5


def test_org_numbers_show_up_as_dnis_on_inbound_calls():
    org = _seed()
    dnis = {
        s.dnis.removeprefix("tel:")
        for c in org.conversations.values()
        if c.media_type == "voice" and c.originating_direction == "inbound"
        for s in c.participants[0].sessions
    }
    assert dnis and dnis <= set(org.channels.dids + org.channels.toll_free)


def test_some_recordings_are_protected_and_some_archived():
    org = _seed()
    recordings = [r for c in org.conversations.values() for r in c.recordings]
    assert any(c.protected for c in org.conversations.values())
    assert {r.file_state for r in recordings} >= {"AVAILABLE", "ARCHIVED"}


# ---- data_shapes="real" ----------------------------------------------------------------------------
REAL_ORG = replace(SANDBOX_ORG, customers=120, conversations=1200, data_shapes="real")


def _customer_sessions(org):
    for conversation in org.iter_conversations():
        for participant in conversation.participants:
            if participant.purpose in ("customer", "external"):
                for session in participant.sessions:
                    yield conversation, participant, session


def _voice_customer_values(org):
    for _, _, session in _customer_sessions(org):
        if session.media_type == "voice":
            yield session.ani if session.direction == "inbound" else session.dnis


def test_clean_shapes_write_every_customer_number_as_a_tel_uri():
    values = list(_voice_customer_values(_seed()))
    assert values and all(v.startswith("tel:+") for v in values)


def test_real_shapes_write_customer_numbers_as_tel_sip_and_national():
    values = [v for v in _voice_customer_values(_seed(REAL_ORG)) if v]
    assert any(v.startswith("tel:+") for v in values)
    assert any(v.startswith("sip:+") and v.endswith(";user=phone") for v in values)
    assert any(v[0] in "0(" for v in values), "no national form"
    assert any(v.startswith("sip:") and v[4] != "+" and "anonymous" not in v for v in values)


def test_real_shapes_include_withheld_callers_named_by_nobody():
    org = _seed(REAL_ORG)
    withheld = [c for c in org.iter_conversations() if c.customer_id.startswith("unattributed")]
    anis = {s.ani for c in withheld for p in c.participants if p.purpose == "customer" for s in p.sessions}
    assert {"anonymous", "sip:anonymous@anonymous.invalid", ""} & anis
    assert all(c.customer_id not in org.customers for c in withheld)


def test_real_shapes_include_messages_from_channel_ids():
    org = _seed(REAL_ORG)
    senders = [
        s.address_from
        for _, _, s in _customer_sessions(org)
        if s.media_type == "message" and s.direction == "inbound"
    ]
    assert any(a and a.isdigit() for a in senders)


def test_real_shapes_write_email_headers_with_display_names_and_several_addresses():
    headers = [
        s.address_from if s.direction == "inbound" else s.address_to
        for _, _, s in _customer_sessions(_seed(REAL_ORG))
        if s.media_type == "email"
    ]
    assert any(h.startswith('"') and "<" in h for h in headers)
    assert any(">, " in h for h in headers)


def test_real_shapes_put_emails_and_callback_numbers_in_participant_attributes():
    org = _seed(REAL_ORG)
    attributes = [
        analytics_conversation(c, with_attributes=True)["participants"][0].get("attributes", {})
        for c in org.iter_conversations()
    ]
    values = [v for a in attributes for k, v in a.items() if k != "sandbox.channel"]
    assert any("@" in v for v in values)
    assert any(v.lstrip("+")[:1].isdigit() for v in values)


def test_real_shapes_keep_the_requested_conversation_count():
    org = _seed(REAL_ORG)
    assert len(org.conversations) == REAL_ORG.conversations


def test_unknown_data_shapes_are_refused():
    with pytest.raises(ValueError, match="data_shapes"):
        _seed(replace(SANDBOX_ORG, data_shapes="messy"))
