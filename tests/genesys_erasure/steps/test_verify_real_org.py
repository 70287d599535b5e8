"""Verification against what a real org's GDPR delete may leave: the sandbox's pessimistic delete knobs
(placeholders, kept participant contact ids, lagging contact and recording deletes), incomplete contact
searches, re-checks by later runs on an advanced sandbox clock, and the bound on erasure attempts."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
import requests

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectState
from genesys_erasure.steps.plan import Seed, plan_erasure
from genesys_erasure.steps.settle import settle_requests
from genesys_erasure.steps.submit import request_ids_in_flight, submit_batch
from genesys_erasure.steps.verify import verify_completed
from tests.genesys_erasure.steps.conftest import RETENTION_DAYS, TINY_ORG, plan_request

S = SubjectState
LAG_HOURS = 48


def _seed(world, email: str, *, external_contact: bool = True) -> Seed:
    """An expired customer with one recorded e-mail conversation (and, by default, an external contact)."""
    org = world.sandbox.org
    person = org.add_customer(emails=[email], phones=[], external_contact=external_contact)
    start = world.now - timedelta(days=RETENTION_DAYS + 100)
    conversation_id = org.add_conversation(person, media="email", direction="inbound", start=start)
    return Seed(
        Identifier(IdentifierKind.EMAIL, email), conversation_ids=(conversation_id,), conversation_count=1
    )


def _erase(world, run_id: str, seed: Seed) -> None:
    """Plan, submit, wait for Genesys and settle one run."""
    summary = plan_erasure(world.runtime, run_id, plan_request(seed), world.now)
    submit_batch(world.runtime, run_id, [h for batch in summary["batches"] for h in batch])
    statuses = world.wait_until_done(request_ids_in_flight(world.runtime, run_id))
    settle_requests(world.runtime, run_id, statuses, world.now, allow_resubmit=True)


def _advance_clock(world, hours: float) -> None:
    """Through the sandbox's admin API, as an operator (or a later night) would see time pass."""
    answer = requests.post(
        f"{world.sandbox.base_url}/sandbox/faults", json={"advance_clock_seconds": hours * 3600}, timeout=10
    )
    answer.raise_for_status()


def _state(world) -> SubjectState:
    [row] = world.runtime.ledger.rows_in_states(list(S))
    return row.state


PESSIMISTIC = {
    "placeholder": {"gdpr_delete_placeholder": "[redacted]"},
    "participant_keeps_contact_id": {"gdpr_delete_keeps_participant_contact_id": True},
    "contact_delete_lags": {"gdpr_contact_delete_lag_hours": LAG_HOURS},
    "recording_delete_lags": {"gdpr_recording_delete_lag_hours": LAG_HOURS},
}


@pytest.fixture
def sandbox_settings(request) -> object:
    return dataclasses.replace(TINY_ORG, **getattr(request, "param", {}))


@pytest.mark.parametrize("sandbox_settings", list(PESSIMISTIC.values()), ids=list(PESSIMISTIC), indirect=True)
def test_pessimistic_delete_ends_verified_or_pending_and_a_later_run_verifies_it(world):
    _erase(world, "run-1", _seed(world, "lagging@example.org"))

    first = verify_completed(world.runtime, "run-1", world.now)
    assert first["failed"] == first.get("needs_review", 0) == 0
    assert _state(world) in (S.VERIFIED, S.ERASURE_PENDING)

    _advance_clock(world, LAG_HOURS + 1)
    verify_completed(world.runtime, "run-2", world.now)

    assert _state(world) is S.VERIFIED


@pytest.mark.parametrize(
    "sandbox_settings", [PESSIMISTIC["recording_delete_lags"]], ids=["recording_delete_lags"], indirect=True
)
def test_recording_with_a_delete_date_not_yet_deleted_is_erasure_pending(world):
    _erase(world, "run-1", _seed(world, "scheduled@example.org", external_contact=False))

    counts = verify_completed(world.runtime, "run-1", world.now)

    assert (counts["erasure_pending"], _state(world)) == (1, S.ERASURE_PENDING)
    [row] = world.runtime.ledger.rows_in_states([S.ERASURE_PENDING])
    assert row.has_sealed_identifiers and row.reason == "recording_delete_scheduled"


