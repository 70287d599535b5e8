"""Erasures made outside the pipeline (the request listener) and the warehouse step's view of the ledger."""

from __future__ import annotations

import pytest

from genesys_erasure.ledger import SubjectSource, SubjectState
from tests.support.erasure import (
    SEALER,
    T0,
    clean_result,
    drive_to_verified,
    identifiers,
    plan_for,
)

S = SubjectState


def external_plan(n: int = 0):
    return plan_for(n, source=SubjectSource.EXTERNAL, warehouse_pending=True)


def test_external_erasure_is_recorded_completed_with_its_request_id_and_identifiers(ledger):
    plan = external_plan()
    assert ledger.record_external_erasure(plan, "ext-req-1", "listener-1", now=T0)
    row = ledger.get(plan.subject_hash)
    assert (row.state, row.source, row.last_genesys_status) == (
        S.COMPLETED,
        SubjectSource.EXTERNAL,
        "COMPLETED",
    )
    assert row.request_ids == ("ext-req-1",) and row.warehouse_pending
    assert sorted(SEALER.unseal(ledger.sealed_identifiers(plan.subject_hash))) == sorted(identifiers())
    assert ledger.known_request_ids(["ext-req-1", "other"]) == {"ext-req-1"}


def test_external_erasure_can_be_verified_like_our_own(ledger):
    plan = external_plan()
    ledger.record_external_erasure(plan, "ext-req-1", "listener-1", now=T0)
    ledger.mark_verified(plan.subject_hash, clean_result(), now=T0)
    assert ledger.get(plan.subject_hash).state == S.VERIFIED
    assert ledger.sealed_identifiers(plan.subject_hash) is not None  # kept for the warehouse step


def test_subject_already_in_the_ledger_is_left_to_its_own_run(ledger):
    ours = plan_for()
    ledger.plan([ours], "nightly-1", now=T0)
    assert not ledger.record_external_erasure(external_plan(), "ext-req-1", "listener-1", now=T0)
    row = ledger.get(ours.subject_hash)
    assert (row.state, row.run_id, row.request_ids) == (S.PLANNED, "nightly-1", ())
    assert ledger.known_request_ids(["ext-req-1"]) == frozenset()


def test_external_erasure_needs_the_external_source(ledger):
    with pytest.raises(ValueError, match="source"):
        ledger.record_external_erasure(plan_for(), "ext-req-1", "listener-1", now=T0)


def test_warehouse_step_sees_verified_pending_subjects_of_every_run_only(ledger):
    pending, done, unverified = (plan_for(n, warehouse_pending=True) for n in (1, 2, 3))
    drive_to_verified(ledger, pending, "run-1", "req-1")
    drive_to_verified(ledger, done, "run-2", "req-2")
    ledger.record_warehouse_result(done.subject_hash, {"tables": []})
    ledger.plan([unverified], "run-3", now=T0)
    assert [r.subject_hash for r in ledger.warehouse_pending_verified()] == [pending.subject_hash]


def test_a_listener_run_takes_over_the_unverified_external_erasures_of_a_dead_listener_run(ledger):
    left, verified = external_plan(1), external_plan(2)
    ledger.record_external_erasure(left, "ext-req-1", "listener-1", now=T0)
    ledger.record_external_erasure(verified, "ext-req-2", "listener-1", now=T0)
    ledger.mark_verified(verified.subject_hash, clean_result(), now=T0)

    assert ledger.adopt_recorded_external("listener-2", now=T0) == (left.subject_hash,)
    assert ledger.get(left.subject_hash).run_id == "listener-2"
    assert ledger.get(verified.subject_hash).run_id == "listener-1"


def test_a_listener_run_leaves_a_carried_external_subject_resubmitted_by_a_live_nightly_run(ledger):
    plan = external_plan()
    ledger.record_external_erasure(plan, "ext-req-1", "listener-1", now=T0)
    ledger.mark_deferred(plan.subject_hash, "active_conversation_not_erased", now=T0)
    ledger.carry_over_into("nightly-1", now=T0)  # the row keeps its source: external
    ledger.mark_submitting(plan.subject_hash, "nightly-1", now=T0)
    ledger.record_submission(plan.subject_hash, "req-2", status="INITIATED", now=T0)
    ledger.record_status(plan.subject_hash, "req-2", "COMPLETED", now=T0)
    assert ledger.get(plan.subject_hash).state is S.COMPLETED

    assert ledger.adopt_recorded_external("listener-2", now=T0) == ()
    assert ledger.get(plan.subject_hash).run_id == "nightly-1"
