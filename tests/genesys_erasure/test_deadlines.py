"""Which requests the daily deadline check flags."""

from __future__ import annotations

from datetime import UTC, date, datetime

from genesys_erasure.deadlines import notification_text, requests_near_deadline
from genesys_erasure.dsr import add_one_month
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.ledger import Ledger, SubjectPlan, SubjectSource
from genesys_erasure.sealing import IdentifierSealer

TODAY = date(2026, 11, 26)
HASHER = KeyedHasher(b"k" * 32)
SEALER = IdentifierSealer(b"s" * 32)


def _rows(*received: date):
    ledger = Ledger.open("sqlite://")
    plans = [
        SubjectPlan.build(
            [Identifier(IdentifierKind.EMAIL, f"p{n}@example.org")],
            hasher=HASHER,
            sealer=SEALER,
            source=SubjectSource.DSR,
            ticket=f"DSR-{n}",
            received_on=day,
            due_date=add_one_month(day),
        )
        for n, day in enumerate(received)
    ]
    ledger.plan(plans, "run-1", now=datetime(2026, 11, 26, tzinfo=UTC))
    return ledger.rows_in_states(["planned"])


def test_request_received_26_days_ago_is_flagged():
    entries = requests_near_deadline(_rows(date(2026, 10, 31)), TODAY, 5)
    assert [(e.ticket, e.days_left) for e in entries] == [("DSR-0", 4)]


def test_request_received_a_week_ago_is_not_flagged():
    assert requests_near_deadline(_rows(date(2026, 11, 19)), TODAY, 5) == []


def test_past_due_request_is_flagged_as_overdue():
    (entry,) = requests_near_deadline(_rows(date(2026, 9, 1)), TODAY, 5)
    assert entry.overdue and "OVERDUE" in notification_text([entry])


def test_needs_review_subject_without_a_due_date_is_listed():
    ledger = Ledger.open("sqlite://")
    plan = SubjectPlan.build(
        [Identifier(IdentifierKind.EMAIL, "stuck@example.org")],
        hasher=HASHER,
        sealer=SEALER,
        source=SubjectSource.RETENTION,
    )
    now = datetime(2026, 11, 26, tzinfo=UTC)
    ledger.plan([plan], "run-1", now=now)
    ledger.mark_submitting(plan.subject_hash, "run-1", now=now)
    ledger.record_submission(plan.subject_hash, "req-1", now=now)
    ledger.record_status(plan.subject_hash, "req-1", "COMPLETED", now=now)
    ledger.mark_failed(plan.subject_hash, "verification_failed", review_after_attempts=1, now=now)

    (entry,) = requests_near_deadline(ledger.due_soon(now, 5), TODAY, 5)

    assert (entry.needs_review, entry.due_date) == (True, None)
    assert "NEEDS REVIEW" in notification_text([entry])
