"""Which data-subject requests are close to (or past) their GDPR due date, for the daily check, and which
subjects need a person's review (their erasure attempts are used up), due date or not.

Built from ledger rows (keyed hashes, tickets, dates, states): the list and the notification (text and e-mail
body, from the `deadline_notification` templates) carry nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from genesys_erasure.ledger import LedgerRow, SubjectState
from genesys_erasure.templates import render

DEFAULT_DAYS_BEFORE = 5


@dataclass(frozen=True)
class DeadlineEntry:
    subject_hash: str
    ticket: str | None
    received_on: date | None
    due_date: date | None  # None: a needs-review subject without a DSR due date (retention)
    state: str
    days_left: int | None  # negative: overdue by that many days; None without a due date

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left < 0

    @property
    def needs_review(self) -> bool:
        return self.state == SubjectState.NEEDS_REVIEW.value

    def to_dict(self) -> dict[str, object]:
        return {
            "subject_hash": self.subject_hash,
            "ticket": self.ticket,
            "received_on": self.received_on.isoformat() if self.received_on else None,
            "due_date": self.due_date.isoformat() if self.due_date else None,
            "state": self.state,
            "days_left": self.days_left,
            "overdue": self.overdue,
            "needs_review": self.needs_review,
        }


def requests_near_deadline(rows: Iterable[LedgerRow], today: date, days_before: int) -> list[DeadlineEntry]:
    """Rows not yet verified whose due date is at most `days_before` days away (or already past), and
    every `needs_review` row; earliest due date first, those without one last. `Ledger.due_soon`
    pre-selects; this re-checks so the rule lives in one place."""
    if days_before < 0:
        raise ValueError("days_before: must be 0 or more")
    entries = [
        DeadlineEntry(
            row.subject_hash,
            row.ticket,
            row.received_on,
            row.due_date,
            row.state.value,
            (row.due_date - today).days if row.due_date is not None else None,
        )
        for row in rows
        if row.state is SubjectState.NEEDS_REVIEW
        or (
            row.due_date is not None
            and row.state is not SubjectState.VERIFIED
            and (row.due_date - today).days <= days_before
        )
    ]
    return sorted(entries, key=lambda e: (e.due_date or date.max, e.subject_hash))


def notification_text(entries: Iterable[DeadlineEntry]) -> str:
    """The notification as plain text, one line per request (template `deadline_notification.txt.j2`)."""
    entries = list(entries)
    return render("deadline_notification.txt.j2", entries=entries, overdue=sum(e.overdue for e in entries))


def notification_html(entries: Iterable[DeadlineEntry]) -> str:
    """The notification as an e-mail body: the plain text, escaped, in a `<pre>` block."""
    return render("deadline_notification.html.j2", text=notification_text(entries))
