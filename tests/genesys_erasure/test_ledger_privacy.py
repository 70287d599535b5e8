"""What the embedded ledger FILE holds: no raw identifier in any encoding, and no wiped token left behind."""

from __future__ import annotations

from datetime import timedelta

from genesys_erasure.ledger import Ledger
from tests.support.erasure import T0, drive_to_verified, needles, plan_for
from tests.support.privacy_scan import scan_paths


def _ledger_dir_after_a_run(tmp_path):
    """One verified subject, one still planned (its identifiers sealed), one deferred."""
    directory = tmp_path / "var"
    with Ledger.open(f"sqlite:///{directory / 'ledger.sqlite'}") as ledger:
        drive_to_verified(ledger, plan_for(0), "run-1", "req-0")
        ledger.plan([plan_for(1), plan_for(2)], "run-1", now=T0)
        ledger.mark_deferred(plan_for(2).subject_hash, now=T0 + timedelta(hours=1))
    return directory


def test_ledger_file_holds_no_raw_identifier(tmp_path):
    directory = _ledger_dir_after_a_run(tmp_path)
    planted = needles(0) + needles(1) + needles(2)
    control = tmp_path / "control.txt"
    control.write_text(f"leak: {needles(1)[0]}")
    assert scan_paths([control], planted), "the scanner must see a planted identifier in plain text"
    assert (directory / "ledger.sqlite").stat().st_size > 0
    assert scan_paths([directory], planted) == []


def test_wiped_tokens_are_not_left_in_the_sqlite_file(tmp_path):
    path = tmp_path / "ledger.sqlite"
    plans = [plan_for(n) for n in range(1, 40)]
    with Ledger.open(f"sqlite:///{path}") as ledger:
        ledger.plan(plans, "run-1", now=T0)
        tokens = [ledger.sealed_identifiers(plan.subject_hash) for plan in plans[::2]]
        assert len({hit.needle_index for hit in scan_paths([path], tokens)}) == len(tokens)
        for plan in plans[::2]:
            ledger.mark_quarantined(plan.subject_hash, "ambiguous_subject")
    assert scan_paths([path], tokens) == []


def test_a_failed_subject_keeps_its_token_until_review_and_then_none_is_left_in_the_file(tmp_path):
    path = tmp_path / "ledger.sqlite"
    plans = [plan_for(n) for n in range(1, 20)]
    with Ledger.open(f"sqlite:///{path}") as ledger:
        ledger.plan(plans, "run-1", now=T0)
        for n, plan in enumerate(plans):
            ledger.mark_submitting(plan.subject_hash, "run-1", now=T0)
            ledger.record_submission(plan.subject_hash, f"req-{n}", now=T0)
            ledger.record_error(
                plan.subject_hash, f"req-{n}", max_attempts=1, review_after_attempts=3, now=T0
            )
        tokens = [ledger.sealed_identifiers(plan.subject_hash) for plan in plans]
        # kept for the next nightly run's retry (attempts are left)...
        assert len({hit.needle_index for hit in scan_paths([path], tokens)}) == len(tokens)
        for plan in plans:
            ledger.give_up_failed(plan.subject_hash, "genesys_error;not_retried:excluded_identifier")
    # ...and gone from the file once the subject is final for good
    assert scan_paths([path], tokens) == []
