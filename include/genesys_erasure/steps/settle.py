"""Steps 6 and 7: what Genesys answered. COMPLETED goes on to verification; ERROR is submitted once more
after a back-off, then `failed` (or `needs_review` once the subject had `max_erasure_attempts` POSTs over
all runs, so it is not posted night after night; below that bound the next nightly run posts it again,
`steps.retry_failed`); a request still running at the deadline is `overdue`
(reported, and carried into the next run, which polls it again rather than posting a second request)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from genesys_erasure.ledger import SubjectState
from genesys_erasure.steps.runtime import ErasureRuntime

log = logging.getLogger(__name__)

COMPLETED, ERROR, NOT_FOUND = "COMPLETED", "ERROR", "NOT_FOUND"
MAX_ATTEMPTS = 2  # the first POST and one resubmission
_ERROR_COUNT = {
    SubjectState.PLANNED: "resubmit",
    SubjectState.FAILED: "failed",
    SubjectState.NEEDS_REVIEW: "needs_review",
}


def settle_requests(
    runtime: ErasureRuntime,
    run_id: str,
    statuses: Mapping[str, str],
    now: datetime,
    *,
    allow_resubmit: bool,
) -> dict[str, Any]:
    counts = {"completed": 0, "resubmit": 0, "failed": 0, "needs_review": 0, "overdue": 0}
    ledger = runtime.ledger
    for row in ledger.rows_for_run(run_id):
        if row.state is not SubjectState.SUBMITTED or not row.last_request_id:
            continue
        status = statuses.get(row.last_request_id)
        if status == COMPLETED:
            ledger.record_status(row.subject_hash, row.last_request_id, COMPLETED, now=now)
            counts["completed"] += 1
        elif status == ERROR:
            attempts = MAX_ATTEMPTS if allow_resubmit else 0
            settled = ledger.record_error(
                row.subject_hash,
                row.last_request_id,
                max_attempts=attempts,
                review_after_attempts=runtime.config.max_erasure_attempts,
                now=now,
            )
            counts[_ERROR_COUNT[settled.state]] += 1
        elif status == NOT_FOUND:
            settled = ledger.mark_failed(
                row.subject_hash,
                "request_not_found_at_genesys",
                review_after_attempts=runtime.config.max_erasure_attempts,
                now=now,
            )
            counts[_ERROR_COUNT[settled.state]] += 1
        else:
            ledger.mark_overdue(row.subject_hash, now=now)
            counts["overdue"] += 1
    backoff = (
        timedelta(minutes=runtime.config.resubmit_backoff_minutes) if counts["resubmit"] else timedelta(0)
    )
    counts["resubmit_at"] = (now + backoff).isoformat()
    return counts


def subjects_to_resubmit(runtime: ErasureRuntime, run_id: str) -> list[str]:
    ledger = runtime.ledger
    return sorted(
        row.subject_hash
        for row in ledger.rows_for_run(run_id)
        if row.state is SubjectState.PLANNED and row.reason == "genesys_error_resubmitting"
    )
