"""Erasing every stored form of a subject's identifiers: Genesys keeps one number as `tel:+44…`,
`sip:…@host;user=phone`, a national `020 …` and callback numbers as typed, and e-mail headers with display
names; a GDPR delete that matches whole values (the sandbox's pessimistic `data_shapes="real"`) erases only
the forms the request names. Raw forms are kept bounded and sealed, never reported."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import getaddresses

import pytest

from genesys_erasure.derivation import MAX_RAW_FORMS, ContactIndex
from genesys_erasure.identifiers import (
    Identifier,
    IdentifierKind,
    InvalidIdentifier,
    is_withheld_caller,
    normalise_phone,
)
from genesys_erasure.ledger import SubjectPlan, SubjectSource, SubjectState
from genesys_erasure.ledger.records import unseal_raw_forms
from genesys_erasure.shared_headers import left_for_others, may_be_named
from genesys_erasure.steps.plan import Seed, plan_erasure
from genesys_erasure.steps.plan_requests import plan_retention_purge
from genesys_erasure.steps.reconcile import reconcile_stuck_submissions
from genesys_erasure.steps.scan import find_expired_customers
from genesys_erasure.steps.settle import settle_requests
from genesys_erasure.steps.subjects_api import gdpr_subject_body, subject_hashes
from genesys_erasure.steps.submit import request_ids_in_flight, submit_batch
from genesys_erasure.steps.verify import verify_completed
from genesys_erasure.verification import verify_subject
from genesys_sandbox.org import conversation_index_keys
from tests.genesys_erasure.steps.conftest import TINY_ORG, plan_request

S = SubjectState
PHONE = Identifier(IdentifierKind.PHONE, "+442079460958")
EMAIL = Identifier(IdentifierKind.EMAIL, "anna.berg@example.org")
REAL_SHAPES = dataclasses.replace(TINY_ORG, customers=40, conversations=400, data_shapes="real")


@pytest.fixture
def sandbox_settings(request) -> object:
    return getattr(request, "param", TINY_ORG)


def _call(number: str, ended: datetime) -> dict:
    return {
        "conversationId": f"00000000-0000-4000-8000-{abs(hash(number)) % 10**12:012d}",
        "conversationStart": (ended - timedelta(minutes=5)).isoformat(),
        "conversationEnd": ended.isoformat(),
        "originatingDirection": "inbound",
        "participants": [
            {
                "purpose": "customer",
                "sessions": [
                    {"mediaType": "voice", "direction": "inbound", "ani": number, "dnis": "tel:+442071234567"}
                ],
            }
        ],
    }


def test_the_index_keeps_each_distinct_stored_form_of_an_identifier_but_not_the_identifier_itself():
    index = ContactIndex(default_region="GB")
    ended = datetime(2015, 1, 1, tzinfo=UTC)
    for number in ("tel:+442079460958", "020 7946 0958", "sip:02079460958@trunk", "+442079460958"):
        index.add(_call(number, ended))

    [summary] = index.expired(datetime(2020, 1, 1, tzinfo=UTC))

    assert summary.identifier == PHONE
    assert summary.raw_forms == ("020 7946 0958", "sip:02079460958@trunk", "tel:+442079460958")
    assert summary.raw_forms_dropped == 0


def test_the_index_keeps_at_most_the_cap_of_forms_per_identifier_and_counts_the_rest():
    index = ContactIndex(default_region="GB")
    ended = datetime(2015, 1, 1, tzinfo=UTC)
    forms = [f"sip:+442079460958@edge{n}.example;user=phone" for n in range(MAX_RAW_FORMS + 3)]
    for form in forms * 2:
        index.add(_call(form, ended))

    [summary] = index.expired(datetime(2020, 1, 1, tzinfo=UTC))

    assert len(summary.raw_forms) == MAX_RAW_FORMS
    assert summary.raw_forms_dropped == 3


def test_the_delete_body_names_the_raw_forms_without_changing_its_keyed_hash_set(world):
    hasher = world.runtime.hasher
    forms = {
        PHONE: ("020 7946 0958", "tel:+442079460958"),
        EMAIL: ('"Berg, Anna" <anna.berg@example.org>',),
    }

    body = gdpr_subject_body([PHONE, EMAIL], forms)

    assert body["phoneNumbers"] == ["+442079460958", "020 7946 0958", "tel:+442079460958"]
    assert body["emailAddresses"] == [EMAIL.value, '"Berg, Anna" <anna.berg@example.org>']
    assert subject_hashes(body, hasher) == subject_hashes(gdpr_subject_body([PHONE, EMAIL]), hasher)


def test_the_delete_body_never_names_a_header_listing_somebody_elses_address():
    shared = 'anna.berg@example.org, "Other" <other@example.org>'

    body = gdpr_subject_body([EMAIL], {EMAIL: ('"Berg, Anna" <anna.berg@example.org>', shared)})

    assert body["emailAddresses"] == [EMAIL.value, '"Berg, Anna" <anna.berg@example.org>']


def test_the_delete_body_names_a_header_listing_somebody_else_only_when_the_plan_allowed_it():
    shared = 'anna.berg@example.org, "Other" <other@example.org>'

    body = gdpr_subject_body([EMAIL], {EMAIL: (shared,)}, shared_named={shared})

    assert body["emailAddresses"] == [EMAIL.value, shared]


def test_a_header_may_be_named_only_when_every_other_address_in_it_is_erased_too():
    other = Identifier(IdentifierKind.EMAIL, "other@example.org")
    header = 'anna.berg@example.org, "Other" <other@example.org>'

    assert may_be_named(header, {EMAIL.value}, {other})
    assert not may_be_named(header, {EMAIL.value}, set())
    # an address the parser cannot read could be anybody's, a retained customer's too
    assert not may_be_named("anna.berg@example.org, other@", {EMAIL.value}, {other})
    assert not may_be_named("anna.berg@example.org other@example.org", {EMAIL.value}, set())


def test_the_delete_body_names_a_header_listing_only_the_subjects_own_addresses():
    work = Identifier(IdentifierKind.EMAIL, "anna@work.example")
    own = '"Berg, Anna" <anna.berg@example.org>, Anna@Work.example'

    body = gdpr_subject_body([EMAIL, work], {EMAIL: (own,), work: (own,)})

    assert body["emailAddresses"] == [EMAIL.value, work.value, own]


def _email(header: str, ended: datetime) -> dict:
    return {
        "conversationId": f"00000000-0000-4000-8000-{abs(hash(header)) % 10**12:012d}",
        "conversationStart": (ended - timedelta(minutes=5)).isoformat(),
        "conversationEnd": ended.isoformat(),
        "originatingDirection": "inbound",
        "participants": [
            {
                "purpose": "customer",
                "sessions": [{"mediaType": "email", "direction": "inbound", "addressFrom": header}],
            }
        ],
    }


def test_the_index_keeps_a_one_address_header_whole_as_its_stored_form():
    index = ContactIndex()
    index.add(_email('"Berg, Anna" <anna.berg@example.org>', datetime(2015, 1, 1, tzinfo=UTC)))

    [summary] = index.expired(datetime(2020, 1, 1, tzinfo=UTC))

    assert summary.raw_forms == ('"Berg, Anna" <anna.berg@example.org>',)


def _callback(typed: str, dialled: str, ended: datetime) -> dict:
    """A callback the customer asked for by typing `typed`; the agent's outbound leg dials `dialled`."""
    return {
        "conversationId": "00000000-0000-4000-8000-000000000003",
        "conversationStart": (ended - timedelta(minutes=5)).isoformat(),
        "conversationEnd": ended.isoformat(),
        "originatingDirection": "inbound",
        "participants": [
            {
                "purpose": "customer",
                "sessions": [{"mediaType": "callback", "direction": "inbound", "callbackNumbers": [typed]}],
            },
            {
                "purpose": "agent",
                "userId": "11111111-1111-4111-8111-111111111111",
                "sessions": [
                    {"mediaType": "callback", "direction": "inbound", "callbackNumbers": [typed]},
                    {
                        "mediaType": "voice",
                        "direction": "outbound",
                        "ani": "tel:+442071234567",
                        "dnis": dialled,
                    },
                ],
            },
        ],
    }


