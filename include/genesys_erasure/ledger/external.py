"""Erasures made outside this pipeline (an administrator in the Genesys UI, another script), found by the
request listener in Genesys' request list and written to the ledger so the warehouse step and the
evidence cover them too.

Such a subject enters the ledger as `completed` (Genesys said COMPLETED; our own verification is still
to come), with the Genesys request id recorded as `external`. A subject the ledger already holds is left
to the run that owns it: nothing is written, not even the request id (a request of ours whose POST answer
was lost must stay free for reconciliation).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, insert, select

from genesys_cloud.vocabulary import GdprStatus
from genesys_erasure.ledger.records import SubjectPlan
from genesys_erasure.ledger.schema import requests, subjects
from genesys_erasure.ledger.sql import add_identifier_hashes, check_id, check_run_id, insert_ignore, new_row
from genesys_erasure.ledger.states import SubjectSource, SubjectState

GENESYS_COMPLETED = GdprStatus.COMPLETED
RECORDED_BY = "external"


def known_request_ids(conn: Connection, request_ids: Iterable[str]) -> frozenset[str]:
    wanted = sorted(set(request_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):  # stay well below any bind-parameter limit
        chunk = wanted[start : start + 500]
        found.update(conn.scalars(select(requests.c.request_id).where(requests.c.request_id.in_(chunk))))
    return frozenset(found)


def insert_external_erasure(
    conn: Connection, plan: SubjectPlan, request_id: str, run_id: str, completed_at: datetime, now: datetime
) -> bool:
    """Insert `plan` as a completed external erasure; False (nothing written) when the subject exists."""
    check_run_id(run_id)
    check_id(request_id, "request_id")
    if plan.source is not SubjectSource.EXTERNAL:
        raise ValueError("plan.source: an externally made erasure must have source 'external'")
    if not plan.sealed_identifiers:
        raise ValueError("plan.sealed_identifiers: required (the warehouse step needs the identifiers)")
    owner = conn.scalar(select(requests.c.subject_hash).where(requests.c.request_id == request_id))
    if owner is not None:
        return False
    row = {
        **new_row(plan, run_id, False, now),
        "state": SubjectState.COMPLETED.value,
        "attempts": 1,
        "last_request_id": request_id,
        "last_genesys_status": GENESYS_COMPLETED,
        "completed_at": completed_at,
    }
    if not insert_ignore(conn, subjects, row):
        return False
    add_identifier_hashes(conn, plan, now)
    conn.execute(
        insert(requests).values(
            request_id=request_id,
            subject_hash=plan.subject_hash,
            attempt=1,
            run_id=run_id,
            recorded_at=now,
            recorded_by=RECORDED_BY,
        )
    )
    return True
