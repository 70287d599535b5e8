"""The nightly purge plans the subjects earlier runs left `failed` again, until their attempts run out.

The nightly scan is incremental: it reads only the window that newly expired since the last run, so a
subject that failed (Genesys answered ERROR twice, its request was lost, or verification found data left)
would never be found again unless a backfill or a new contact brought it back. Such a row keeps its sealed
identifiers while it has had fewer than `max_erasure_attempts` POSTs over all runs (`Ledger.mark_failed`,
`Ledger.record_error`), and the next nightly run plans it again here, as it carries over deferred ones:
its request type, replacement text, ticket, due date and source stay those it was planned with.

Every source is retried by the nightly run (an ad-hoc subject too): the ad-hoc DAG runs only when an
analyst starts it for a ticket, so waiting for it could let the request's due date pass, while the nightly
run comes within a day; the subject keeps what its analyst chose (request type, replacement text, ticket).

The guards of a fresh plan still apply, decided here before anything is written:
- a subject with an identifier that is now an own number or an exclusion, quarantined (tonight, or left
  `quarantined` in the ledger) or part of a subject awaiting review goes to `needs_review`: posting the same
  identifiers again is not what the org wants, and a person decides (the daily deadline check lists it);
- a retention subject with a contact on or after tonight's cutoff came back: it is not erased, its sealed
  identifiers are wiped and it stays `failed` (the scan finds the person when that contact expires);
- a subject all of whose identifiers tonight's plan takes in other subjects is left to that plan (wiped);
  one sharing only some of them is retried (an identifier left out would never be erased);
- a subject whose attempts are used up (the bound was lowered since) goes to `needs_review`;
- the retried subjects count towards the run's subject cap and, once planned, its approval threshold;
  when tonight's fresh subjects leave less room under the cap than there are retries, the rest wait for a
  later night (`subject_cap`), rather than the run failing every night until someone raises the cap;
- a row that changed state since the decision (quarantined tonight, taken by another run) is left alone.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection, Iterable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime

from genesys_erasure.identifiers import Identifier
from genesys_erasure.ledger import IllegalTransition, LedgerRow, SubjectSource, SubjectState
from genesys_erasure.steps.last_contacts import RecentContacts
from genesys_erasure.steps.runtime import ErasureRuntime

log = logging.getLogger(__name__)

EXCLUDED = "excluded_identifier"
QUARANTINED = "quarantined_identifier"
AWAITING_REVIEW = "identifier_awaiting_review"
ATTEMPTS_USED_UP = "attempts_used_up"
RECENT_CONTACT = "recent_contact"
PLANNED_AS_ANOTHER_SUBJECT = "planned_in_another_subject"
SUBJECT_CAP = "subject_cap"  # not tonight: no room under the run's subject cap (a later night)


@dataclass(frozen=True)
class FailedRetries:
    """What tonight does with the `failed` subjects awaiting a retry (keyed hashes and reason codes)."""

    retry: tuple[str, ...] = ()
    give_up: tuple[tuple[str, str], ...] = ()  # -> needs_review
    release: tuple[tuple[str, str], ...] = ()  # sealed identifiers wiped, stays failed
    not_retried: dict[str, int] = field(default_factory=dict)  # why, per reason code


def choose_failed_retries(
    runtime: ErasureRuntime,
    *,
    recent: Collection[Identifier],
    fresh_subject_hashes: Collection[str],
    fresh_identifier_hashes: Collection[str],
    excluded: Iterable[Identifier],
    quarantined: Iterable[Identifier],
) -> FailedRetries:
    """Decide, without writing anything, which failed subjects tonight retries (see the module doc).
    `fresh_*`: tonight's freshly resolved subjects (a subject planned afresh is re-planned by the ledger
    with its new identifiers, not retried); `excluded`: own identifiers and configured exclusions."""
    ledger, hasher = runtime.ledger, runtime.hasher
    rows = [r for r in ledger.failed_awaiting_retry() if r.subject_hash not in fresh_subject_hashes]
    if not rows:
        return FailedRetries()
    mine = {row.subject_hash: {h.identifier_hash for h in row.identifier_hashes} for row in rows}
    every = set().union(*mine.values())
    excluded_hashes = {hasher.hash_identifier(i) for i in excluded}
    quarantined_hashes = {hasher.hash_identifier(i) for i in quarantined}
    quarantined_hashes |= ledger.identifier_hashes_in_states(every, (SubjectState.QUARANTINED,))
    awaiting = ledger.identifier_hashes_awaiting_review(every)
    recent_hashes = _recent_hashes(runtime, recent, every)
    retry: list[str] = []
    give_up: list[tuple[str, str]] = []
    release: list[tuple[str, str]] = []
    bound = runtime.config.max_erasure_attempts
    fresh = set(fresh_identifier_hashes)
    for row in rows:
        ids = mine[row.subject_hash]
        if row.attempts >= bound:
            give_up.append((row.subject_hash, ATTEMPTS_USED_UP))
        elif ids & excluded_hashes:
            give_up.append((row.subject_hash, EXCLUDED))
        elif ids & quarantined_hashes:
            give_up.append((row.subject_hash, QUARANTINED))
        elif ids & awaiting:
            give_up.append((row.subject_hash, AWAITING_REVIEW))
        elif row.source is SubjectSource.RETENTION and ids & recent_hashes:
            # the retention guard: a DSR (or an external erasure) was asked for by or for the person
            release.append((row.subject_hash, RECENT_CONTACT))
        elif ids <= fresh:
            # every identifier of it is in tonight's fresh subjects; a partial overlap is retried (a
            # shared identifier named twice is erased twice, harmlessly; one left out would never be)
            release.append((row.subject_hash, PLANNED_AS_ANOTHER_SUBJECT))
        else:
            retry.append(row.subject_hash)
    not_retried = Counter(why for _, why in (*give_up, *release))
    return FailedRetries(tuple(retry), tuple(give_up), tuple(release), dict(sorted(not_retried.items())))


def within_cap(chosen: FailedRetries, room: int) -> FailedRetries:
    """At most `room` of the chosen retries (the first ones); the others stay `failed`, sealed, for a later
    night, counted under `subject_cap`."""
    if len(chosen.retry) <= room:
        return chosen
    room = max(room, 0)
    waiting = len(chosen.retry) - room
    not_retried = dict(sorted({**chosen.not_retried, SUBJECT_CAP: waiting}.items()))
    return replace(chosen, retry=chosen.retry[:room], not_retried=not_retried)


def _recent_hashes(
    runtime: ErasureRuntime, recent: Collection[Identifier], hashes: set[str]
) -> frozenset[str]:
    """Of `hashes`, the identifiers with a contact on or after the cutoff (the nightly asks its index)."""
    if isinstance(recent, RecentContacts):
        return recent.hashes_among(hashes)
    return frozenset({runtime.hasher.hash_identifier(i) for i in recent} & hashes)


def apply_failed_retries(
    runtime: ErasureRuntime, run_id: str, chosen: FailedRetries, now: datetime
) -> tuple[str, ...]:
    """Write what `choose_failed_retries` decided; returns the subjects planned into `run_id` again."""
    ledger = runtime.ledger
    for subject_hash, why in chosen.give_up:
        with suppress(IllegalTransition):  # no longer failed: tonight's plan or another run moved it
            ledger.give_up_failed(subject_hash, _reason(ledger.get(subject_hash), why), now=now)
    for subject_hash, why in chosen.release:
        with suppress(IllegalTransition):
            ledger.release_failed(subject_hash, _reason(ledger.get(subject_hash), why), now=now)
    retried = ledger.retry_failed_into(run_id, chosen.retry, now=now) if chosen.retry else ()
    if retried or chosen.not_retried:
        log.info(
            "Failed subjects of earlier runs: %d planned again; not retried, per reason: %s",
            len(retried),
            chosen.not_retried or "none",
        )
    return retried


def _reason(row: LedgerRow | None, why: str) -> str:
    """The failure's own reason with why it is not retried (codes only)."""
    if why == ATTEMPTS_USED_UP and row is not None and row.reason:
        return row.reason  # as a failure at the bound would have said it
    return f"{row.reason};not_retried:{why}" if row is not None and row.reason else f"not_retried:{why}"
