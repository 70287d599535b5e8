from __future__ import annotations

import pytest

from genesys_erasure.guards import (
    ApprovalReason,
    PurgeFractionExceeded,
    QuarantineReason,
    RetentionTooShort,
    SubjectCapExceeded,
    approval_reason,
    check_purge_fraction,
    check_retention,
    check_subject_cap,
    needs_approval,
    quarantine,
)
from genesys_erasure.identifiers import Identifier, IdentifierKind

SWITCHBOARD = Identifier(IdentifierKind.PHONE, "+442079460000")
CUSTOMER = Identifier(IdentifierKind.PHONE, "+447700900123")
FAMILY_MAIL = Identifier(IdentifierKind.EMAIL, "the.smiths@example.com")


def test_retention_at_or_above_floor_is_accepted():
    assert check_retention(365, minimum_days=365) == 365
    assert check_retention(1826) == 1826


def test_retention_below_floor_is_refused():
    with pytest.raises(RetentionTooShort) as caught:
        check_retention(30, minimum_days=365)
    assert (caught.value.days, caught.value.minimum_days) == (30, 365)
    assert "30" in str(caught.value) and "365" in str(caught.value)


def test_retention_below_floor_passes_with_explicit_override():
    assert check_retention(30, minimum_days=365, allow_below_minimum=True) == 30


def test_zero_retention_is_refused_even_with_override():
    with pytest.raises(RetentionTooShort):
        check_retention(0, minimum_days=365, allow_below_minimum=True)


def test_subject_cap_fails_with_numbers():
    with pytest.raises(SubjectCapExceeded) as caught:
        check_subject_cap(1200, cap=1000)
    assert (caught.value.planned, caught.value.cap) == (1200, 1000)
    assert str(caught.value) == "1200 subjects planned for erasure, more than the cap of 1000 per run"


def test_subject_count_equal_to_cap_is_allowed():
    check_subject_cap(1000, cap=1000)


def test_purge_of_most_customers_is_refused():
    with pytest.raises(PurgeFractionExceeded) as caught:
        check_purge_fraction(n_expired=700, n_known_customers=1000, max_fraction=0.5)
    assert "700 of 1000" in str(caught.value)


def test_purge_fraction_within_limit_returns_the_share():
    assert check_purge_fraction(n_expired=250, n_known_customers=1000, max_fraction=0.5) == 0.25


def test_expired_customers_with_no_known_customers_is_refused():
    with pytest.raises(PurgeFractionExceeded):
        check_purge_fraction(n_expired=3, n_known_customers=0, max_fraction=0.5)


def test_empty_run_passes_the_fraction_guard():
    assert check_purge_fraction(n_expired=0, n_known_customers=0, max_fraction=0.5) == 0.0


def test_implausibly_shared_number_is_quarantined():
    result = quarantine([SWITCHBOARD, CUSTOMER], conversation_counts={SWITCHBOARD: 5400, CUSTOMER: 12})
    assert result.kept == (CUSTOMER,)
    (held,) = result.quarantined
    assert (held.identifier, held.reason, held.observed, held.threshold) == (
        SWITCHBOARD,
        QuarantineReason.TOO_MANY_CONVERSATIONS,
        5400,
        200,
    )


def test_identifier_linked_into_many_subjects_is_quarantined():
    result = quarantine(
        [FAMILY_MAIL, CUSTOMER], link_counts={FAMILY_MAIL: 6, CUSTOMER: 1}, subject_threshold=5
    )
    assert result.kept == (CUSTOMER,)
    assert result.quarantined[0].reason is QuarantineReason.TOO_MANY_LINKED_SUBJECTS


def test_count_at_the_threshold_is_not_quarantined():
    result = quarantine([CUSTOMER], conversation_counts={CUSTOMER: 200}, link_counts={CUSTOMER: 5})
    assert result.kept == (CUSTOMER,)


def test_quarantine_report_does_not_show_the_identifier():
    result = quarantine([SWITCHBOARD], conversation_counts={SWITCHBOARD: 999})
    assert "7946" not in repr(result)


def test_approval_is_needed_only_above_the_threshold():
    assert needs_approval(51, threshold=50)
    assert not needs_approval(50, threshold=50)


def test_no_approval_threshold_means_no_approval():
    assert not needs_approval(10_000, threshold=None)


def test_first_run_that_submits_waits_for_a_person_whatever_its_size_and_threshold():
    assert approval_reason(1, threshold=None, approved_before=False) is ApprovalReason.FIRST_CONTACT
    assert approval_reason(1, threshold=500, approved_before=False) is ApprovalReason.FIRST_CONTACT


def test_after_a_first_approval_only_plans_over_the_threshold_wait():
    assert approval_reason(500, threshold=500, approved_before=True) is None
    assert approval_reason(501, threshold=500, approved_before=True) is ApprovalReason.OVER_THRESHOLD
    assert approval_reason(10_000, threshold=None, approved_before=True) is None


def test_a_plan_that_submits_nobody_never_waits():
    assert approval_reason(0, threshold=0, approved_before=False) is None
