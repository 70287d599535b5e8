"""What the evidence page shows, read from the signed documents in the report directory and from the
ledger: keyed hashes, ids, tickets, dates, states and counts only (the same material the reports hold).

Each document's summary (counts, verdict, signature check) is cached by path and modification time: a
night's report is read and checked once, not on every page view.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from genesys_erasure import signing
from genesys_erasure.deadlines import DeadlineEntry, requests_near_deadline
from genesys_erasure.evidence import SIGNATURE_ALGORITHM, load_document, verify_report
from genesys_erasure.ledger import FINAL_STATES, Ledger, LedgerRow
from genesys_erasure.verdict import report_verdict

REPORT_GLOB = "erasure-report-*.json"
CERTIFICATE_GLOB = "certificates/*/certificate-*.json"
# The only document paths the page serves (relative to the report directory): nothing else can be asked
# for, so a crafted path cannot read outside it.
DOCUMENT_PATH = re.compile(
    r"(erasure-report-[A-Za-z0-9_.-]+|certificates/[A-Za-z0-9_.-]+/certificate-[0-9a-f]{16})\.(json|html)"
)
FINAL = [s.value for s in sorted(FINAL_STATES)]
DEADLINE_DAYS = 30


@dataclass(frozen=True)
class SignatureCheck:
    valid: bool
    algorithm: str
    key_id: str
    note: str


@dataclass(frozen=True)
class RunSummary:
    path: str  # relative to the report directory
    run_id: str
    generated_at: str
    dry_run: bool
    counts: dict[str, int]
    total: int
    verdict_level: str
    verdict_title: str
    warehouse_status: str
    signature: SignatureCheck
    exemptions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class CertificateSummary:
    path: str
    ticket: str | None
    subject_hash: str
    issued_at: str
    within_deadline: bool | None
    signature: SignatureCheck


def check_signature(
    document: Mapping[str, Any], public_keys: Mapping[str, Any], hmac_key: Callable[[], bytes]
):
    algorithm = str(document.get("signature_algorithm") or "none")
    key = str(document.get("signature_key_id") or "")
    if algorithm == signing.ALGORITHM:
        if key not in public_keys:
            return SignatureCheck(False, algorithm, key, "signed by a key not published here")
        valid = verify_report(document, public_keys)
        return SignatureCheck(valid, algorithm, key, "valid" if valid else "INVALID")
    if algorithm == SIGNATURE_ALGORITHM:  # signed before Ed25519: only the HMAC key checks it
        valid = verify_report(document, hmac_key())
        return SignatureCheck(valid, algorithm, key, "valid (HMAC, before Ed25519)" if valid else "INVALID")
    return SignatureCheck(False, algorithm, key, "unsigned")


_CACHE: dict[tuple[Path, float, tuple[str, ...]], Any] = {}
_CACHE_SIZE = 8192


def _cached(path: Path, root: Path, build: Callable[[Path, Path], Any]) -> Any:
    """`build(path, root)`, once per file version and set of published keys (a newly published key must
    re-check documents cached as "signed by a key not published here")."""
    key = (path, path.stat().st_mtime, tuple(sorted(public_keys(root))))
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = build(path, root)
    return _CACHE[key]


def _run_summary(path: Path, root: Path, hmac_key: Callable[[], bytes]) -> RunSummary:
    document = load_document(path)
    verdict = report_verdict(document)
    return RunSummary(
        path=path.relative_to(root).as_posix(),
        run_id=str(document.get("run_id")),
        generated_at=str(document.get("generated_at", "")),
        dry_run=bool(document.get("dry_run")),
        counts={
            state: int(document.get("counts", {}).get(state, 0)) for state in [*FINAL, "erasure_pending"]
        },
        total=int(document.get("total_subjects", 0)),
        verdict_level=verdict.level,
        verdict_title=verdict.title,
        warehouse_status=str((document.get("warehouse") or {}).get("status", "—")),
        signature=check_signature(document, public_keys(root), hmac_key),
        exemptions=[
            {**e, "run_id": document.get("run_id")} for e in document.get("legal_hold_exemptions", [])
        ],
    )


def _certificate_summary(path: Path, root: Path, hmac_key: Callable[[], bytes]) -> CertificateSummary:
    document = load_document(path)
    return CertificateSummary(
        path=path.relative_to(root).as_posix(),
        ticket=document.get("ticket"),
        subject_hash=str(document.get("subject_hash")),
        issued_at=str(document.get("issued_at", "")),
        within_deadline=document.get("completed_within_deadline"),
        signature=check_signature(document, public_keys(root), hmac_key),
    )


def public_keys(report_dir: Path) -> dict[str, Any]:
    return signing.load_public_keys(report_dir) if report_dir.is_dir() else {}


def runs(report_dir: Path, hmac_key: Callable[[], bytes]) -> list[RunSummary]:
    """Every run report, newest first."""
    found = [
        _cached(p, report_dir, lambda path, root: _run_summary(path, root, hmac_key))
        for p in report_dir.glob(REPORT_GLOB)
    ]
    return sorted(found, key=lambda r: r.generated_at, reverse=True)


def certificates(report_dir: Path, hmac_key: Callable[[], bytes]) -> list[CertificateSummary]:
    found = [
        _cached(p, report_dir, lambda path, root: _certificate_summary(path, root, hmac_key))
        for p in report_dir.glob(CERTIFICATE_GLOB)
    ]
    return sorted(found, key=lambda c: c.issued_at, reverse=True)


def erasures_per_night(summaries: list[RunSummary], nights: int = 30) -> list[tuple[str, int]]:
    """Subjects verified erased per night (the report's date), over the last `nights` nights with a run;
    dry runs erased nothing and are left out."""
    per_night: Counter[str] = Counter()
    for run in summaries:
        if not run.dry_run:
            per_night[run.generated_at[:10]] += run.counts.get("verified", 0)
    return sorted(per_night.items())[-nights:]


@dataclass(frozen=True)
class LedgerView:
    by_state: dict[str, int]
    backlog: dict[str, int]  # subjects not in a final state, per state
    deadlines: list[DeadlineEntry]
    overdue: list[DeadlineEntry]

    @property
    def deadline_buckets(self) -> list[tuple[str, int]]:
        """Requests not yet verified by how soon they are due (the deadline chart)."""
        buckets = [("overdue", 0), ("due in 0-7 days", 0), ("8-14 days", 0), (f"15-{DEADLINE_DAYS} days", 0)]
        counts = dict(buckets)
        for entry in self.deadlines:
            days = entry.days_left if entry.days_left is not None else DEADLINE_DAYS
            label = next(
                label
                for label, fits in zip(counts, (days < 0, days <= 7, days <= 14, True), strict=True)
                if fits
            )
            counts[label] += 1
        return list(counts.items())


def ledger_view(ledger_url: str, today: date) -> LedgerView:
    with Ledger.open(ledger_url) as ledger:
        by_state = ledger.count_by_state()
        rows = ledger.due_soon(datetime.combine(today, datetime.min.time(), UTC), DEADLINE_DAYS)
    deadlines = [e for e in requests_near_deadline(rows, today, DEADLINE_DAYS) if e.due_date is not None]
    return LedgerView(
        by_state=dict(sorted(by_state.items())),
        backlog={s: n for s, n in sorted(by_state.items()) if s not in FINAL and n},
        deadlines=deadlines,
        overdue=[e for e in deadlines if e.overdue],
    )


def subject_history(ledger_url: str, identifier_hash: str) -> list[LedgerRow]:
    with Ledger.open(ledger_url) as ledger:
        return ledger.lookup_identifier_hash(identifier_hash)


def document_path(report_dir: Path, relative: str) -> Path | None:
    """The file a page link names, or None unless it is a report or certificate inside `report_dir`."""
    if not DOCUMENT_PATH.fullmatch(relative) or ".." in relative.split("/"):
        return None
    path = report_dir / relative
    return path if path.is_file() else None
