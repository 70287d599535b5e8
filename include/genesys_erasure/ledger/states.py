"""The life of one subject in the erasure ledger: its states and the only transitions allowed between them.

    planned ──► submitting ──► submitted ──► completed ──► verified (final)
       │  ▲         │  (crash: reconciled)       │
       │  └─────────┘                            ├──► deferred ──► planned (next run)
       ├──► quarantined (final for the run)      └──► failed (final, with reason)
       └──► deferred / overdue / failed

* `submitting` is the intent, written BEFORE the POST: a crash between the POST and the ledger write
  leaves the row there, and `Ledger.reconcile_unknown_submissions` resolves it from Genesys' own list.
* `deferred` (an active conversation) and `overdue` (deadline passed) are carried into the next run.
* `failed` and `quarantined` are final for the run that reached them; a later run may plan the subject
  again (with fresh identifiers, since the sealed ones were wiped). Only `verified` is final for good.
* `dry_run` rows were planned by a dry run only; they never hold sealed identifiers.
"""

from __future__ import annotations

from enum import StrEnum


class SubjectState(StrEnum):
    PLANNED = "planned"
    SUBMITTING = "submitting"
    SUBMITTED = "submitted"
    COMPLETED = "completed"
    VERIFIED = "verified"
    FAILED = "failed"
    DEFERRED = "deferred"
    OVERDUE = "overdue"
    QUARANTINED = "quarantined"
    DRY_RUN = "dry_run"


class SubjectSource(StrEnum):
    RETENTION = "retention"  # selected by the retention schedule
    DSR = "dsr"  # an ad-hoc data-subject request (has a ticket and a due date)
    EXTERNAL = "external"  # handed over by another system


S = SubjectState

# States in which the run that reached them is done with the subject: sealed identifiers are wiped on
# entering one of these (unless the warehouse step still needs them).
FINAL_STATES: frozenset[SubjectState] = frozenset({S.VERIFIED, S.FAILED, S.QUARANTINED})
# States carried into the next run.
CARRIED_STATES: frozenset[SubjectState] = frozenset({S.DEFERRED, S.OVERDUE})
# The only state from which a GDPR request may be posted: the exactly-once guard claims from here.
SUBMITTABLE_STATES: frozenset[SubjectState] = frozenset({S.PLANNED})
# A request is (or may be) in flight at Genesys: never re-planned, never submitted again.
IN_FLIGHT_STATES: frozenset[SubjectState] = frozenset({S.SUBMITTING, S.SUBMITTED, S.COMPLETED})

ALLOWED_TRANSITIONS: dict[SubjectState, frozenset[SubjectState]] = {
    S.PLANNED: frozenset({S.PLANNED, S.SUBMITTING, S.DEFERRED, S.OVERDUE, S.QUARANTINED, S.FAILED}),
    S.DRY_RUN: frozenset({S.DRY_RUN, S.PLANNED, S.QUARANTINED}),
    # back to planned only through reconciliation, when Genesys has no matching request
    S.SUBMITTING: frozenset({S.SUBMITTED, S.PLANNED, S.FAILED}),
    # back to planned only when Genesys reported ERROR and one more attempt is allowed
    S.SUBMITTED: frozenset({S.SUBMITTED, S.COMPLETED, S.FAILED, S.OVERDUE, S.PLANNED}),
    S.COMPLETED: frozenset({S.VERIFIED, S.FAILED, S.DEFERRED, S.OVERDUE}),
    S.VERIFIED: frozenset(),
    S.FAILED: frozenset({S.PLANNED, S.DRY_RUN}),
    S.QUARANTINED: frozenset({S.PLANNED, S.DRY_RUN}),
    S.DEFERRED: frozenset({S.PLANNED, S.DRY_RUN, S.OVERDUE, S.QUARANTINED, S.FAILED}),
    # an overdue subject keeps moving along its path (its request may still be running at Genesys)
    S.OVERDUE: frozenset(
        {S.PLANNED, S.DRY_RUN, S.SUBMITTED, S.COMPLETED, S.VERIFIED, S.DEFERRED, S.QUARANTINED, S.FAILED}
    ),
}


class LedgerError(Exception):
    """Base of the ledger's errors. Messages carry subject hashes and state names only."""


class UnknownSubject(LedgerError, KeyError):
    def __init__(self, subject_hash: str) -> None:
        super().__init__(f"subject {subject_hash[:16]}… is not in the ledger")
        self.subject_hash = subject_hash

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class IllegalTransition(LedgerError):
    def __init__(self, subject_hash: str, current: SubjectState | str, target: SubjectState | str) -> None:
        super().__init__(
            f"subject {subject_hash[:16]}…: transition {SubjectState(current).value} -> "
            f"{SubjectState(target).value} is not allowed"
        )
        self.subject_hash = subject_hash
        self.current = SubjectState(current)
        self.target = SubjectState(target)


class SubmissionRefused(IllegalTransition):
    """Another run (or an earlier attempt) already claimed this subject: do NOT post."""


class ConcurrentUpdate(LedgerError):
    """The row changed between reading and the conditional update; the caller should re-read."""


def check_transition(subject_hash: str, current: SubjectState | str, target: SubjectState | str) -> None:
    if SubjectState(target) not in ALLOWED_TRANSITIONS[SubjectState(current)]:
        raise IllegalTransition(subject_hash, current, target)
