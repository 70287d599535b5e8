"""The erasure ledger's rules, on SQLite and (when available) PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import (
    IllegalTransition,
    Ledger,
    LedgerError,
    SubjectPlan,
    SubjectState,
    SubmissionRefused,
)
from genesys_erasure.ledger.states import ALLOWED_TRANSITIONS, check_transition
from genesys_erasure.verification import (
    ConversationFinding,
    Exemption,
    PendingFinding,
    VerificationResult,
)
from tests.support.erasure import (
    DUE,
    HASHER,
    SEALER,
    T0,
    clean_result,
    drive_to_completed,
    drive_to_verified,
    identifiers,
    plan_for,
)

S = SubjectState


def test_open_is_idempotent_and_keeps_rows(ledger_target):
    with Ledger.open(ledger_target) as first:
        first.plan([plan_for()], "run-1", now=T0)
    with Ledger.open(ledger_target) as second:
        row = second.get(plan_for().subject_hash)
    assert row is not None and row.state == S.PLANNED


def test_planned_subject_records_run_ids_and_identifier_kinds(ledger):
    plan = plan_for()
    outcome = ledger.plan([plan], "run-1", now=T0)
    row = ledger.get(plan.subject_hash)
    assert outcome.planned == (plan.subject_hash,)
    assert (row.state, row.run_id, row.first_seen_run_id, row.attempts) == (S.PLANNED, "run-1", "run-1", 0)
    assert sorted(h.kind.value for h in row.identifier_hashes) == ["email", "phone"]
    assert row.has_sealed_identifiers


def test_ledger_refuses_to_plan_already_verified_subject(ledger):
    plan = plan_for()
    drive_to_verified(ledger, plan, "run-1", "req-1")
    outcome = ledger.plan([plan_for()], "run-2", now=T0 + timedelta(days=1))
    row = ledger.get(plan.subject_hash)
    assert outcome.planned == ()
    [skipped] = outcome.skipped_verified
    assert (skipped.subject_hash, skipped.erased_by_run_id) == (plan.subject_hash, "run-1")
    assert skipped.completed_at == T0 + timedelta(hours=3)
    assert (row.state, row.run_id, row.request_ids) == (S.VERIFIED, "run-1", ("req-1",))


def test_customer_who_returned_after_the_erasure_is_planned_again_with_fresh_attempts(ledger):
    # erased at T0+3h (Genesys COMPLETED); the scan has since seen a contact after that: new data to erase
    plan = plan_for()
    drive_to_verified(ledger, plan, "run-1", "req-1")
    returned = plan_for(last_contact=T0 + timedelta(days=30))
    outcome = ledger.plan([returned], "run-2", now=T0 + timedelta(days=400))
    row = ledger.get(plan.subject_hash)
    assert outcome.planned == (plan.subject_hash,) and outcome.skipped_verified == ()
    assert (row.state, row.run_id, row.attempts, row.has_sealed_identifiers) == (S.PLANNED, "run-2", 0, True)
    assert row.request_ids == ("req-1",)  # the first erasure stays on record


def test_verified_subject_whose_last_contact_predates_the_erasure_stays_verified(ledger):
    # a stale analytics lake still shows the old contacts: not a reason to erase again
    plan = plan_for()
    drive_to_verified(ledger, plan, "run-1", "req-1")
    stale = plan_for(last_contact=T0 - timedelta(days=1))
    outcome = ledger.plan([stale], "run-2", now=T0 + timedelta(days=1))
    assert outcome.planned == () and len(outcome.skipped_verified) == 1
    assert ledger.get(plan.subject_hash).state == S.VERIFIED


def test_delete_is_planned_for_a_subject_only_pseudonymised_before_but_not_the_reverse(ledger):
    pseudonymised, deleted = plan_for(0, request_type="GDPR_UPDATE"), plan_for(1)
    drive_to_verified(ledger, pseudonymised, "run-1", "req-1")
    drive_to_verified(ledger, deleted, "run-1", "req-2")
    outcome = ledger.plan([plan_for(0), plan_for(1, request_type="GDPR_UPDATE")], "run-2", now=T0)
    assert outcome.planned == (pseudonymised.subject_hash,)
    assert [s.subject_hash for s in outcome.skipped_verified] == [deleted.subject_hash]


def test_second_mark_submitting_for_same_subject_is_refused(ledger):
    plan = plan_for()
    ledger.plan([plan], "run-1", now=T0)
    ledger.mark_submitting(plan.subject_hash, "run-1")
    with pytest.raises(SubmissionRefused):
        ledger.mark_submitting(plan.subject_hash, "run-2")
    assert ledger.get(plan.subject_hash).attempts == 1


def test_racing_runs_claim_a_subject_exactly_once(ledger_target):
    plan = plan_for()
    ledgers = [Ledger.open(ledger_target) for _ in range(6)]
    ledgers[0].plan([plan], "run-0", now=T0)
    start = threading.Barrier(len(ledgers))
    claimed, refused = [], []

    def race(index: int, own: Ledger) -> None:
        start.wait()
        try:
            own.mark_submitting(plan.subject_hash, f"run-{index}")
            claimed.append(index)
        except SubmissionRefused:
            refused.append(index)

    threads = [threading.Thread(target=race, args=(i, lg)) for i, lg in enumerate(ledgers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row = ledgers[0].get(plan.subject_hash)
    for own in ledgers:
        own.close()
    assert (len(claimed), len(refused)) == (1, 5)
    assert (row.state, row.attempts, row.run_id) == (S.SUBMITTING, 1, f"run-{claimed[0]}")


def test_illegal_transition_raises(ledger):
    plan = plan_for()
    ledger.plan([plan], "run-1", now=T0)
    with pytest.raises(IllegalTransition):
        ledger.mark_verified(plan.subject_hash, clean_result())
    assert ledger.get(plan.subject_hash).state == S.PLANNED


def test_verified_subject_cannot_be_failed_afterwards(ledger):
    plan = plan_for()
    drive_to_verified(ledger, plan, "run-1", "req-1")
    with pytest.raises(IllegalTransition):
        ledger.mark_failed(plan.subject_hash, "late_error")


def test_verification_needs_genesys_completed(ledger):
    plan = plan_for()
    ledger.plan([plan], "run-1", now=T0)
    ledger.mark_submitting(plan.subject_hash, "run-1")
    ledger.record_submission(plan.subject_hash, "req-1")
    ledger.mark_overdue(plan.subject_hash)
    with pytest.raises(LedgerError, match="COMPLETED"):
        ledger.mark_verified(plan.subject_hash, clean_result())


def test_failed_verification_result_cannot_mark_verified(ledger):
    plan = plan_for()
    drive_to_completed(ledger, plan, "run-1", "req-1")
    with pytest.raises(ValueError, match="did not pass"):
        ledger.mark_verified(plan.subject_hash, VerificationResult(ok=False))


def test_final_state_wipes_sealed_identifiers(ledger):
    verified, failed = plan_for(0), plan_for(1)
    drive_to_verified(ledger, verified, "run-1", "req-1")
    ledger.plan([failed], "run-1", now=T0)
    ledger.mark_failed(failed.subject_hash, "rejected_by_genesys")
    for plan in (verified, failed):
        assert ledger.sealed_identifiers(plan.subject_hash) is None
        assert not ledger.get(plan.subject_hash).has_sealed_identifiers


def test_sealed_identifiers_survive_while_warehouse_pending(ledger):
    plan = plan_for(warehouse_pending=True)
    drive_to_verified(ledger, plan, "run-1", "req-1")
    token = ledger.sealed_identifiers(plan.subject_hash)
    assert sorted(SEALER.unseal(token)) == sorted(identifiers())
    ledger.record_warehouse_result(plan.subject_hash, {"snowflake.CRM.CALLS": 3})
    row = ledger.get(plan.subject_hash)
    assert ledger.sealed_identifiers(plan.subject_hash) is None
    assert (row.warehouse_pending, row.warehouse_rows) == (False, {"snowflake.CRM.CALLS": 3})


def test_a_subject_that_needs_review_keeps_no_sealed_identifiers_while_warehouse_pending(ledger):
    # the warehouse step cleans verified subjects only: the token would be kept for nothing, for good
    plan = plan_for(warehouse_pending=True)
    drive_to_completed(ledger, plan, "run-1", "req-1")
    left = VerificationResult(ok=True, shared_findings=(ConversationFinding("c-1", ("analytics.x",)),))

    ledger.mark_needs_review(plan.subject_hash, left, "shared_with_person_not_erased")

    assert ledger.sealed_identifiers(plan.subject_hash) is None


def test_warehouse_result_before_final_state_keeps_identifiers_for_genesys(ledger):
    plan = plan_for(warehouse_pending=True)
    ledger.plan([plan], "run-1", now=T0)
    ledger.record_warehouse_result(plan.subject_hash, {"bigquery.crm.calls": 0})
    assert ledger.sealed_identifiers(plan.subject_hash) is not None


def test_deferred_subject_is_carried_over(ledger):
    plan = plan_for()
    drive_to_completed(ledger, plan, "run-1", "req-1")
    ledger.mark_deferred(plan.subject_hash, conversation_ids=["conv-active"])
    assert [r.subject_hash for r in ledger.carried_over()] == [plan.subject_hash]
    outcome = ledger.carry_over_into("run-2")
    row = ledger.get(plan.subject_hash)
    assert outcome.planned == (plan.subject_hash,)
    assert (row.state, row.run_id, row.first_seen_run_id) == (S.PLANNED, "run-2", "run-1")
    assert row.has_sealed_identifiers and "conv-active" in row.conversation_ids
    assert ledger.carried_over() == []


def test_overdue_subject_with_running_request_is_resumed_not_resubmitted(ledger):
    plan = plan_for(due_date=DUE)
    ledger.plan([plan], "run-1", now=T0)
    ledger.mark_submitting(plan.subject_hash, "run-1")
    ledger.record_submission(plan.subject_hash, "req-1", status="SEARCHING")
    ledger.mark_overdue(plan.subject_hash)
    outcome = ledger.carry_over_into("run-2")
    row = ledger.get(plan.subject_hash)
    assert outcome.resumed == (plan.subject_hash,)
    assert (row.state, row.run_id, row.last_request_id) == (S.SUBMITTED, "run-2", "req-1")
    with pytest.raises(SubmissionRefused):
        ledger.mark_submitting(plan.subject_hash, "run-2")


def test_subject_with_request_in_flight_is_not_replanned(ledger):
    plan = plan_for()
    ledger.plan([plan], "run-1", now=T0)
    ledger.mark_submitting(plan.subject_hash, "run-1")
    outcome = ledger.plan([plan_for()], "run-2")
    assert outcome.in_progress == (plan.subject_hash,)
    assert ledger.get(plan.subject_hash).run_id == "run-1"


def test_request_history_keeps_every_attempt(ledger):
    plan = plan_for()
    ledger.plan([plan], "run-1", now=T0)
    ledger.mark_submitting(plan.subject_hash, "run-1")
    ledger.record_submission(plan.subject_hash, "req-1")
    ledger.record_status(plan.subject_hash, "req-1", "ERROR")
    drive_to_verified(ledger, plan_for(), "run-2", "req-2")
    row = ledger.get(plan.subject_hash)
    assert (row.request_ids, row.attempts, row.state) == (("req-1", "req-2"), 2, S.VERIFIED)


def test_genesys_error_fails_the_subject_with_reason(ledger):
    plan = plan_for()
    ledger.plan([plan], "run-1", now=T0)
    ledger.mark_submitting(plan.subject_hash, "run-1")
    ledger.record_submission(plan.subject_hash, "req-1")
    row = ledger.record_status(plan.subject_hash, "req-1", "ERROR")
    assert (row.state, row.reason, row.last_genesys_status) == (S.FAILED, "genesys_error", "ERROR")


def test_status_of_a_request_that_is_not_the_latest_is_refused(ledger):
    plan = plan_for()
    drive_to_completed(ledger, plan, "run-1", "req-1")
    with pytest.raises(LedgerError, match="not its latest"):
        ledger.record_status(plan.subject_hash, "req-0", "ERROR")


def test_in_progress_status_keeps_subject_submitted(ledger):
    plan = plan_for()
    ledger.plan([plan], "run-1", now=T0)
    ledger.mark_submitting(plan.subject_hash, "run-1")
    ledger.record_submission(plan.subject_hash, "req-1", status="INITIATED")
    row = ledger.record_status(plan.subject_hash, "req-1", "deleting")
    assert (row.state, row.last_genesys_status) == (S.SUBMITTED, "DELETING")


def test_lookup_by_identifier_hash_finds_every_subject_with_that_phone(ledger):
    plan = plan_for()
    drive_to_verified(ledger, plan, "run-1", "req-1")
    phone = next(i for i in identifiers() if i.kind.value == "phone")
    rows = ledger.lookup_identifier_hash(HASHER.hash_identifier(phone))
    assert [(r.subject_hash, r.state) for r in rows] == [(plan.subject_hash, S.VERIFIED)]
    assert ledger.lookup_identifier_hash("0" * 64) == []


def test_due_soon_lists_unfinished_requests_by_deadline(ledger):
    soon, later, done = plan_for(1, due_date=DUE), plan_for(2, due_date=DUE + timedelta(days=30)), plan_for(3)
    ledger.plan([soon, later], "run-1", now=T0)
    drive_to_verified(ledger, plan_for(4, due_date=DUE), "run-1", "req-4")
    ledger.plan([done], "run-1", now=T0)
    rows = ledger.due_soon(T0 + timedelta(days=10), days=10)
    assert [r.subject_hash for r in rows] == [soon.subject_hash]


def test_reason_that_looks_like_personal_data_is_refused(ledger):
    plan = plan_for()
    ledger.plan([plan], "run-1", now=T0)
    with pytest.raises(ValueError, match="reason"):
        ledger.mark_failed(plan.subject_hash, "bounced for someone@example.org")
    with pytest.raises(ValueError, match="reason"):
        ledger.mark_quarantined(plan.subject_hash, "number +44 7700 900123 looks odd")


def test_dry_run_stores_no_sealed_identifiers_and_leaves_real_rows_alone(ledger):
    real, fresh = plan_for(1), plan_for(2)
    ledger.plan([real], "run-1", now=T0)
    outcome = ledger.plan([plan_for(1), fresh], "dry-1", dry_run=True)
    assert (outcome.untouched, outcome.planned) == ((real.subject_hash,), (fresh.subject_hash,))
    dry = ledger.get(fresh.subject_hash)
    assert (dry.state, dry.has_sealed_identifiers) == (S.DRY_RUN, False)
    assert ledger.get(real.subject_hash).run_id == "run-1"
    with pytest.raises(IllegalTransition):
        ledger.mark_submitting(fresh.subject_hash, "dry-1")


def test_rows_for_run_lists_subjects_whose_latest_run_it_is(ledger):
    first, second = plan_for(1), plan_for(2)
    ledger.plan([first, second], "run-1", now=T0)
    ledger.plan([plan_for(2)], "run-2", now=T0)
    assert [r.subject_hash for r in ledger.rows_for_run("run-1")] == [first.subject_hash]
    assert [r.subject_hash for r in ledger.rows_for_run("run-2")] == [second.subject_hash]


def test_subject_listed_twice_in_one_plan_is_refused_naming_the_position(ledger):
    with pytest.raises(ValueError, match=r"subjects\[1\]"):
        ledger.plan([plan_for(), plan_for()], "run-1")
    assert ledger.get(plan_for().subject_hash) is None


def test_skipped_verified_subject_gains_no_new_identifier_hashes(ledger):
    drive_to_verified(ledger, plan_for(0), "run-1", "req-1")
    newcomer = Identifier(IdentifierKind.EMAIL, "another-address@planted-example.org")
    later = SubjectPlan.build(
        [*identifiers(0), newcomer],
        hasher=HASHER,
        sealer=SEALER,
        source="dsr",
        subject_hash=plan_for(0).subject_hash,
    )
    ledger.plan([later], "run-2")
    assert ledger.lookup_identifier_hash(HASHER.hash_identifier(newcomer)) == []


def test_repeated_poll_of_a_status_already_acted_on_is_harmless(ledger):
    plan = plan_for()
    drive_to_verified(ledger, plan, "run-1", "req-1")
    row = ledger.record_status(plan.subject_hash, "req-1", "COMPLETED")
    assert row.state == S.VERIFIED


def test_explicit_empty_exemptions_override_the_results_legal_holds(ledger):
    plan = plan_for()
    drive_to_completed(ledger, plan, "run-1", "req-1")
    held = VerificationResult(ok=True, exemptions=(Exemption("conv-1", "rec-1"),))
    assert ledger.mark_verified(plan.subject_hash, held, exemptions=[]).exemptions == ()


def test_planned_but_unsubmitted_subjects_lose_their_sealed_identifiers_at_the_end_of_the_run(ledger):
    kept, submitted = plan_for(0), plan_for(1)
    ledger.plan([kept, submitted], "run-1", now=T0)
    ledger.mark_submitting(submitted.subject_hash, "run-1", now=T0)
    assert ledger.release_unsubmitted("run-1", now=T0) == (kept.subject_hash,)
    row = ledger.get(kept.subject_hash)
    assert row.state is S.PLANNED and not row.has_sealed_identifiers and row.reason == "not_submitted"
    assert ledger.get(submitted.subject_hash).has_sealed_identifiers
    ledger.plan([kept], "run-2", now=T0)
    assert ledger.get(kept.subject_hash).has_sealed_identifiers


def _pending_result() -> VerificationResult:
    return VerificationResult(
        ok=True, pending=(PendingFinding("recording", "rec-1", "recording_delete_scheduled"),)
    )


def test_erasure_pending_subject_keeps_its_identifiers_and_is_not_replanned(ledger):
    plan = plan_for()
    drive_to_completed(ledger, plan, "run-1", "req-1")
    ledger.mark_erasure_pending(plan.subject_hash, _pending_result(), "recording_delete_scheduled")
    outcome = ledger.plan([plan_for()], "run-2", now=T0)
    row = ledger.get(plan.subject_hash)
    assert (row.state, row.has_sealed_identifiers) == (S.ERASURE_PENDING, True)
    assert outcome.in_progress == (plan.subject_hash,) and outcome.planned == ()


def test_erasure_pending_subject_is_adopted_by_a_later_run_and_can_be_verified(ledger):
    plan = plan_for()
    drive_to_completed(ledger, plan, "run-1", "req-1")
    ledger.mark_erasure_pending(plan.subject_hash, _pending_result(), "recording_delete_scheduled")
    assert ledger.adopt_pending("run-2") == (plan.subject_hash,)
    ledger.mark_verified(plan.subject_hash, clean_result())
    row = ledger.get(plan.subject_hash)
    assert (row.state, row.run_id, row.has_sealed_identifiers) == (S.VERIFIED, "run-2", False)


def test_pending_result_cannot_mark_verified(ledger):
    plan = plan_for()
    drive_to_completed(ledger, plan, "run-1", "req-1")
    with pytest.raises(ValueError, match="did not pass"):
        ledger.mark_verified(plan.subject_hash, _pending_result())


def test_failure_after_the_attempt_bound_is_needs_review_and_wipes_identifiers(ledger):
    plan = plan_for()
    drive_to_completed(ledger, plan, "run-1", "req-1")
    row = ledger.mark_failed(plan.subject_hash, "verification_failed", review_after_attempts=1)
    assert (row.state, row.has_sealed_identifiers) == (S.NEEDS_REVIEW, False)


def test_failure_below_the_attempt_bound_is_failed(ledger):
    plan = plan_for()
    drive_to_completed(ledger, plan, "run-1", "req-1")
    row = ledger.mark_failed(plan.subject_hash, "verification_failed", review_after_attempts=2)
    assert row.state == S.FAILED


def test_needs_review_subject_is_never_planned_or_claimed_again(ledger):
    plan = plan_for()
    drive_to_completed(ledger, plan, "run-1", "req-1")
    ledger.mark_failed(plan.subject_hash, "verification_failed", review_after_attempts=1)
    outcome = ledger.plan([plan_for()], "run-2", now=T0)
    assert (outcome.planned, outcome.needs_review) == ((), (plan.subject_hash,))
    with pytest.raises(SubmissionRefused):
        ledger.mark_submitting(plan.subject_hash, "run-2")


def test_a_subject_left_in_a_shared_header_needs_review_and_its_identifiers_stay_held(ledger):
    plan = plan_for()
    drive_to_completed(ledger, plan, "run-1", "req-1")
    left = VerificationResult(ok=True, shared_findings=(ConversationFinding("c-1", ("analytics.x",)),))

    row = ledger.mark_needs_review(plan.subject_hash, left, "shared_with_person_not_erased")

    assert (row.state, row.reason, row.has_sealed_identifiers) == (
        S.NEEDS_REVIEW,
        "shared_with_person_not_erased",
        False,
    )
    mine = {h.identifier_hash for h in plan.identifier_hashes}
    assert ledger.identifier_hashes_awaiting_review([*mine, "0" * 64]) == mine


def test_a_sealed_token_is_replaced_only_before_the_subject_is_claimed_for_submission(ledger):
    plan = plan_for()
    ledger.plan([plan], "run-1", now=T0)
    token = SEALER.seal(identifiers())
    ledger.reseal(plan.subject_hash, token, owner="run-1")
    assert ledger.sealed_identifiers(plan.subject_hash) == token

    ledger.mark_submitting(plan.subject_hash, "run-1")

    # reconciliation rebuilds the posted body from the token: it must stay the one the POST was built from
    with pytest.raises(IllegalTransition):
        ledger.reseal(plan.subject_hash, SEALER.seal(identifiers()), owner="run-1")


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        (S.COMPLETED, S.ERASURE_PENDING, True),
        (S.COMPLETED, S.NEEDS_REVIEW, True),
        (S.SUBMITTED, S.NEEDS_REVIEW, True),
        (S.ERASURE_PENDING, S.ERASURE_PENDING, True),
        (S.ERASURE_PENDING, S.VERIFIED, True),
        (S.ERASURE_PENDING, S.FAILED, True),
        (S.ERASURE_PENDING, S.NEEDS_REVIEW, True),
        (S.ERASURE_PENDING, S.PLANNED, False),
        (S.ERASURE_PENDING, S.SUBMITTING, False),
        (S.PLANNED, S.ERASURE_PENDING, False),
        (S.NEEDS_REVIEW, S.PLANNED, False),
        (S.NEEDS_REVIEW, S.SUBMITTING, False),
        (S.NEEDS_REVIEW, S.DRY_RUN, False),
    ],
)
def test_transition_table_for_pending_and_review_states(source, target, allowed):
    if allowed:
        check_transition("0" * 64, source, target)
    else:
        with pytest.raises(IllegalTransition):
            check_transition("0" * 64, source, target)


def test_every_state_has_a_transition_entry():
    assert set(ALLOWED_TRANSITIONS) == set(S)


def test_genesys_error_after_the_attempt_bound_is_needs_review(ledger):
    plan = plan_for()
    ledger.plan([plan], "run-1", now=T0)
    ledger.mark_submitting(plan.subject_hash, "run-1")
    ledger.record_submission(plan.subject_hash, "req-1")
    row = ledger.record_error(plan.subject_hash, "req-1", max_attempts=1, review_after_attempts=1)
    assert (row.state, row.reason) == (S.NEEDS_REVIEW, "genesys_error")


V1_STATES = ("planned", "submitting", "submitted", "completed", "verified", "failed", "deferred", "overdue")
V1_STATES += ("quarantined", "dry_run")


def _make_version_1(path) -> None:
    """Rewrite a fresh ledger file into what version 1 created: the state CHECK without the new states."""
    import re
    import sqlite3

    connection = sqlite3.connect(path, isolation_level=None)
    sql = connection.execute("SELECT sql FROM sqlite_master WHERE name = 'erasure_subjects'").fetchone()[0]
    old = "CHECK (state IN (" + ", ".join(repr(s) for s in V1_STATES) + "))"
    sql = re.sub(r"CHECK \(state IN \([^)]*\)\)", lambda _: old, sql)
    version = connection.execute("PRAGMA schema_version").fetchone()[0]
    connection.execute("BEGIN")
    connection.execute("PRAGMA writable_schema=ON")
    connection.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'erasure_subjects'", (sql,))
    connection.execute(f"PRAGMA schema_version={version + 1}")
    connection.execute("PRAGMA writable_schema=OFF")
    connection.execute("UPDATE erasure_ledger_meta SET value = '1' WHERE key = 'schema_version'")
    connection.execute("COMMIT")
    connection.close()


def test_ledger_created_by_version_1_accepts_the_new_states_after_open(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Ledger.open(f"sqlite:///{path}").close()
    _make_version_1(path)

    with Ledger.open(f"sqlite:///{path}") as ledger:
        plan = plan_for()
        drive_to_completed(ledger, plan, "run-1", "req-1")
        ledger.mark_erasure_pending(plan.subject_hash, _pending_result(), "recording_delete_scheduled")
        ledger.mark_failed(plan.subject_hash, "verification_failed", review_after_attempts=1)

        assert ledger.get(plan.subject_hash).state == S.NEEDS_REVIEW