def test_the_index_keeps_the_form_an_agent_dialled_on_a_callback_as_a_form_of_the_customers_number():
    index = ContactIndex(default_region="GB")
    index.add(_callback("+44 20 7946 0958", "020 7946 0958", datetime(2015, 1, 1, tzinfo=UTC)))

    [summary] = index.expired(datetime(2020, 1, 1, tzinfo=UTC))

    assert summary.identifier == PHONE
    assert summary.raw_forms == ("+44 20 7946 0958", "020 7946 0958")


def test_a_number_only_the_org_side_of_a_conversation_holds_never_becomes_a_customer():
    index = ContactIndex(default_region="GB")
    # the agent dialled somebody else than the customer who asked for the callback (a transfer, a typo)
    index.add(_callback("+44 20 7946 0958", "020 7946 0111", datetime(2015, 1, 1, tzinfo=UTC)))

    [summary] = index.expired(datetime(2020, 1, 1, tzinfo=UTC))

    assert summary.identifier == PHONE and summary.raw_forms == ("+44 20 7946 0958",)
    assert index.customer_count() == 1


@pytest.mark.parametrize(
    "form",
    ["020 7946 0958", "sip:02079460958@trunk.example", "sip:+442079460958@edge.example;user=phone"],
)
def test_verification_fails_a_subject_whose_number_is_left_in_any_stored_form(form):
    conversation = _call(form, datetime(2015, 1, 1, tzinfo=UTC))

    result = verify_subject([PHONE], analytics_conversations=[conversation])

    assert result.status == "failed"


