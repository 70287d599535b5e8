"""The nightly plan takes the subjects earlier runs left `failed` again (`steps.retry_failed`): the
incremental scan would never find them, so without this they would stay unerased until a backfill."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from genesys_erasure.guards import SubjectCapExceeded
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import SubjectPlan, SubjectSource, SubjectState
from genesys_erasure.ledger.last_contact import ContactEntry
from genesys_erasure.steps.last_contacts import RecentContacts
from genesys_erasure.steps.plan import PlanRequest, plan_erasure
from genesys_erasure.steps.submit import submit_batch
from tests.genesys_erasure.steps.conftest import plan_request

S = SubjectState


def _nightly(*seeds, recent=frozenset()) -> PlanRequest:
    return PlanRequest(
        seeds=seeds, source=SubjectSource.RETENTION, recent=recent, carry_over=True, retry_failed=True
    )


def _fail_by_genesys_error(world, request: PlanRequest, run_id: str = "night-1") -> str:
    """Plan `request` in `run_id`; its one subject is posted twice and Genesys answers ERROR both times
    (as the settle step records it): `failed` with two attempts used."""
    plan_erasure(world.runtime, run_id, request, world.now)
    ledger = world.runtime.ledger
    [row] = ledger.rows_for_run(run_id)
    for attempt in (1, 2):
        ledger.mark_submitting(row.subject_hash, run_id, now=world.now)
        ledger.record_submission(row.subject_hash, f"{run_id}-req-{attempt}", now=world.now)
        ledger.record_error(
            row.subject_hash,
            f"{run_id}-req-{attempt}",
            max_attempts=2,
            review_after_attempts=world.runtime.config.max_erasure_attempts,
            now=world.now,
        )
    assert ledger.get(row.subject_hash).state is S.FAILED
    return row.subject_hash


def test_the_next_nightly_plan_submits_a_subject_an_earlier_run_left_failed(world):
    failed = _fail_by_genesys_error(world, plan_request(world.expired_seed("unlucky@example.org")))

    summary = plan_erasure(world.runtime, "night-2", _nightly(), world.now + timedelta(days=1))

    row = world.runtime.ledger.get(failed)
    assert (row.state, row.run_id, row.attempts) == (S.PLANNED, "night-2", 2)
    assert (summary["retried_failed"], summary["to_submit"], summary["batches"]) == (1, 1, [[failed]])


def test_a_failed_ad_hoc_subject_is_retried_by_the_nightly_run_with_its_ticket_and_request_type(world):
    seed = world.expired_seed("asked.for.it@example.org")
    due = (world.now + timedelta(days=20)).date()
    dsr = PlanRequest(
        seeds=(seed,),
        source=SubjectSource.DSR,
        request_type="GDPR_UPDATE",
        replacement="ANONYMISED",
        ticket="DSR-42",
        received_on=world.now.date(),
        due_date=due,
        hold_staff=False,
    )
    failed = _fail_by_genesys_error(world, dsr, run_id="ad-hoc-1")

    plan_erasure(world.runtime, "night-2", _nightly(), world.now + timedelta(days=1))

    row = world.runtime.ledger.get(failed)
    assert (row.state, row.run_id) == (S.PLANNED, "night-2")
    assert (row.source, row.request_type, row.ticket, row.due_date) == (
        SubjectSource.DSR,
        "GDPR_UPDATE",
        "DSR-42",
        due,
    )


def test_a_failed_retention_subject_with_a_contact_since_the_cutoff_is_not_retried(world):
    seed = world.expired_seed("came.back@example.org")
    failed = _fail_by_genesys_error(world, plan_request(seed))
    runtime, later = world.runtime, world.now + timedelta(days=1)
    # the person called again yesterday: the last-contact index holds that day
    identifier_hash = runtime.hasher.hash_identifier(seed.identifier)
    runtime.last_contacts.fold([ContactEntry(identifier_hash, world.now.date())], watermark=later, now=later)
    cutoff = world.runtime.config.retention_cutoff(later)

    summary = plan_erasure(
        runtime,
        "night-2",
        _nightly(recent=RecentContacts(runtime.last_contacts, runtime.hasher, cutoff)),
        later,
    )

    row = runtime.ledger.get(failed)
    assert (row.state, row.has_sealed_identifiers) == (S.FAILED, False)
    assert (summary["retried_failed"], summary["to_submit"]) == (0, 0)
    assert summary["failed_not_retried"] == {"recent_contact": 1}


def test_a_failed_subject_with_an_identifier_excluded_since_goes_to_review_not_to_genesys(world):
    seed = world.expired_seed("now.excluded@example.org")
    failed = _fail_by_genesys_error(world, plan_request(seed))
    config = world.runtime.config
    world.runtime.config = replace(config, exclusions=(*config.exclusions, seed.identifier))

    summary = plan_erasure(world.runtime, "night-2", _nightly(), world.now + timedelta(days=1))

    row = world.runtime.ledger.get(failed)
    assert (row.state, row.has_sealed_identifiers) == (S.NEEDS_REVIEW, False)
    assert row.reason == "genesys_error;not_retried:excluded_identifier"
    assert (summary["to_submit"], summary["needs_review"]) == (0, 1)


def test_failed_subjects_without_room_under_the_subject_cap_wait_for_a_later_night(world):
    failed = _fail_by_genesys_error(world, plan_request(world.expired_seed("unlucky@example.org")))
    world.runtime.config = replace(world.runtime.config, max_subjects_per_run=1)
    fresh = world.expired_seed("fresh@example.org")

    summary = plan_erasure(world.runtime, "night-2", _nightly(fresh), world.now + timedelta(days=1))

    row = world.runtime.ledger.get(failed)
    assert (row.state, row.has_sealed_identifiers) == (S.FAILED, True)  # for a later night
    assert (summary["to_submit"], summary["retried_failed"]) == (1, 0)
    assert summary["failed_not_retried"] == {"subject_cap": 1}


def test_retried_failed_subjects_count_towards_the_subject_cap(world):
    _fail_by_genesys_error(world, plan_request(world.expired_seed("unlucky@example.org")))
    world.runtime.config = replace(world.runtime.config, max_subjects_per_run=1)
    fresh = [world.expired_seed(f"fresh.{n}@example.org") for n in range(2)]

    with pytest.raises(SubjectCapExceeded):
        plan_erasure(world.runtime, "night-2", _nightly(*fresh), world.now + timedelta(days=1))

    assert world.runtime.ledger.rows_for_run("night-2") == []  # refused before anything was written


def test_a_failed_subject_whose_attempts_are_used_up_goes_to_review(world):
    failed = _fail_by_genesys_error(world, plan_request(world.expired_seed("unlucky@example.org")))
    world.runtime.config = replace(world.runtime.config, max_erasure_attempts=2)  # lowered since

    summary = plan_erasure(world.runtime, "night-2", _nightly(), world.now + timedelta(days=1))

    row = world.runtime.ledger.get(failed)
    assert (row.state, row.reason, row.has_sealed_identifiers) == (S.NEEDS_REVIEW, "genesys_error", False)
    assert summary["to_submit"] == 0


def test_a_dry_run_leaves_a_failed_subject_for_the_next_real_run(world):
    failed = _fail_by_genesys_error(world, plan_request(world.expired_seed("unlucky@example.org")))
    world.runtime.config = replace(world.runtime.config, dry_run=True)

    summary = plan_erasure(world.runtime, "rehearsal", _nightly(), world.now + timedelta(days=1))

    row = world.runtime.ledger.get(failed)
    assert (row.state, row.run_id, row.has_sealed_identifiers) == (S.FAILED, "night-1", True)
    assert summary["retried_failed"] == 0


def _fail_subject_of(world, identifiers) -> str:
    runtime = world.runtime
    earlier = SubjectPlan.build(
        identifiers, hasher=runtime.hasher, sealer=runtime.sealer, source=SubjectSource.RETENTION
    )
    runtime.ledger.plan([earlier], "night-1", now=world.now)
    runtime.ledger.mark_submitting(earlier.subject_hash, "night-1", now=world.now)
    runtime.ledger.record_submission(earlier.subject_hash, "night-1-req-1", now=world.now)
    runtime.ledger.record_error(
        earlier.subject_hash, "night-1-req-1", max_attempts=1, review_after_attempts=3, now=world.now
    )
    return earlier.subject_hash


def test_a_failed_subject_all_of_whose_identifiers_tonight_plans_in_another_subject_is_left_to_it(world):
    one, other = world.expired_seed("regrouped@example.org"), world.expired_seed("regrouped.2@example.org")
    failed = _fail_subject_of(world, [one.identifier, other.identifier])

    summary = plan_erasure(world.runtime, "night-2", _nightly(one, other), world.now + timedelta(days=1))

    row = world.runtime.ledger.get(failed)
    assert (row.state, row.has_sealed_identifiers) == (S.FAILED, False)
    assert summary["failed_not_retried"] == {"planned_in_another_subject": 1}
    assert (summary["retried_failed"], summary["to_submit"]) == (0, 2)  # tonight's own subjects


def test_a_failed_subject_sharing_only_some_identifiers_with_tonights_plan_is_retried_whole(world):
    seed = world.expired_seed("regrouped@example.org")
    gone = Identifier(IdentifierKind.EMAIL, "deleted.contact.address@example.org")  # no longer linked
    failed = _fail_subject_of(world, [seed.identifier, gone])

    summary = plan_erasure(world.runtime, "night-2", _nightly(seed), world.now + timedelta(days=1))

    # left to tonight's subject, the address no scan links any more would never be erased
    row = world.runtime.ledger.get(failed)
    assert (row.state, row.run_id, row.has_sealed_identifiers) == (S.PLANNED, "night-2", True)
    assert (summary["retried_failed"], summary["to_submit"]) == (1, 2)


def test_a_subject_genesys_refuses_with_400_is_left_for_review_not_retried(world):
    summary = plan_erasure(
        world.runtime, "night-1", plan_request(world.expired_seed("odd@example.org")), world.now
    )
    world.sandbox.control.reject_next_gdpr_requests(1)

    counts = submit_batch(world.runtime, "night-1", summary["batches"][0])

    [row] = world.runtime.ledger.rows_for_run("night-1")
    assert counts["rejected"] == 1
    assert (row.state, row.reason, row.has_sealed_identifiers) == (
        S.NEEDS_REVIEW,
        "rejected_by_genesys:bad.request",
        False,
    )


def test_an_ad_hoc_plan_does_not_take_failed_subjects_of_other_runs(world):
    failed = _fail_by_genesys_error(world, plan_request(world.expired_seed("unlucky@example.org")))

    plan_erasure(world.runtime, "ad-hoc-2", plan_request(world.expired_seed("other@example.org")), world.now)

    assert world.runtime.ledger.get(failed).state is S.FAILED


def test_a_failed_subject_quarantined_tonight_is_quarantined_and_the_plan_finishes(world):
    seed = world.expired_seed("switchboard@example.org")
    failed = _fail_by_genesys_error(world, plan_request(seed))
    busy = replace(seed, conversation_count=world.runtime.config.quarantine_conversation_threshold + 1)

    summary = plan_erasure(world.runtime, "night-2", _nightly(busy), world.now + timedelta(days=1))

    row = world.runtime.ledger.get(failed)
    assert row.state is S.QUARANTINED
    assert (summary["retried_failed"], summary["to_submit"]) == (0, 0)
