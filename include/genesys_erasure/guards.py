"""Safety guards that stand between a computed purge plan and the first erasure request.

Each guard is a small pure function that either returns its verdict or raises a `GuardError` whose message
holds numbers only (never an identifier), so it can go to logs, XCom and reports as it is. The guards exist
because erasure cannot be undone: a wrong retention setting, a broken scan or a shared switchboard number
must stop the run, not wipe the org.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from genesys_erasure.identifiers import Identifier

DEFAULT_MINIMUM_RETENTION_DAYS = 365
DEFAULT_QUARANTINE_CONVERSATION_THRESHOLD = 200
DEFAULT_QUARANTINE_SUBJECT_THRESHOLD = 5


class GuardError(Exception):
    """A guard refused the run; the message carries counts and limits only."""


class RetentionTooShort(GuardError):
    def __init__(self, days: int, minimum_days: int) -> None:
        super().__init__(
            f"retention of {days} days is below the floor of {minimum_days} days; "
            "a shorter retention needs an explicit override"
        )
        self.days = days
        self.minimum_days = minimum_days


class SubjectCapExceeded(GuardError):
    def __init__(self, planned: int, cap: int) -> None:
        super().__init__(f"{planned} subjects planned for erasure, more than the cap of {cap} per run")
        self.planned = planned
        self.cap = cap


class PurgeFractionExceeded(GuardError):
    def __init__(self, n_expired: int, n_known: int, max_fraction: float) -> None:
        share = n_expired / n_known if n_known else 1.0
        super().__init__(
            f"{n_expired} of {n_known} known customers ({share:.1%}) would be erased, "
            f"more than the allowed {max_fraction:.1%}"
        )
        self.n_expired = n_expired
        self.n_known = n_known
        self.max_fraction = max_fraction


def check_retention(
    days: int, minimum_days: int = DEFAULT_MINIMUM_RETENTION_DAYS, *, allow_below_minimum: bool = False
) -> int:
    """Return `days` if it is a safe retention. Under `minimum_days` it is refused unless
    `allow_below_minimum`; under one day it is refused always (the cutoff would be "now")."""
    if days < 1:
        raise RetentionTooShort(days, 1 if allow_below_minimum else minimum_days)
    if days < minimum_days and not allow_below_minimum:
        raise RetentionTooShort(days, minimum_days)
    return days


def check_subject_cap(n_subjects: int, cap: int) -> None:
    """Refuse a run that plans more than `cap` subjects (checked before any request is submitted)."""
    if n_subjects > cap:
        raise SubjectCapExceeded(n_subjects, cap)


def check_purge_fraction(n_expired: int, n_known_customers: int, max_fraction: float) -> float:
    """Return the share of known customers a run would erase; refuse it above `max_fraction`. A share
    that high means the scan saw too little (a failed or truncated job) or the cutoff is wrong."""
    if n_expired == 0:
        return 0.0
    if n_known_customers <= 0 or n_expired > n_known_customers:
        raise PurgeFractionExceeded(n_expired, n_known_customers, max_fraction)
    share = n_expired / n_known_customers
    if share > max_fraction:
        raise PurgeFractionExceeded(n_expired, n_known_customers, max_fraction)
    return share


def needs_approval(n_subjects: int, threshold: int | None) -> bool:
    """True when a run with `n_subjects` must wait for a human: more than `threshold` subjects
    (`None` disables the threshold, `0` asks for every non-empty run)."""
    return threshold is not None and n_subjects > threshold


class ApprovalReason(StrEnum):
    FIRST_CONTACT = "first_contact"  # no person has approved a run that submits to this org yet
    OVER_THRESHOLD = "over_threshold"  # more subjects than `approval_threshold`


def approval_reason(n_subjects: int, threshold: int | None, approved_before: bool) -> ApprovalReason | None:
    """Why a run that would submit `n_subjects` waits for a person, or None. Until a person has approved
    one run on this org (recorded in the ledger), every run that submits waits, whatever its size: a
    wrong setting met on first contact (unpausing the nightly DAG starts its latest scheduled run at
    once) must not erase anybody unseen."""
    if n_subjects == 0:
        return None
    if not approved_before:
        return ApprovalReason.FIRST_CONTACT
    if needs_approval(n_subjects, threshold):
        return ApprovalReason.OVER_THRESHOLD
    return None


class QuarantineReason(StrEnum):
    TOO_MANY_CONVERSATIONS = "too_many_conversations"
    TOO_MANY_LINKED_SUBJECTS = "too_many_linked_subjects"
    # the search for its links answered only part of its matches: its links are unknown, not too many
    INCOMPLETE_SEARCH = "incomplete_search"


@dataclass(frozen=True)
class QuarantinedIdentifier:
    """An identifier held back for a human: a switchboard, a shared family or test number, a generic
    mailbox, or one whose search was incomplete. `observed` is the count that tripped `threshold` (for
    `incomplete_search`: the matches, and the records the search returned)."""

    identifier: Identifier
    reason: QuarantineReason
    observed: int
    threshold: int


@dataclass(frozen=True)
class QuarantineResult:
    kept: tuple[Identifier, ...]
    quarantined: tuple[QuarantinedIdentifier, ...]


def quarantine(
    identifiers: Iterable[Identifier],
    *,
    conversation_counts: Mapping[Identifier, int] | None = None,
    link_counts: Mapping[Identifier, int] | None = None,
    conversation_threshold: int = DEFAULT_QUARANTINE_CONVERSATION_THRESHOLD,
    subject_threshold: int = DEFAULT_QUARANTINE_SUBJECT_THRESHOLD,
) -> QuarantineResult:
    """Split `identifiers` into those safe to submit and those that match more than
    `conversation_threshold` conversations or link into more than `subject_threshold` subjects: one
    person rarely does either, so erasing by such an identifier would erase other people's data."""
    conversation_counts = conversation_counts or {}
    link_counts = link_counts or {}
    kept: list[Identifier] = []
    held: list[QuarantinedIdentifier] = []
    for identifier in identifiers:
        conversations = conversation_counts.get(identifier, 0)
        links = link_counts.get(identifier, 0)
        if conversations > conversation_threshold:
            held.append(
                QuarantinedIdentifier(
                    identifier, QuarantineReason.TOO_MANY_CONVERSATIONS, conversations, conversation_threshold
                )
            )
        elif links > subject_threshold:
            held.append(
                QuarantinedIdentifier(
                    identifier, QuarantineReason.TOO_MANY_LINKED_SUBJECTS, links, subject_threshold
                )
            )
        else:
            kept.append(identifier)
    return QuarantineResult(tuple(kept), tuple(held))