def test_verification_fails_a_subject_whose_address_is_left_in_a_header_with_a_display_name():
    conversation = {
        "conversationId": "00000000-0000-4000-8000-000000000001",
        "conversationEnd": "2015-01-01T00:00:00Z",
        "participants": [
            {
                "purpose": "customer",
                "sessions": [
                    {"mediaType": "email", "addressFrom": '"Berg, Anna" <Anna.Berg@Example.org>, x@y.org'}
                ],
            }
        ],
    }

    result = verify_subject([EMAIL], analytics_conversations=[conversation])

    assert result.status == "failed"


def _email_session_with(header: str) -> dict:
    return {
        "conversationId": "00000000-0000-4000-8000-000000000002",
        "conversationEnd": "2015-01-01T00:00:00Z",
        "participants": [
            {"purpose": "customer", "sessions": [{"mediaType": "email", "addressFrom": header}]}
        ],
    }


def test_verification_tells_a_header_left_for_somebody_not_erased_from_a_delete_that_failed():
    header = '"Berg, Anna" <anna.berg@example.org>, bob@example.org'
    conversation = _email_session_with(header)

    left = verify_subject(
        [EMAIL], analytics_conversations=[conversation], left_for_others=left_for_others({EMAIL.value}, ())
    )
    named = verify_subject(
        [EMAIL],
        analytics_conversations=[conversation],
        left_for_others=left_for_others({EMAIL.value}, {header.upper()}),
    )

    assert left.status == "shared_residue" and left.shared_findings and not left.conversation_findings
    assert named.status == "failed"


def test_verification_fails_a_subject_left_in_its_own_address_beside_a_shared_header():
    conversation = _email_session_with("anna.berg@example.org")
    conversation["participants"].append(
        {
            "purpose": "acd",
            "sessions": [{"mediaType": "email", "addressTo": "anna.berg@example.org, b@x.org"}],
        }
    )

    result = verify_subject(
        [EMAIL], analytics_conversations=[conversation], left_for_others=left_for_others({EMAIL.value}, ())
    )

    assert result.status == "failed"


def test_raw_forms_are_sealed_with_the_identifiers_and_opened_only_by_the_sealer(world):
    runtime = world.runtime
    plan = SubjectPlan.build(
        [PHONE],
        hasher=runtime.hasher,
        sealer=runtime.sealer,
        source=SubjectSource.RETENTION,
        raw_forms={PHONE: ("020 7946 0958",)},
    )

    assert "7946" not in plan.sealed_identifiers
    assert runtime.sealer.unseal(plan.sealed_identifiers) == [PHONE]
    assert unseal_raw_forms(runtime.sealer, plan.sealed_identifiers) == {PHONE: ("020 7946 0958",)}


def test_a_crash_after_posting_a_body_with_raw_forms_is_reconciled_to_that_request(world):
    runtime = world.runtime
    identifier, conversation_id = world.customer("crash@example.org", days_ago=3000)
    seed = Seed(
        identifier,
        conversation_ids=(conversation_id,),
        conversation_count=1,
        raw_forms=('"Crash, Test" <crash@example.org>',),
    )
    summary = plan_erasure(runtime, "crash-run", plan_request(seed), world.now)
    [subject_hash] = [h for batch in summary["batches"] for h in batch]
    # The run claims the subject, POSTs the body with its raw forms, and dies before recording it.
    runtime.ledger.mark_submitting(subject_hash, "crash-run")
    token = runtime.ledger.sealed_identifiers(subject_hash)
    body = gdpr_subject_body(runtime.sealer.unseal(token), unseal_raw_forms(runtime.sealer, token))
    assert len(body["emailAddresses"]) == 2
    posted = runtime.client.submit_gdpr_request("GDPR_DELETE", body, None)

    reconcile_stuck_submissions(runtime, runtime.ledger, stale_after=timedelta(0))

    row = runtime.ledger.get(subject_hash)
    assert (row.state, row.last_request_id) == (S.SUBMITTED, posted["id"])
    assert len(world.gdpr_requests()) == 1


