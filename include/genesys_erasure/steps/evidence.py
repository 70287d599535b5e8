"""Step 9: evidence. A signed run report (JSON + HTML) from the ledger, a summary table in the task log,
the run workspace dropped, and the compliance verdict that fails the run loudly.

The warehouse step's result (rows affected per table, the unrecoverable-after dates) is attached to the
signed report with `attach_warehouse_results`; a failing warehouse status fails the compliance verdict.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from genesys_erasure.config import PurgeConfig
from genesys_erasure.evidence import (
    attach_warehouse_results,
    build_run_report,
    publish_verifying_key,
    sign_document,
    summary_table,
    write_document,
)
from genesys_erasure.ledger import SubjectState
from genesys_erasure.shared_headers import SHARED_WITH_PERSON_NOT_ERASED
from genesys_erasure.steps.runtime import ErasureRuntime
from genesys_erasure.steps.scan import SCAN_HANDOFF, WATERMARK_MARKER
from genesys_erasure.steps.verify import ATTRIBUTES_RETAINED
from genesys_erasure.workspace import WorkspaceError

log = logging.getLogger(__name__)

# The warehouse step's statuses that fail the run (`warehouse_step.FAILING_STATUSES`; not imported, so
# this module does not load the warehouse package).
WAREHOUSE_FAILING = frozenset({"mapping_invalid", "unverified"})

PERSONAL_SETTINGS = ("own_numbers", "own_addresses", "exclusions")


class ErasureNotCompliant(Exception):
    """The run ended with subjects that were not erased as required (counts only in the message)."""


def report_parameters(config: PurgeConfig) -> dict[str, Any]:
    """The run's settings for the report: lists that may hold personal data are given as counts."""
    values = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    for name in PERSONAL_SETTINGS:
        values[name] = {"count": len(values[name])}
    return values


def report_path(runtime: ErasureRuntime, run_id: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", run_id)
    return runtime.report_dir() / f"erasure-report-{safe}.json"


def write_run_evidence(
    runtime: ErasureRuntime,
    run_id: str,
    now: datetime,
    extra: dict[str, Any] | None = None,
    *,
    warehouse: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`warehouse`: the warehouse step's result (`warehouse_step`), attached to the signed report."""
    ledger = runtime.ledger
    released = ledger.release_unsubmitted(run_id)
    rows = ledger.rows_for_run(run_id)
    if released:
        log.warning(
            "%d planned subject(s) were not submitted (approval rejected?): identifiers wiped", len(released)
        )
    report = build_run_report(
        run_id=run_id,
        rows=rows,
        parameters={**report_parameters(runtime.config), **_run_clock(runtime, run_id), **(extra or {})},
        generated_at=now,
        dry_run=runtime.config.dry_run,
        awaiting_review=ledger.rows_in_states([SubjectState.NEEDS_REVIEW]),
    )
    signed = sign_document(report, runtime.signing_key)
    warehouse = warehouse or {"status": "not_configured", "tables": []}
    signed = attach_warehouse_results(
        signed, warehouse.get("tables", []), runtime.signing_key, status=warehouse["status"]
    )
    path = write_document(signed, report_path(runtime, run_id))
    publish_verifying_key(runtime.report_dir(), runtime.signing_key)
    log.info("Run summary\n%s", summary_table(signed))
    log.info("Signed report written to %s (and %s)", path, path.with_suffix(".html"))
    _advance_scan_watermark(runtime, run_id)
    runtime.workspace().drop_run(run_id)
    return {
        "report_json": str(path),
        "report_html": str(path.with_suffix(".html")),
        "counts": signed["counts"],
        "needs_review_total": len(signed.get("needs_review", [])),
        "needs_review_reasons": signed.get("needs_review_reasons", {}),
        "warehouse_status": warehouse["status"],
        "dry_run": runtime.config.dry_run,
        "subject_hashes": [row.subject_hash for row in rows if row.state is SubjectState.VERIFIED],
    }


def _run_clock(runtime: ErasureRuntime, run_id: str) -> dict[str, str]:
    """The instant the run was as of and its retention cutoff, as recorded when the run fixed them (a run
    that never fixed them, such as the request listener's, states none)."""
    recorded = runtime.ledger.run_clock(run_id)
    if recorded is None:
        return {}
    as_of, cutoff = recorded
    return {"as_of": as_of.isoformat(), "cutoff": cutoff.isoformat()}


def _advance_scan_watermark(runtime: ErasureRuntime, run_id: str) -> None:
    """After a real retention run, the next nightly scan starts where this one's cutoff was."""
    if runtime.config.dry_run:
        return
    workspace = runtime.workspace()
    try:
        cutoff = workspace.get(run_id, SCAN_HANDOFF)["cutoff"]
    except WorkspaceError:
        return  # not a retention run (no scan)
    workspace.set_marker(WATERMARK_MARKER, cutoff)


# `needs_review` reasons for data the run could not lawfully or technically reach with a GDPR request: a
# header shared with a person not erased, a value left in participant attributes (which the GDPR API may
# not reach). Warnings, not failures: see `check_compliance`.
REVIEW_WARNINGS = (SHARED_WITH_PERSON_NOT_ERASED, ATTRIBUTES_RETAINED)


def check_compliance(evidence: dict[str, Any]) -> dict[str, int]:
    """Fail when any subject of the run ended `failed` (Genesys ERROR twice, or verification found data
    left) or `needs_review` because its attempts were used up; `erasure_pending` is a warning (later runs
    re-check), and so is `needs_review` for data no request reaches (`REVIEW_WARNINGS`): the run erased all
    it lawfully could, like a legal hold, and the subject is listed for a person in this report and by the
    daily deadline check. Failing every run it appears in would only teach people to ignore red runs."""
    counts = evidence["counts"]
    if evidence.get("warehouse_status") in WAREHOUSE_FAILING:
        raise ErasureNotCompliant(
            f"warehouse erasure {evidence['warehouse_status']}: rows of erased subjects may remain in a "
            f"mapped table (they stay pending for the next run); see {evidence['report_html']}"
        )
    reasons = evidence.get("needs_review_reasons", {})
    left = {reason: reasons.get(reason, 0) for reason in REVIEW_WARNINGS if reasons.get(reason, 0)}
    failed = (
        counts.get(SubjectState.FAILED.value, 0)
        + counts.get(SubjectState.NEEDS_REVIEW.value, 0)
        - sum(left.values())
    )
    if failed:
        raise ErasureNotCompliant(
            f"Not compliant: {failed} subject(s) were not erased as required "
            f"({counts.get(SubjectState.FAILED.value, 0)} failed, "
            f"{counts.get(SubjectState.NEEDS_REVIEW.value, 0) - sum(left.values())} out of attempts and "
            f"waiting for a person); the signed report lists them: {evidence['report_html']}"
        )
    if left:
        log.warning(
            "Subjects need review for data no GDPR request of theirs reaches (e-mail headers that also list "
            "a person this run did not erase, values left in participant attributes); a person decides: %s",
            left,
        )
    pending = counts.get(SubjectState.ERASURE_PENDING.value, 0)
    if pending:
        log.warning("%d subject(s) are erasure_pending at Genesys; later runs verify them again", pending)
    overdue = counts.get(SubjectState.OVERDUE.value, 0)
    if overdue:
        log.warning("%d subject(s) are overdue at Genesys and carried into the next run", overdue)
    return counts