@pytest.mark.parametrize(
    "sandbox_settings",
    [{"gdpr_contact_delete_lag_hours": None}],
    ids=["contact_never_deleted"],
    indirect=True,
)
def test_pending_subject_fails_once_the_pending_deadline_has_passed(world):
    _erase(world, "run-1", _seed(world, "never@example.org"))
    verify_completed(world.runtime, "run-1", world.now)
    assert _state(world) is S.ERASURE_PENDING

    _advance_clock(world, 24 * (world.runtime.config.verification_pending_days + 1))
    verify_completed(world.runtime, "run-2", world.now)

    [row] = world.runtime.ledger.rows_in_states([S.FAILED])
    # one POST of max_erasure_attempts so far: the identifiers stay sealed for the next nightly retry
    assert row.reason == "erasure_pending_deadline_passed" and row.has_sealed_identifiers


def _leak_back(world, seed: Seed, email: str) -> None:
    """Genesys left the value where it was: the conversation's customer session still shows it."""
    conversation = world.sandbox.org.conversations[seed.conversation_ids[0]]
    with world.sandbox.org.lock:
        customer = next(p for p in conversation.participants if p.purpose in ("customer", "external"))
        customer.sessions[0].address_from = email


def test_value_still_readable_where_it_was_fails(world):
    seed = _seed(world, "leaky@example.org", external_contact=False)
    _erase(world, "run-1", seed)
    _leak_back(world, seed, "leaky@example.org")

    counts = verify_completed(world.runtime, "run-1", world.now)

    assert (counts["failed"], _state(world)) == (1, S.FAILED)


def test_subject_failed_max_attempts_times_needs_review_and_is_not_submitted_again(world):
    email = "stubborn@example.org"
    seed = _seed(world, email, external_contact=False)
    attempts = world.runtime.config.max_erasure_attempts
    for night in range(1, attempts + 1):
        _erase(world, f"run-{night}", seed)
        _leak_back(world, seed, email)
        verify_completed(world.runtime, f"run-{night}", world.now)
    assert _state(world) is S.NEEDS_REVIEW

    summary = plan_erasure(world.runtime, "run-next", plan_request(seed), world.now)
    submit_batch(world.runtime, "run-next", [h for batch in summary["batches"] for h in batch])

    assert len(world.gdpr_requests()) == attempts
    assert _state(world) is S.NEEDS_REVIEW


def test_plan_summary_counts_the_subjects_left_for_review(world):
    email = "reviewed@example.org"
    seed = _seed(world, email, external_contact=False)
    for night in range(1, world.runtime.config.max_erasure_attempts + 1):
        _erase(world, f"run-{night}", seed)
        _leak_back(world, seed, email)
        verify_completed(world.runtime, f"run-{night}", world.now)

    summary = plan_erasure(world.runtime, "run-next", plan_request(seed), world.now)

    assert (summary["needs_review"], summary["to_submit"]) == (1, 0)


@pytest.mark.parametrize(
    "sandbox_settings", [PESSIMISTIC["recording_delete_lags"]], ids=["recording_delete_lags"], indirect=True
)
def test_a_dry_run_leaves_erasure_pending_subjects_to_the_next_real_run(world):
    _erase(world, "run-1", _seed(world, "patient@example.org", external_contact=False))
    verify_completed(world.runtime, "run-1", world.now)
    _advance_clock(world, LAG_HOURS + 1)
    world.runtime.config = world.runtime.config.with_overrides({"dry_run": True})

    verify_completed(world.runtime, "dry-run", world.now)

    [row] = world.runtime.ledger.rows_in_states([S.ERASURE_PENDING])
    assert row.run_id == "run-1"


@pytest.mark.parametrize(
    "sandbox_settings", [{"contact_search_partial_above": 1}], ids=["contact_search_partial"], indirect=True
)
def test_an_incomplete_contact_search_leaves_the_subject_erasure_pending_not_verified(world):
    email = "ann@example.org"
    _erase(world, "run-1", _seed(world, email))
    # Two other people whose addresses contain the subject's: the search for it now matches more than the
    # sandbox answers in full, so it says `partialResults` and lists only one of them.
    for other in ("joann@example.org", "marianne.ann@example.org"):
        world.sandbox.org.add_external_contact("Someone Else", [other], [])

    counts = verify_completed(world.runtime, "run-1", world.now)

    assert (counts["verified"], counts["erasure_pending"]) == (0, 1)
    [row] = world.runtime.ledger.rows_in_states([S.ERASURE_PENDING])
    assert row.reason == "external_contact_search_incomplete"
    [pending] = row.verification["pending"]
    assert pending["item_id"] == world.runtime.hasher.hash_identifier(Identifier(IdentifierKind.EMAIL, email))