def test_a_crash_after_posting_a_form_that_reads_as_another_address_is_reconciled_to_that_request(world):
    runtime = world.runtime
    identifier, conversation_id = world.customer("crash@example.org", days_ago=3000)
    # A stored form whose address is not the identifier itself (here a sub-address): the posted body's
    # hash set holds it too, so only a rebuild of that very body matches Genesys' copy.
    seed = Seed(
        identifier,
        conversation_ids=(conversation_id,),
        conversation_count=1,
        raw_forms=("Crash <crash+work@example.org>",),
    )
    summary = plan_erasure(runtime, "crash-run", plan_request(seed), world.now)
    [subject_hash] = [h for batch in summary["batches"] for h in batch]
    runtime.ledger.mark_submitting(subject_hash, "crash-run")
    token = runtime.ledger.sealed_identifiers(subject_hash)
    body = gdpr_subject_body(runtime.sealer.unseal(token), unseal_raw_forms(runtime.sealer, token))
    posted = runtime.client.submit_gdpr_request("GDPR_DELETE", body, None)

    reconcile_stuck_submissions(runtime, runtime.ledger, stale_after=timedelta(0))

    row = runtime.ledger.get(subject_hash)
    assert (row.state, row.last_request_id) == (S.SUBMITTED, posted["id"])


def _purge(world, run_id: str = "real-run") -> tuple[dict, dict, dict, list[str]]:
    """One retention purge through the steps: scan, plan, submit, wait, settle, verify."""
    runtime = world.runtime
    runtime.config = runtime.config.with_overrides({"default_phone_region": "GB", "backfill": True})
    counts = find_expired_customers(runtime, run_id, world.now)
    summary = plan_retention_purge(runtime, run_id, world.now, scan_counts=counts)
    batches = [h for batch in summary["batches"] for h in batch]
    stored = _stored_forms_of_planned(world, batches)
    submitted = submit_batch(runtime, run_id, batches)
    statuses = world.wait_until_done(request_ids_in_flight(runtime, run_id))
    settle_requests(runtime, run_id, statuses, world.now, allow_resubmit=True)
    summary["verification"] = verify_completed(runtime, run_id, world.now)
    return counts, summary, submitted, stored


def _stored_forms_of_planned(world, subject_hashes: list[str]) -> list[str]:
    """Every form of a planned identifier that any session of a planned customer's conversations stores
    (address fields, callback numbers; the org side's sessions too: a callback's outbound leg dials the
    number in its own form), read from the sandbox's model before the delete."""
    hasher = world.runtime.hasher
    planned = {
        h.identifier_hash for s in subject_hashes for h in world.runtime.ledger.get(s).identifier_hashes
    }
    org = world.sandbox.org
    values = []
    for customer in org.customers.values():
        mine = [Identifier(IdentifierKind.PHONE, p) for p in customer.phones]
        mine += [Identifier(IdentifierKind.EMAIL, e.lower()) for e in customer.emails]
        if not {hasher.hash_identifier(i) for i in mine} & planned:
            continue
        for conversation in org.conversations_of(customer):
            for session in (s for p in conversation.participants for s in p.sessions):
                values += [session.ani, session.dnis, session.address_from, session.address_to]
                values += session.callback_numbers
    return sorted({v for v in values if v and not is_withheld_caller(v) and _names(v, planned, hasher)})


def _names(value: str, planned: set[str], hasher) -> bool:
    """Whether a stored value is a form of a planned identifier (a national number read as GB)."""
    if "@" in value and not value.startswith("sip:"):
        found = [Identifier(IdentifierKind.EMAIL, a.lower()) for _, a in getaddresses([value]) if a]
    else:
        try:
            found = [Identifier(IdentifierKind.PHONE, normalise_phone(value, "GB"))]
        except InvalidIdentifier:
            return False
    return any(hasher.hash_identifier(i) in planned for i in found)


