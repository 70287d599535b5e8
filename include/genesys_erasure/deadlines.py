"""Which data-subject requests are close to (or past) their GDPR due date, for the daily check.

Built from ledger rows (keyed hashes, tickets, dates, states): the list and the notification text carry
nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from genesys_erasure.ledger import LedgerRow, SubjectState

DEFAULT_DAYS_BEFORE = 5


@dataclass(frozen=True)
class DeadlineEntry:
    subject_hash: str
    ticket: str | None
    received_on: date | None
    due_date: date
    state: str
    days_left: int  # negative: overdue by that many days

    @property
    def overdue(self) -> bool:
        return self.days_left < 0

    def describe(self) -> str:
        when = f"OVERDUE by {-self.days_left} day(s)" if self.overdue else f"due in {self.days_left} day(s)"
        return (
            f"ticket {self.ticket or '-'}: subject {self.subject_hash[:16]}… {when} "
            f"(due {self.due_date.isoformat()}, state {self.state})"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "subject_hash": self.subject_hash,
            "ticket": self.ticket,
            "received_on": self.received_on.isoformat() if self.received_on else None,
            "due_date": self.due_date.isoformat(),
            "state": self.state,
            "days_left": self.days_left,
            "overdue": self.overdue,
        }


def requests_near_deadline(rows: Iterable[LedgerRow], today: date, days_before: int) -> list[DeadlineEntry]:
    """Rows not yet verified whose due date is at most `days_before` days away (or already past),
    earliest first. `Ledger.due_soon` pre-selects; this re-checks so the rule lives in one place."""
    if days_before < 0:
        raise ValueError("days_before: must be 0 or more")
    entries = [
        DeadlineEntry(
            row.subject_hash,
            row.ticket,
            row.received_on,
            row.due_date,
            row.state.value,
            (row.due_date - today).days,
        )
        for row in rows
        if row.due_date is not None
        and row.state is not SubjectState.VERIFIED
        and (row.due_date - today).days <= days_before
    ]
    return sorted(entries, key=lambda e: (e.due_date, e.subject_hash))


def notification_text(entries: Iterable[DeadlineEntry]) -> str:
    entries = list(entries)
    overdue = sum(e.overdue for e in entries)
    head = f"{len(entries)} GDPR erasure request(s) need attention ({overdue} overdue):"
    return "\n".join([head, *(f"- {e.describe()}" for e in entries)])
