"""`Ledger.erased_identifier_hashes`: which identifier hashes a GDPR request already carried, and when."""

from __future__ import annotations

from datetime import timedelta

from genesys_erasure.ledger import SubjectPlan, SubjectSource
from tests.support.erasure import (
    HASHER,
    SEALER,
    T0,
    drive_to_completed,
    drive_to_verified,
    identifier_hash_set,
    identifiers,
    plan_for,
)

POSTED = T0 + timedelta(minutes=2)  # when drive_to_completed records the submission


def test_identifiers_of_a_verified_subject_are_erased_as_of_their_submission(ledger):
    drive_to_verified(ledger, plan_for(), "run-1", "req-1")

    erased = ledger.erased_identifier_hashes(identifier_hash_set() | identifier_hash_set(1))

    assert erased == dict.fromkeys(identifier_hash_set(), POSTED)


def test_identifiers_of_a_completed_subject_awaiting_verification_are_erased(ledger):
    drive_to_completed(ledger, plan_for(), "run-1", "req-1")

    assert set(ledger.erased_identifier_hashes(identifier_hash_set())) == identifier_hash_set()


def test_identifiers_of_a_subject_only_planned_are_not_erased(ledger):
    ledger.plan([plan_for()], "run-1", now=T0)

    assert ledger.erased_identifier_hashes(identifier_hash_set()) == {}


def test_identifiers_of_a_failed_subject_are_not_erased(ledger):
    drive_to_completed(ledger, plan_for(), "run-1", "req-1")
    ledger.mark_failed(plan_for().subject_hash, "verification_failed", now=T0 + timedelta(hours=1))

    assert ledger.erased_identifier_hashes(identifier_hash_set()) == {}


def test_an_identifier_planned_earlier_but_not_in_the_last_request_is_not_erased(ledger):
    subject_hash = "ab" * 32  # a stable subject key of the caller's own, as a DSR ticket has
    first, *rest = identifiers()

    def plan(ids):
        return SubjectPlan.build(
            ids, hasher=HASHER, sealer=SEALER, source=SubjectSource.DSR, subject_hash=subject_hash
        )

    ledger.plan([plan(identifiers())], "run-1", now=T0)
    drive_to_completed(ledger, plan(rest), "run-2", "req-1")

    erased = ledger.erased_identifier_hashes(identifier_hash_set())

    assert HASHER.hash_identifier(first) not in erased and erased
