"""The verdict a run report opens with, read from the signed report alone, by the same rules that fail the
run (`steps.evidence.check_compliance`): a failing warehouse status or a subject that ended `failed` or
`needs_review` with its attempts used up is "not compliant"; erasure pending at Genesys, overdue requests
and review for data no request reaches are warnings; a dry run submitted nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Verdict:
    level: str  # "ok", "warn", "bad" or "dry_run": the page's colour
    title: str
    reasons: list[str] = field(default_factory=list)


def report_verdict(report: Mapping[str, Any]) -> Verdict:
    # the run's own rule constants, so the page can never disagree with the run's red or green
    from genesys_erasure.steps.evidence import REVIEW_WARNINGS, WAREHOUSE_FAILING

    counts: Mapping[str, int] = report.get("counts", {})
    if report.get("dry_run"):
        return Verdict("dry_run", "Dry run: nothing was submitted", [])
    bad: list[str] = []
    warehouse_status = (report.get("warehouse") or {}).get("status")
    if warehouse_status in WAREHOUSE_FAILING:
        bad.append(f"warehouse erasure {warehouse_status}: rows of erased subjects may remain")
    reasons = report.get("needs_review_reasons", {})
    tolerated = sum(int(reasons.get(reason, 0)) for reason in REVIEW_WARNINGS)
    failed = int(counts.get("failed", 0))
    used_up = int(counts.get("needs_review", 0)) - tolerated
    if failed:
        bad.append(f"{failed} subject(s) failed")
    if used_up > 0:
        bad.append(f"{used_up} subject(s) need review: erasure attempts used up")
    warnings = []
    if tolerated:
        warnings.append(f"{tolerated} subject(s) need review for data no request reaches")
    for state, text in (("erasure_pending", "erasure pending at Genesys"), ("overdue", "overdue at Genesys")):
        if counts.get(state):
            warnings.append(f"{counts[state]} subject(s) {text}; later runs check again")
    if bad:
        return Verdict("bad", "Not compliant: subjects were not erased as required", bad + warnings)
    if warnings:
        return Verdict("warn", "Compliant, with subjects still to watch", warnings)
    return Verdict("ok", "Compliant: no subject of this run failed", [])
