"""Step 5: one GDPR request per subject, exactly once.

The ledger claim (`planned` -> `submitting`) is written BEFORE the POST and only one claimant can win
it, so a retried task, a re-run or a second DAG never posts for the same subject again. A retried task
first settles the claims its dead predecessor left behind, from the requests Genesys already has.

A GDPR quota (429 with a `Retry-After` longer than the hook waits by itself) created no request, so the
claim goes back to `planned` uncounted. A wait up to `quota_wait_max_seconds` is waited out and the same
subject posted again; a longer one defers this subject and the rest of the batch (`deferred`, reason
`gdpr_quota`), which the next run carries over and submits: nothing is lost, nothing is posted twice,
and the task does not fail (its retry could not post before the quota allows it either).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from genesys_cloud.errors import GenesysBadRequestError, GenesysRateLimitError
from genesys_erasure.identifiers import IdentifierKind
from genesys_erasure.ledger import SubjectState, SubmissionRefused
from genesys_erasure.ledger.records import unseal_replacement
from genesys_erasure.steps.client import GenesysClient
from genesys_erasure.steps.reconcile import reconcile_stuck_submissions, sent_body
from genesys_erasure.steps.runtime import ErasureRuntime

log = logging.getLogger(__name__)

REPLACEMENT_TYPES = {IdentifierKind.EMAIL: "EMAIL", IdentifierKind.PHONE: "PHONE"}
DEFAULT_REPLACEMENT = "REDACTED"
QUOTA_REASON = "gdpr_quota"


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
    # Round-robin across the configured OAuth clients: each paces by its own token's limit, so K clients
    # post about K times as fast (the org-wide limits and the GDPR quota still bound the sum).
    clients = runtime.submit_clients
    deferred_for_quota = 0
    waited = 0.0
    retry_after: float | None = None
    for number, subject_hash in enumerate(subject_hashes, start=1):
        if retry_after is not None:  # the quota said "much later": the rest of the batch waits for a run
            if _defer_for_quota(ledger, subject_hash, run_id):
                deferred_for_quota += 1
            else:
                skipped += 1
            continue
        while True:
            try:
                row = ledger.mark_submitting(subject_hash, run_id)
            except SubmissionRefused as refused:
                skipped += 1
                log.info("Subject %s… not submitted: %s", subject_hash[:12], refused.__class__.__name__)
                break
            try:
                client = clients[(number - 1) % len(clients)]
                request = _post(runtime, client, subject_hash, row.request_type, replacement)
            except GenesysBadRequestError as rejected:
                # Genesys refused this one subject (400): record why and go on with the batch. Posting
                # the same identifiers again would be refused again, so it is not retried by a later run
                # but left for a person (`needs_review`, listed by the daily check; the run still fails).
                # Anything else fails the task and its retry reconciles.
                ledger.mark_failed(
                    subject_hash,
                    f"rejected_by_genesys:{rejected.code or 'bad.request'}",
                    review_after_attempts=1,
                )
                rejected_count += 1
                log.warning(
                    "Subject %s… rejected by Genesys (%s, correlation id %s)",
                    subject_hash[:12],
                    rejected.code,
                    rejected.correlation_id,
                )
                break
            except GenesysRateLimitError as limited:
                # 429: Genesys created nothing. The claim is released (not counted as an attempt).
                ledger.release_claim(subject_hash, run_id, QUOTA_REASON)
                wait = limited.retry_after
                # short waits are waited out, but not without end: at most the budget per batch
                if wait is not None and waited + wait <= runtime.config.quota_wait_max_seconds:
                    log.warning("GDPR quota reached: waiting %.0fs as Genesys asks", wait)
                    runtime.sleep(wait)
                    waited += wait
                    continue
                retry_after = wait if wait is not None else float("inf")
                log.warning(
                    "GDPR quota reached (Retry-After %s s, correlation id %s): the rest of the batch is "
                    "deferred to the next run",
                    "unknown" if wait is None else f"{wait:.0f}",
                    limited.correlation_id,
                )
                deferred_for_quota += _defer_for_quota(ledger, subject_hash, run_id)
                break
            ledger.record_submission(subject_hash, request["id"], status=request.get("status"))
            log.info("GDPR request %s created for subject %s…", request["id"], subject_hash[:12])
            submitted += 1
            break
        if number % 10 == 0 or number == total:
            log.info("Submitted %d / %d (%d skipped)", submitted, total, skipped)
    counts: dict[str, Any] = {"submitted": submitted, "skipped": skipped, "rejected": rejected_count}
    if deferred_for_quota:
        counts["deferred_gdpr_quota"] = deferred_for_quota
    return counts


def _post(
    runtime: ErasureRuntime, client: GenesysClient, subject_hash: str, request_type: str, replacement: str
) -> dict:
    """POST the subject's GDPR request, built from its sealed identifiers."""
    token = runtime.ledger.sealed_identifiers(subject_hash)
    identifiers = runtime.sealer.unseal(token)
    terms = None
    if request_type == "GDPR_UPDATE":
        # the text sealed with the subject at planning (its analyst's choice) wins over this run's
        chosen = unseal_replacement(runtime.sealer, token) or replacement
        terms = replacement_terms(identifiers, chosen)
    # A delete names every stored form it may (the very body reconciliation rebuilds after a crash); an
    # update replaces by the identifiers' values (its terms).
    return client.submit_gdpr_request(request_type, sent_body(runtime, token, request_type), terms)


def _defer_for_quota(ledger: Any, subject_hash: str, run_id: str) -> bool:
    """Carry a not-yet-posted subject of this run into the next run (sealed identifiers kept); False
    when the subject is not this run's to submit (another run holds it, or it is already done)."""
    row = ledger.get(subject_hash)
    if row is None or row.state is not SubjectState.PLANNED or row.run_id != run_id:
        return False
    ledger.mark_deferred(subject_hash, QUOTA_REASON)
    return True


def request_ids_in_flight(runtime: ErasureRuntime, run_id: str) -> list[str]:
    """The latest request id of every subject of the run that is waiting on Genesys."""
    ledger = runtime.ledger
    rows = ledger.rows_for_run(run_id)
    return sorted(
        row.last_request_id for row in rows if row.state is SubjectState.SUBMITTED and row.last_request_id
    )
