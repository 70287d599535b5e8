"""Which run owns a ledger row: a planned subject another DAG's run may still submit is left to it, and
only the owning run may claim it (SQLite and, when available, PostgreSQL)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select, text

from genesys_erasure.ledger import Ledger, SubjectSource, SubjectState, SubmissionRefused
from genesys_erasure.ledger.schema import subjects
from genesys_erasure.ledger.store import NotOwned
from genesys_erasure.verification import PendingFinding, VerificationResult
from tests.support.erasure import T0, clean_result, drive_to_completed, plan_for

S = SubjectState
HOLD = timedelta(days=7)


def test_subject_planned_by_another_dags_recent_run_is_left_to_it(ledger):
    update = plan_for(0, source=SubjectSource.DSR, request_type="GDPR_UPDATE")
    ledger.plan([update], "adhoc-run", now=T0)
    outcome = ledger.plan([plan_for(0)], "nightly-run", other_run_hold=HOLD, now=T0 + timedelta(hours=1))
    row = ledger.get(update.subject_hash)
    assert (outcome.planned, outcome.planned_by_another_run) == ((), (update.subject_hash,))
    assert (row.run_id, row.request_type, row.source) == ("adhoc-run", "GDPR_UPDATE", SubjectSource.DSR)


def test_subject_planned_by_another_dags_run_longer_ago_than_the_hold_is_replanned(ledger):
    update = plan_for(0, source=SubjectSource.DSR, request_type="GDPR_UPDATE")
    ledger.plan([update], "adhoc-run", now=T0)
    outcome = ledger.plan(
        [plan_for(0)], "nightly-run", other_run_hold=HOLD, now=T0 + HOLD + timedelta(hours=1)
    )
    assert (outcome.planned, outcome.planned_by_another_run) == ((update.subject_hash,), ())
    assert ledger.get(update.subject_hash).run_id == "nightly-run"


def test_subject_left_planned_by_an_earlier_run_of_the_same_dag_is_replanned(ledger):
    ledger.plan([plan_for(0)], "nightly-dead-run", now=T0)
    outcome = ledger.plan([plan_for(0)], "nightly-run", other_run_hold=HOLD, now=T0 + timedelta(hours=1))
    assert outcome.planned == (plan_for(0).subject_hash,)


def test_run_cannot_claim_a_subject_another_run_planned(ledger):
    plan = plan_for(0)
    ledger.plan([plan], "nightly-run", now=T0)
    with pytest.raises(SubmissionRefused):
        ledger.mark_submitting(plan.subject_hash, "adhoc-run", now=T0)
    row = ledger.get(plan.subject_hash)
    assert (row.state, row.run_id, row.attempts) == (S.PLANNED, "nightly-run", 0)


def _pending(ledger, plan, run_id: str) -> None:
    drive_to_completed(ledger, plan, run_id, "req-1")
    result = VerificationResult(
        ok=True, pending=(PendingFinding("recording", "rec-1", "recording_delete_scheduled"),)
    )
    ledger.mark_erasure_pending(plan.subject_hash, result, "recording_delete_scheduled", now=T0)


def test_pending_subject_adopted_by_a_later_run_belongs_to_that_run(ledger):
    plan = plan_for(0)
    _pending(ledger, plan, "run-1")
    assert ledger.adopt_pending("nightly-run", now=T0) == (plan.subject_hash,)
    assert ledger.adopt_pending("hourly-run", now=T0) == (plan.subject_hash,)
    assert ledger.get(plan.subject_hash).run_id == "hourly-run"


def test_verification_result_of_a_run_that_lost_the_subject_is_not_written(ledger):
    plan = plan_for(0)
    _pending(ledger, plan, "run-1")
    ledger.adopt_pending("nightly-run", now=T0)
    ledger.adopt_pending("hourly-run", now=T0)
    with pytest.raises(NotOwned):
        ledger.mark_verified(plan.subject_hash, clean_result(), owner="nightly-run", now=T0)
    ledger.mark_verified(plan.subject_hash, clean_result(), owner="hourly-run", now=T0)
    row = ledger.get(plan.subject_hash)
    assert (row.state, row.run_id) == (S.VERIFIED, "hourly-run")


def test_two_runs_adopting_the_same_pending_row_at_once_only_one_takes_it(ledger, ledger_target):
    if not isinstance(ledger_target, Engine):
        pytest.skip("SQLite serialises whole transactions: two adoptions cannot interleave there")
    plan = plan_for(0)
    _pending(ledger, plan, "run-1")
    adopted: dict[str, tuple[str, ...]] = {}

    def adopt(run_id: str) -> None:
        adopted[run_id] = Ledger(ledger_target).adopt_pending(run_id, now=T0)

    threads = [threading.Thread(target=adopt, args=(r,)) for r in ("nightly-run", "hourly-run")]
    with ledger_target.connect() as blocker:
        # hold the row's lock so both runs read it unlocked first, then queue for the lock
        blocker.execute(
            select(subjects).where(subjects.c.subject_hash == plan.subject_hash).with_for_update()
        )
        for thread in threads:
            thread.start()
        # the first waiter queues behind this connection, the second behind the first
        waiting = text(
            "WITH first AS (SELECT pid FROM pg_stat_activity"
            " WHERE pg_backend_pid() = ANY(pg_blocking_pids(pid)))"
            " SELECT (SELECT count(*) FROM first) + (SELECT count(*) FROM pg_stat_activity a"
            " WHERE EXISTS (SELECT 1 FROM first f WHERE f.pid = ANY(pg_blocking_pids(a.pid))))"
        )
        deadline = time.monotonic() + 20
        # pg_stat_activity is a snapshot per transaction: clear it before each look
        while blocker.execute(text("SELECT pg_stat_clear_snapshot()")) and blocker.scalar(waiting) < 2:
            assert time.monotonic() < deadline, "the two adoptions never queued for the row lock"
            time.sleep(0.05)
        blocker.rollback()
    for thread in threads:
        thread.join()
    assert sorted(len(hashes) for hashes in adopted.values()) == [0, 1]
    winner = next(run_id for run_id, hashes in adopted.items() if hashes)
    assert ledger.get(plan.subject_hash).run_id == winner


def test_subject_another_dags_run_released_unsubmitted_is_replanned(ledger):
    update = plan_for(0, source=SubjectSource.DSR, request_type="GDPR_UPDATE")
    ledger.plan([update], "adhoc-run", now=T0)
    ledger.release_unsubmitted("adhoc-run", reason="approval_rejected", now=T0)
    outcome = ledger.plan([plan_for(0)], "nightly-run", other_run_hold=HOLD, now=T0 + timedelta(hours=1))
    row = ledger.get(update.subject_hash)
    assert outcome.planned == (update.subject_hash,)
    assert (row.run_id, row.request_type) == ("nightly-run", "GDPR_DELETE")
