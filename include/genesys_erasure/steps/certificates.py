"""Step 10 of the ad-hoc erasure: a signed certificate (JSON + HTML) per erased subject of a ticket,
verifiable like the run report (`python -m genesys_erasure.evidence verify FILE --public-key
REPORT_DIR/signing-public-key.pem`).

Which subject an input identifier ended up in is read back from the ledger by its keyed hash, so a
subject the nightly purge (or an earlier request) had already erased gets a certificate pointing to that
erasure, without a second request at Genesys.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from genesys_erasure.dsr import DsrRequest, build_dsr_certificate
from genesys_erasure.evidence import publish_verifying_key, sign_document, write_document
from genesys_erasure.intake_files import intake_dir, wipe
from genesys_erasure.ledger import FINAL_STATES, LedgerRow, SubjectState
from genesys_erasure.steps.plan import request_satisfied_by
from genesys_erasure.steps.runtime import ErasureRuntime, project_home
from genesys_erasure.templates import render

log = logging.getLogger(__name__)

GENESYS = "Genesys Cloud (conversations, recordings, external contacts)"
# Final in the ledger, or never planned (nothing to wait for).
_FINAL = {state.value for state in FINAL_STATES} | {"not_planned"}


def certificate_dir(runtime: ErasureRuntime, ticket: str) -> Path:
    return runtime.report_dir() / "certificates" / re.sub(r"[^A-Za-z0-9_.-]+", "_", ticket)


def _systems(row: LedgerRow) -> list[str]:
    return [GENESYS, *(["Data warehouses (mapped tables)"] if row.warehouse_rows else [])]


def certificate_html(certificate: Mapping[str, Any]) -> str:
    """The standard certificate page with a section on which erasure it rests on."""
    return render("dsr_certificate.html.j2", certificate=certificate)


def _state_name(row: LedgerRow) -> str:
    """The row's state, saying which request type verified it: `verified` alone would read as erased."""
    if row.state is SubjectState.VERIFIED:
        return f"{row.state.value}:{row.request_type}"
    return row.state.value


def issue_for_ticket(
    runtime: ErasureRuntime,
    run_id: str,
    request: DsrRequest,
    input_hashes: Sequence[Mapping[str, str]],
    now: datetime,
    subjects_file: str | None = None,
) -> dict[str, Any]:
    verified: dict[str, tuple[LedgerRow, list[Mapping[str, str]]]] = {}
    not_erased: list[dict[str, Any]] = []
    ledger = runtime.ledger
    for entry in input_hashes:
        rows = ledger.lookup_identifier_hash(entry["hash"])
        # a pseudonymisation (GDPR_UPDATE) is no erasure: it never certifies a delete request
        done = [
            r
            for r in rows
            if r.state is SubjectState.VERIFIED and request_satisfied_by(r.request_type, request.request_type)
        ]
        if not done:
            states = sorted({_state_name(r) for r in rows}) or ["not_planned"]
            not_erased.append({"kind": entry["kind"], "hash": entry["hash"], "states": states})
            continue
        row = max(done, key=lambda r: r.final_at or r.updated_at)
        verified.setdefault(row.subject_hash, (row, []))[1].append(entry)
    result: dict[str, Any] = {
        "ticket": request.ticket,
        "certificates": [],
        "erased_earlier": 0,
        "identifiers_not_erased": not_erased,
    }
    if runtime.config.dry_run:
        result["would_issue"] = len(verified)
        log.info("Dry run: %d certificate(s) would be issued; none written", len(verified))
        return result
    directory = certificate_dir(runtime, request.ticket)
    for subject_hash, (row, hashes) in sorted(verified.items()):
        document = build_dsr_certificate(
            row,
            request,
            run_id=run_id,
            input_identifier_hashes=hashes,
            systems_covered=_systems(row),
            issued_at=now,
        )
        signed = sign_document(document, runtime.signing_key)
        path = write_document(signed, directory / f"certificate-{subject_hash[:16]}.json", html=False)
        path.with_suffix(".html").write_text(certificate_html(signed), encoding="utf-8")
        publish_verifying_key(runtime.report_dir(), runtime.signing_key)
        earlier = signed["erasure"]["erased_before_this_request"]
        result["erased_earlier"] += int(earlier)
        result["certificates"].append(
            {
                "subject_hash": subject_hash,
                "json": str(path),
                "erased_earlier_by_run": row.run_id if earlier else None,
            }
        )
    # The sealed list the intake page wrote goes once no subject of the ticket still awaits its erasure:
    # a pending or deferred one is certified by a later run of the ticket, which reads the list again. (A
    # dry run returned above: it keeps the list for the real run.)
    waiting = [e for e in not_erased if any(s.split(":")[0] not in _FINAL for s in e["states"])]
    home = runtime.home or project_home()
    result["intake_file_wiped"] = not waiting and wipe(
        subjects_file, intake_dir(runtime.config.intake_dir, home)
    )
    log.info(
        "Certificates for ticket %s: %d written to %s (%d rest on an earlier erasure); %d identifier(s) "
        "not erased",
        request.ticket,
        len(result["certificates"]),
        directory,
        result["erased_earlier"],
        len(not_erased),
    )
    if result["intake_file_wiped"]:
        log.info("The sealed subject list of ticket %s was overwritten and deleted", request.ticket)
    elif waiting:
        log.info(
            "%d identifier(s) still await erasure: a later run of the ticket certifies them", len(waiting)
        )
    return result
