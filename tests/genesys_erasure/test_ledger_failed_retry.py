"""A `failed` subject keeps its sealed identifiers while it may still be retried, and loses them when it
reaches `needs_review` (the ledger half of the nightly retry of failed subjects, `steps.retry_failed`)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from genesys_erasure.ledger import IllegalTransition, SubjectState
from tests.support.erasure import (
    DUE,
    SEALER,
    T0,
    drive_to_completed,
    drive_to_verified,
    identifiers,
    plan_for,
)

S = SubjectState
BOUND = 3  # max_erasure_attempts


def _post(ledger, plan, run_id: str, request_id: str, at):
    ledger.mark_submitting(plan.subject_hash, run_id, now=at)
    ledger.record_submission(plan.subject_hash, request_id, now=at)


def _failed_by_genesys_error(ledger, plan, run_id="run-1"):
    """Planned, posted once, Genesys said ERROR, and this run does not resubmit: `failed`."""
    ledger.plan([plan], run_id, now=T0)
    _post(ledger, plan, run_id, f"{run_id}-req-1", T0)
    return ledger.record_error(
        plan.subject_hash, f"{run_id}-req-1", max_attempts=1, review_after_attempts=BOUND, now=T0
    )


def test_a_genesys_error_with_attempts_left_keeps_the_sealed_identifiers(ledger):
    plan = plan_for()

    row = _failed_by_genesys_error(ledger, plan)

    assert (row.state, row.attempts, row.has_sealed_identifiers) == (S.FAILED, 1, True)
    assert sorted(SEALER.unseal(ledger.sealed_identifiers(plan.subject_hash))) == sorted(identifiers())


def test_a_verification_failure_with_attempts_left_keeps_the_sealed_identifiers(ledger):
    plan = plan_for()
    drive_to_completed(ledger, plan, "run-1", "req-1")

    row = ledger.mark_failed(plan.subject_hash, "verification_failed", review_after_attempts=BOUND)

    assert (row.state, row.has_sealed_identifiers) == (S.FAILED, True)
    assert [r.subject_hash for r in ledger.failed_awaiting_retry()] == [plan.subject_hash]


def test_a_failed_subject_retried_into_a_later_run_keeps_its_token_ticket_and_attempts(ledger):
    plan = plan_for(ticket="DSR-7", due_date=DUE, source="dsr", request_type="GDPR_UPDATE")
    _failed_by_genesys_error(ledger, plan)
    token = ledger.sealed_identifiers(plan.subject_hash)

    assert ledger.retry_failed_into("run-2", [plan.subject_hash], now=T0 + timedelta(days=1)) == (
        plan.subject_hash,
    )

    row = ledger.get(plan.subject_hash)
    assert (row.state, row.run_id, row.attempts, row.final_at) == (S.PLANNED, "run-2", 1, None)
    assert (row.source.value, row.ticket, row.due_date, row.request_type) == (
        "dsr",
        "DSR-7",
        DUE,
        "GDPR_UPDATE",
    )
    assert ledger.sealed_identifiers(plan.subject_hash) == token


def test_a_retried_subject_failing_at_the_attempt_bound_is_needs_review_with_identifiers_wiped(ledger):
    plan = plan_for()
    _failed_by_genesys_error(ledger, plan)
    later = T0 + timedelta(days=1)
    ledger.retry_failed_into("run-2", [plan.subject_hash], now=later)
    _post(ledger, plan, "run-2", "run-2-req-1", later)
    resubmit = ledger.record_error(
        plan.subject_hash, "run-2-req-1", max_attempts=BOUND, review_after_attempts=BOUND, now=later
    )
    assert resubmit.state is S.PLANNED  # the run's own resubmission: the third and last POST
    _post(ledger, plan, "run-2", "run-2-req-2", later)

    row = ledger.record_error(
        plan.subject_hash, "run-2-req-2", max_attempts=BOUND, review_after_attempts=BOUND, now=later
    )

    assert (row.state, row.attempts, row.has_sealed_identifiers) == (S.NEEDS_REVIEW, BOUND, False)
    assert ledger.sealed_identifiers(plan.subject_hash) is None
    assert ledger.failed_awaiting_retry() == []


def test_giving_up_a_failed_subject_sends_it_to_review_and_wipes_its_identifiers(ledger):
    plan = plan_for()
    _failed_by_genesys_error(ledger, plan)

    row = ledger.give_up_failed(plan.subject_hash, "genesys_error;not_retried:excluded_identifier")

    assert (row.state, row.has_sealed_identifiers) == (S.NEEDS_REVIEW, False)
    assert ledger.retry_failed_into("run-2", [plan.subject_hash]) == ()


def test_releasing_a_failed_subject_wipes_its_identifiers_and_leaves_it_failed(ledger):
    plan = plan_for()
    _failed_by_genesys_error(ledger, plan)

    row = ledger.release_failed(plan.subject_hash, "genesys_error;not_retried:recent_contact")

    assert (row.state, row.has_sealed_identifiers, row.reason) == (
        S.FAILED,
        False,
        "genesys_error;not_retried:recent_contact",
    )
    assert ledger.failed_awaiting_retry() == []


def test_only_a_failed_subject_can_be_released(ledger):
    plan = plan_for()
    drive_to_verified(ledger, plan, "run-1", "req-1")

    with pytest.raises(IllegalTransition):
        ledger.release_failed(plan.subject_hash, "not_retried:recent_contact")


def test_a_failure_without_an_attempt_bound_is_not_retried_and_wipes_the_identifiers(ledger):
    plan = plan_for()
    ledger.plan([plan], "run-1", now=T0)

    row = ledger.mark_failed(plan.subject_hash, "rejected_by_genesys")

    assert (row.state, row.has_sealed_identifiers) == (S.FAILED, False)
    assert ledger.failed_awaiting_retry() == []
