"""The crash between the GDPR POST and the ledger write: reconciled from Genesys' own request list."""

from __future__ import annotations

from datetime import timedelta

from genesys_erasure.ledger import KnownRequest, SubjectState
from tests.support.erasure import (
    T0,
    drive_to_verified,
    identifier_hash_set,
    plan_for,
)

S = SubjectState


INTENT_AT = T0 + timedelta(minutes=1)
LATER = T0 + timedelta(hours=1)


def _stuck(ledger, n: int = 0):
    """A subject whose run wrote the intent, posted, and died before recording the answer."""
    plan = plan_for(n)
    ledger.plan([plan], "run-1", now=T0)
    ledger.mark_submitting(plan.subject_hash, "run-1", now=INTENT_AT)
    return plan


def test_crash_between_post_and_ledger_write_is_reconciled_from_genesys(ledger):
    plan = _stuck(ledger)
    genesys = [("req-other", identifier_hash_set(5)), ("req-lost", identifier_hash_set(0))]
    outcome = ledger.reconcile_unknown_submissions(genesys, now=LATER)
    row = ledger.get(plan.subject_hash)
    assert outcome.recorded == ((plan.subject_hash, "req-lost"),)
    assert outcome.released == ()
    assert (row.state, row.last_request_id, row.request_ids, row.attempts) == (
        S.SUBMITTED,
        "req-lost",
        ("req-lost",),
        1,
    )


def test_stuck_submission_without_genesys_request_is_released_for_submission(ledger):
    plan = _stuck(ledger)
    outcome = ledger.reconcile_unknown_submissions([("req-other", identifier_hash_set(5))], now=LATER)
    assert outcome.released == (plan.subject_hash,)
    assert ledger.get(plan.subject_hash).state == S.PLANNED
    ledger.plan([plan_for(0)], "run-2", now=LATER)  # the next run of the same DAG takes it over
    ledger.mark_submitting(plan.subject_hash, "run-2", now=LATER)  # safe to post again


def test_recent_intent_is_left_alone_because_its_run_may_still_be_posting(ledger):
    plan = _stuck(ledger)
    outcome = ledger.reconcile_unknown_submissions([], now=INTENT_AT + timedelta(minutes=2))
    assert outcome.left_pending == (plan.subject_hash,)
    assert ledger.get(plan.subject_hash).state == S.SUBMITTING


def test_request_for_only_part_of_the_identifiers_is_not_adopted(ledger):
    plan = _stuck(ledger)
    partial = frozenset(sorted(identifier_hash_set(0))[:1])
    outcome = ledger.reconcile_unknown_submissions([("req-partial", partial)], now=LATER)
    assert outcome.released == (plan.subject_hash,)


def test_request_already_recorded_in_the_ledger_is_not_adopted_again(ledger):
    plan = plan_for(0)
    ledger.plan([plan], "run-1", now=T0)
    ledger.mark_submitting(plan.subject_hash, "run-1", now=T0)
    ledger.record_submission(plan.subject_hash, "req-1", now=T0)
    ledger.record_status(plan.subject_hash, "req-1", "ERROR", now=T0)
    ledger.plan([plan_for(0)], "run-2", now=T0)
    ledger.mark_submitting(plan.subject_hash, "run-2", now=INTENT_AT)
    outcome = ledger.reconcile_unknown_submissions([("req-1", identifier_hash_set(0))], now=LATER)
    assert outcome.released == (plan.subject_hash,)


def test_request_created_well_before_the_intent_is_not_adopted(ledger):
    plan = _stuck(ledger)
    old = KnownRequest("req-old", identifier_hash_set(0), created_at=INTENT_AT - timedelta(days=2))
    new = KnownRequest("req-new", identifier_hash_set(0), created_at=INTENT_AT + timedelta(seconds=3))
    outcome = ledger.reconcile_unknown_submissions([old, new], now=LATER)
    assert outcome.recorded == ((plan.subject_hash, "req-new"),)


def test_reconciliation_ignores_subjects_that_are_not_stuck(ledger):
    done = plan_for(1)
    drive_to_verified(ledger, done, "run-1", "req-done")
    outcome = ledger.reconcile_unknown_submissions([("req-x", identifier_hash_set(1))], now=LATER)
    assert (outcome.recorded, outcome.released) == ((), ())
    assert ledger.get(done.subject_hash).request_ids == ("req-done",)


def test_reconciliation_limited_to_given_subjects_leaves_others_stuck(ledger):
    mine, theirs = _stuck(ledger, 0), _stuck(ledger, 1)
    outcome = ledger.reconcile_unknown_submissions([], only=[mine.subject_hash], now=LATER)
    assert outcome.released == (mine.subject_hash,)
    assert ledger.get(theirs.subject_hash).state is S.SUBMITTING


def test_genesys_error_on_first_attempt_returns_subject_to_planned_with_identifiers(ledger):
    plan = plan_for(0)
    ledger.plan([plan], "run-1", now=T0)
    ledger.mark_submitting(plan.subject_hash, "run-1", now=T0)
    ledger.record_submission(plan.subject_hash, "req-1", now=T0)
    row = ledger.record_error(plan.subject_hash, "req-1", now=LATER)
    assert row.state is S.PLANNED and row.has_sealed_identifiers


def test_genesys_error_on_second_attempt_fails_the_subject(ledger):
    plan = plan_for(0)
    ledger.plan([plan], "run-1", now=T0)
    for request_id in ("req-1", "req-2"):
        ledger.mark_submitting(plan.subject_hash, "run-1", now=T0)
        ledger.record_submission(plan.subject_hash, request_id, now=T0)
        row = ledger.record_error(plan.subject_hash, request_id, now=LATER)
    assert row.state is S.FAILED and row.reason == "genesys_error"
    assert not row.has_sealed_identifiers


def test_request_left_in_flight_by_a_dead_run_is_adopted_by_the_next_run_of_its_source(ledger):
    plan = plan_for(0)
    ledger.plan([plan], "dead-run", now=T0)
    ledger.mark_submitting(plan.subject_hash, "dead-run", now=T0)
    ledger.record_submission(plan.subject_hash, "req-1", now=T0)
    assert ledger.adopt_in_flight("next-run", source="dsr", now=LATER) == ()
    assert ledger.adopt_in_flight("next-run", source=plan.source, now=LATER) == (plan.subject_hash,)
    row = ledger.get(plan.subject_hash)
    assert row.run_id == "next-run" and row.state is S.SUBMITTED and row.request_ids == ("req-1",)
