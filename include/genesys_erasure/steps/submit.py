"""Step 5: one GDPR request per subject, exactly once.

The ledger claim (`planned` -> `submitting`) is written BEFORE the POST and only one claimant can win
it, so a retried task, a re-run or a second DAG never posts for the same subject again. A retried task
first settles the claims its dead predecessor left behind, from the requests Genesys already has.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from genesys_cloud.errors import GenesysBadRequestError
from genesys_erasure.identifiers import IdentifierKind
from genesys_erasure.ledger import SubjectState, SubmissionRefused
from genesys_erasure.steps.reconcile import reconcile_stuck_submissions, sent_body
from genesys_erasure.steps.runtime import ErasureRuntime

log = logging.getLogger(__name__)

REPLACEMENT_TYPES = {IdentifierKind.EMAIL: "EMAIL", IdentifierKind.PHONE: "PHONE"}
DEFAULT_REPLACEMENT = "REDACTED"


def replacement_terms(identifiers, replacement: str) -> list[dict[str, str]]:
    return [
        {"type": REPLACEMENT_TYPES[i.kind], "existingValue": i.value, "updatedValue": replacement}
        for i in sorted(identifiers)
        if i.kind in REPLACEMENT_TYPES
    ]


def submit_batch(
    runtime: ErasureRuntime,
    run_id: str,
    subject_hashes: Sequence[str],
    *,
    is_retry: bool = False,
    replacement: str = DEFAULT_REPLACEMENT,
) -> dict[str, Any]:
    if runtime.config.dry_run:
        log.info("Dry run: %d subjects planned, none submitted", len(subject_hashes))
        return {"submitted": 0, "skipped": len(subject_hashes)}
    client = runtime.client
    submitted = skipped = rejected_count = 0
    ledger = runtime.ledger
    if is_retry:
        # Our own earlier attempt is dead (Airflow retries only after a failure), so its claims are
        # stale now, not after the usual grace period. Only OUR claims: another run may be mid-POST
        # for a subject of this batch, and releasing its claim would let us post a second request.
        wanted = set(subject_hashes)
        ours = {row.subject_hash for row in ledger.rows_for_run(run_id) if row.subject_hash in wanted}
        reconcile_stuck_submissions(runtime, ledger, stale_after=timedelta(0), only=ours)
    total = len(subject_hashes)
    for number, subject_hash in enumerate(subject_hashes, start=1):
        try:
            row = ledger.mark_submitting(subject_hash, run_id)
        except SubmissionRefused as refused:
            skipped += 1
            log.info("Subject %s… not submitted: %s", subject_hash[:12], refused.__class__.__name__)
            continue
        token = ledger.sealed_identifiers(subject_hash)
        identifiers = runtime.sealer.unseal(token)
        terms = replacement_terms(identifiers, replacement) if row.request_type == "GDPR_UPDATE" else None
        # A delete names every stored form it may (the very body reconciliation rebuilds after a crash);
        # an update replaces by the identifiers' values (its terms).
        try:
            request = client.submit_gdpr_request(
                row.request_type, sent_body(runtime, token, row.request_type), terms
            )
        except GenesysBadRequestError as rejected:
            # Genesys refused this one subject (400): record why and go on with the batch; posting it
            # again would be refused again. Anything else fails the task and its retry reconciles.
            ledger.mark_failed(subject_hash, f"rejected_by_genesys:{rejected.code or 'bad.request'}")
            rejected_count += 1
            log.warning(
                "Subject %s… rejected by Genesys (%s, correlation id %s)",
                subject_hash[:12],
                rejected.code,
                rejected.correlation_id,
            )
            continue
        ledger.record_submission(subject_hash, request["id"], status=request.get("status"))
        submitted += 1
        if number % 10 == 0 or number == total:
            log.info("Submitted %d / %d (%d skipped)", number - skipped, total, skipped)
    return {"submitted": submitted, "skipped": skipped, "rejected": rejected_count}


def request_ids_in_flight(runtime: ErasureRuntime, run_id: str) -> list[str]:
    """The latest request id of every subject of the run that is waiting on Genesys."""
    ledger = runtime.ledger
    rows = ledger.rows_for_run(run_id)
    return sorted(
        row.last_request_id for row in rows if row.state is SubjectState.SUBMITTED and row.last_request_id
    )
