"""The life of one subject in the erasure ledger: its states and the only transitions allowed between them.

    planned ──► submitting ──► submitted ──► completed ──► verified (final; planned again only for a
                                                                     customer who returned after it)
       │  ▲         │  (crash: reconciled)       │    ▲
       │  └─────────┘                            │    └── erasure_pending ◄─┐ (re-checked by later runs)
       │                                         ├──► erasure_pending ──────┘──► failed / needs_review
       │                                         ├──► deferred ──► planned (next run)
       ├──► quarantined (final for the run)      ├──► failed ──► planned (next nightly run, attempts left)
       │                                         │       └────► needs_review (not retryable any more)
       └──► deferred / overdue / failed          └──► needs_review (final: attempts used up)

* `submitting` is the intent, written BEFORE the POST: a crash between the POST and the ledger write
  leaves the row there, and `Ledger.reconcile_unknown_submissions` resolves it from Genesys' own list.
* `deferred` (an active conversation) and `overdue` (deadline passed) are carried into the next run.
* `erasure_pending`: Genesys said COMPLETED and nothing readable was found, but part of the delete is still
  on its way (a recording with a `deleteDate` not yet DELETED, a contact search that lags). The request is
  done, so nothing is posted again; later runs re-check it (sealed identifiers kept) until the pending
  deadline, then it is `failed` or `needs_review`.
* `failed` and `quarantined` are final for the run that reached them. A subject fails only while it has
  had fewer than `max_erasure_attempts` POSTs over all runs (after that, or when posting again cannot help,
  it is `needs_review`, final until a person looks at it: no transition leaves it, and re-planning it is a
  deliberate act outside the pipeline). A `failed` row keeps its sealed identifiers (`RETRY_STATES`): the
  nightly scan is incremental and would never find the subject again, so the next nightly run plans it
  again itself (`steps.retry_failed`), keeping its request type, ticket and source; it wipes them instead
  when the person came back since (a recent contact) and sends the subject to `needs_review` when an
  identifier of it is now excluded, quarantined or awaiting review. A `failed` row without sealed
  identifiers (failed with no attempt bound, released, or from before this rule) is re-planned only when a
  scan finds the subject again. A later scan may also plan any `failed` subject afresh. A completed subject
  whose address is left only in an e-mail header shared with a person the run did not erase goes to
  `needs_review` too (reason `shared_with_person_not_erased`): posting again cannot erase it lawfully.
  `verified` is final unless the person comes back: a contact after the erasure is new data, planned
  again when it expires.
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
    ERASURE_PENDING = "erasure_pending"
    NEEDS_REVIEW = "needs_review"


class SubjectSource(StrEnum):
    RETENTION = "retention"  # selected by the retention schedule
    DSR = "dsr"  # an ad-hoc data-subject request (has a ticket and a due date)
    EXTERNAL = "external"  # handed over by another system


S = SubjectState

# States in which the run that reached them is done with the subject: sealed identifiers are wiped on
# entering one of these (unless the warehouse step still needs them, or a failed subject may be retried).
FINAL_STATES: frozenset[SubjectState] = frozenset({S.VERIFIED, S.FAILED, S.QUARANTINED, S.NEEDS_REVIEW})
# Final for the run that reached them, but keeping the sealed identifiers when the ledger was given an
# attempt bound not yet reached: the next nightly run plans them again (`Ledger.retry_failed_into`).
RETRY_STATES: frozenset[SubjectState] = frozenset({S.FAILED})
# States carried into the next run.
CARRIED_STATES: frozenset[SubjectState] = frozenset({S.DEFERRED, S.OVERDUE})
# The only state from which a GDPR request may be posted: the exactly-once guard claims from here.
SUBMITTABLE_STATES: frozenset[SubjectState] = frozenset({S.PLANNED})
# A request is (or may be) in flight at Genesys: never re-planned, never submitted again.
# (`erasure_pending` too: Genesys finished the request; only its effects are still to show.)
IN_FLIGHT_STATES: frozenset[SubjectState] = frozenset(
    {S.SUBMITTING, S.SUBMITTED, S.COMPLETED, S.ERASURE_PENDING}
)
# Awaiting a later verification run (sealed identifiers kept), without a new request.
RECHECK_STATES: frozenset[SubjectState] = frozenset({S.ERASURE_PENDING})

ALLOWED_TRANSITIONS: dict[SubjectState, frozenset[SubjectState]] = {
    S.PLANNED: frozenset({S.PLANNED, S.SUBMITTING, S.DEFERRED, S.OVERDUE, S.QUARANTINED, S.FAILED}),
    S.DRY_RUN: frozenset({S.DRY_RUN, S.PLANNED, S.QUARANTINED}),
    # back to planned only through reconciliation, when Genesys has no matching request; needs_review
    # when Genesys refused the POST (400): the same request would be refused again, a person decides
    S.SUBMITTING: frozenset({S.SUBMITTED, S.PLANNED, S.FAILED, S.NEEDS_REVIEW}),
    # back to planned only when Genesys reported ERROR and one more attempt is allowed
    S.SUBMITTED: frozenset({S.SUBMITTED, S.COMPLETED, S.FAILED, S.OVERDUE, S.PLANNED, S.NEEDS_REVIEW}),
    S.COMPLETED: frozenset({S.VERIFIED, S.FAILED, S.DEFERRED, S.OVERDUE, S.ERASURE_PENDING, S.NEEDS_REVIEW}),
    # re-checked by later runs: still pending (same state, new verification), erased, or given up on
    S.ERASURE_PENDING: frozenset({S.ERASURE_PENDING, S.VERIFIED, S.FAILED, S.NEEDS_REVIEW, S.DEFERRED}),
    # only a returning customer: `Ledger.plan` re-plans a verified subject when the scan saw a contact
    # after Genesys completed its erasure (new data, erased in its turn); nothing else leaves `verified`
    S.VERIFIED: frozenset({S.PLANNED}),
    # a person decides what happens next; the pipeline never moves it (and never submits it again)
    S.NEEDS_REVIEW: frozenset(),
    # planned again by a later run; `needs_review` when a retry is refused (an identifier of it is now
    # excluded, quarantined or awaiting review, or its attempts are used up under a lowered bound)
    S.FAILED: frozenset({S.PLANNED, S.DRY_RUN, S.NEEDS_REVIEW}),
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