@pytest.mark.parametrize("sandbox_settings", [REAL_SHAPES], ids=["real_shapes"], indirect=True)
def test_a_retention_purge_on_real_shapes_names_every_stored_form_in_the_delete(world):
    counts, _, submitted, stored = _purge(world)

    named = {
        v
        for r in world.gdpr_requests()
        for k in ("phoneNumbers", "emailAddresses")
        for v in r["subject"].get(k, ())
    }
    assert counts["raw_forms_not_kept"] == 0 and submitted["submitted"] > 0
    assert stored and not [v for v in stored if v not in named]


@pytest.mark.parametrize("sandbox_settings", [REAL_SHAPES], ids=["real_shapes"], indirect=True)
def test_a_retention_purge_on_real_shapes_reports_no_stored_form(world, caplog):
    caplog.set_level(logging.DEBUG)
    counts, summary, submitted, stored = _purge(world)

    shown = caplog.text + json.dumps([counts, summary, submitted])
    assert counts["raw_forms_kept"] > 0
    # national forms and headers only: an E.164 form is the identifier, which is never logged either
    assert not [v for v in stored if not v.startswith("+") and v in shown]


@pytest.mark.parametrize("sandbox_settings", [REAL_SHAPES], ids=["real_shapes"], indirect=True)
def test_a_retention_purge_on_real_shapes_leaves_no_planned_subject_failed(world):
    _, summary, _, _ = _purge(world)

    rows = [world.runtime.ledger.get(h) for batch in summary["batches"] for h in batch]
    # A number a flow stored in participant data as typed (`0161 …`) is not named by the delete (an
    # attribute may name somebody else) and a whole-value delete leaves it: reported for review, never
    # verified. Every other stored form is named, so nothing else may be left.
    left_in_attributes = [r for r in rows if r.reason == "participant_attributes_retained"]
    assert all(r.state is S.NEEDS_REVIEW for r in left_in_attributes)
    states = {r.state for r in rows if r not in left_in_attributes}
    assert states and states <= {S.VERIFIED, S.ERASURE_PENDING}


def _plant_callback_dialled_nationally(world) -> str:
    """An old callback: the customer typed `+44 20 7946 0958`, the agent's outbound leg dialled
    `020 7946 0958` (how real trunks write a number of their own country); returns the conversation id."""
    org = world.sandbox.org
    anna = org.add_customer(phones=[PHONE.value], external_contact=False)
    conversation_id = org.add_conversation(anna, media="callback", start=world.now - timedelta(days=3000))
    conversation = org.conversations[conversation_id]
    with org.lock:
        old_keys = conversation_index_keys(conversation)
        for session in (s for p in conversation.participants for s in p.sessions):
            session.callback_numbers = ["+44 20 7946 0958"] if session.callback_numbers else []
            if session.media_type == "voice":
                session.ani, session.dnis = "tel:+442079460100", "020 7946 0958"
        org.reindex(conversation, old_keys)
    return conversation_id


def _phones_held(world, conversation_id: str) -> set[str]:
    sessions = [s for p in world.sandbox.org.conversations[conversation_id].participants for s in p.sessions]
    return {v for s in sessions for v in (s.ani, s.dnis, *s.callback_numbers) if v}


def test_a_retention_purge_erases_the_form_an_agent_dialled_on_a_callback(world):
    conversation_id = _plant_callback_dialled_nationally(world)

    _purge(world)

    [row] = world.runtime.ledger.lookup_identifier_hash(world.runtime.hasher.hash_identifier(PHONE))
    assert "020 7946 0958" not in _phones_held(world, conversation_id)
    assert row.state in (S.VERIFIED, S.ERASURE_PENDING)


SHARED = '"Berg, Anna" <anna.berg@example.org>, bob@example.org'


def _plant_shared_header(
    world, *, bob_days_ago: float, bob_active: bool = False, anna_contact: bool = True
) -> str:
    """Anna's old e-mail whose header also lists Bob (nothing else links the two), and Bob's own e-mail
    `bob_days_ago` (still going if `bob_active`); returns the shared conversation's id. Without
    `anna_contact` the shared e-mail shows no external contact id: only the header names Anna there."""
    org = world.sandbox.org
    anna = org.add_customer(emails=["anna.berg@example.org"], phones=[], external_contact=anna_contact)
    bob = org.add_customer(emails=["bob@example.org"], phones=[], external_contact=False)
    shared_id = org.add_conversation(
        anna, media="email", start=world.now - timedelta(days=3000), contact_value=SHARED
    )
    bob_start = world.now - timedelta(days=bob_days_ago)
    org.add_conversation(bob, media="email", start=bob_start, **({"end": None} if bob_active else {}))
    return shared_id


