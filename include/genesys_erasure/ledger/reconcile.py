"""Reconciliation of subjects stuck in `submitting`: the run wrote its intent, POSTed the GDPR request,
and died before recording Genesys' answer. Genesys' own request list tells whether the POST happened.

Matching rule: a stuck row adopts a request whose identifier-hash set EQUALS the set the row last sealed,
that no ledger row owns yet, and that was not created before the intent (allowing for clock skew). Equality,
not overlap: adopting another person's request (who shares a phone number) would leave this subject
unerased, while a missed match only costs a duplicate delete request. Unmatched rows go back to `planned`,
safe to submit. Intents younger than `stale_after` are left alone: their run may still be posting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from genesys_erasure.ledger.records import KnownRequest, ReconcileOutcome
from genesys_erasure.ledger.schema import subjects
from genesys_erasure.ledger.sql import owned_request_ids, record_request, submitted_values, transition
from genesys_erasure.ledger.states import SubjectState

# Genesys and our clocks may differ: a request created up to this long before our intent still matches.
CLOCK_SKEW = timedelta(minutes=5)
DEFAULT_STALE_AFTER = timedelta(minutes=15)
S = SubjectState


def match_stuck_submissions(
    conn: Connection,
    known: Sequence[KnownRequest],
    *,
    stale_after: timedelta,
    now: datetime,
    only: Iterable[str] | None = None,
) -> ReconcileOutcome:
    recorded, released, pending, notes = [], [], [], []
    query = select(subjects).where(subjects.c.state == S.SUBMITTING.value).order_by(subjects.c.submitting_at)
    if only is not None:
        query = query.where(subjects.c.subject_hash.in_(list(only)))
    stuck = conn.execute(query).mappings().all()
    owned = owned_request_ids(conn, [k.request_id for k in known])
    for row in stuck:
        if row["submitting_at"] > now - stale_after:
            pending.append(row["subject_hash"])
            continue
        wanted = frozenset(row["identifier_set"])
        matches = [
            k
            for k in known
            if k.request_id not in owned
            and k.identifier_hashes == wanted
            and (k.created_at is None or k.created_at >= row["submitting_at"] - CLOCK_SKEW)
        ]
        if not matches:
            transition(conn, row, S.PLANNED, {}, now)
            released.append(row["subject_hash"])
            continue
        chosen = max(matches, key=lambda k: (k.created_at is not None, k.created_at or now))
        if len(matches) > 1:
            notes.append(f"subject {row['subject_hash'][:16]}…: {len(matches)} matching requests")
        record_request(conn, row, chosen.request_id, "reconciled", now)
        transition(conn, row, S.SUBMITTED, submitted_values(chosen.request_id, None, now), now)
        owned.add(chosen.request_id)
        recorded.append((row["subject_hash"], chosen.request_id))
    return ReconcileOutcome(tuple(recorded), tuple(released), tuple(pending), tuple(notes))