def _headers(world, conversation_id: str) -> set[str]:
    sessions = [s for p in world.sandbox.org.conversations[conversation_id].participants for s in p.sessions]
    return {s.address_from for s in sessions if s.address_from}


def _subject_of(world, email: str):
    [row] = world.runtime.ledger.lookup_identifier_hash(
        world.runtime.hasher.hash_identifier(Identifier(IdentifierKind.EMAIL, email))
    )
    return row


def _requests_naming(world, value: str) -> list[dict]:
    return [r for r in world.gdpr_requests() if value in r["subject"].get("emailAddresses", ())]


def test_a_retention_purge_erases_a_header_shared_only_by_subjects_it_erases(world):
    shared_id = _plant_shared_header(world, bob_days_ago=2500)

    _, summary, _, _ = _purge(world)

    assert SHARED not in _headers(world, shared_id)
    states = {_subject_of(world, e).state for e in ("anna.berg@example.org", "bob@example.org")}
    assert states <= {S.VERIFIED, S.ERASURE_PENDING}
    # each request names it, so each subject's verification expects it gone whichever lands first
    assert len(_requests_naming(world, SHARED)) == 2 and summary["shared_headers_named"] == 2


def test_a_retention_purge_leaves_a_header_shared_with_somebody_else_in_place(world):
    shared_id = _plant_shared_header(world, bob_days_ago=3)  # Bob is a customer still

    _, summary, _, _ = _purge(world)

    assert SHARED in _headers(world, shared_id) and not _requests_naming(world, SHARED)
    assert summary["shared_headers_withheld"] == 1


def test_a_subject_left_only_in_a_header_shared_with_a_retained_customer_awaits_review_not_failed(world):
    _plant_shared_header(world, bob_days_ago=3)

    _, summary, _, _ = _purge(world)

    anna = _subject_of(world, "anna.berg@example.org")
    assert (anna.state, anna.reason) == (S.NEEDS_REVIEW, "shared_with_person_not_erased")
    assert [f["fields"] for f in anna.verification["shared_findings"]]
    assert summary["verification"]["failed"] == 0
    assert summary["verification"]["shared_with_person_not_erased"] == 1


def test_a_recording_left_with_a_header_shared_with_a_retained_customer_awaits_review_not_failed(world):
    shared_id = _plant_shared_header(world, bob_days_ago=3, anna_contact=False)
    # years old: archived, and (like a fifth of the seeded recordings) without a retention delete date
    [recording] = world.sandbox.org.conversations[shared_id].recordings
    recording.file_state, recording.delete_date = "ARCHIVED", None

    _purge(world, "night-1")
    requests = len(world.gdpr_requests())
    _, _, submitted, _ = _purge(world, "night-2")

    anna = _subject_of(world, "anna.berg@example.org")
    assert (anna.state, anna.reason) == (S.NEEDS_REVIEW, "shared_with_person_not_erased")
    # the delete never found the conversation (its request could not name the header), so the recording
    # is still there; the evidence says which one, and nobody posts the same request again
    assert recording.file_state == "ARCHIVED"
    assert [f["recording_id"] for f in anna.verification["shared_recording_findings"]] == [recording.id]
    assert (submitted["submitted"], len(world.gdpr_requests())) == (0, requests)


def test_a_subject_left_in_a_shared_header_is_not_submitted_again_the_next_night(world):
    _plant_shared_header(world, bob_days_ago=3)
    _purge(world, "night-1")
    requests = len(world.gdpr_requests())

    # Anna's contact is gone now, so resolution finds her e-mail alone: a new subject hash, same person
    _, summary, submitted, _ = _purge(world, "night-2")

    assert (submitted["submitted"], len(world.gdpr_requests())) == (0, requests)
    assert summary["needs_review"] == 1


def test_a_header_shared_with_a_subject_deferred_for_an_active_conversation_is_not_named(world):
    shared_id = _plant_shared_header(world, bob_days_ago=2500, bob_active=True)

    _purge(world)

    assert SHARED in _headers(world, shared_id) and not _requests_naming(world, SHARED)
    assert _subject_of(world, "bob@example.org").state is S.DEFERRED
    assert _subject_of(world, "anna.berg@example.org").reason == "shared_with_person_not_erased"
