"""Evidence of erasure: the signed run report and the per-subject erasure certificate (JSON + HTML).

Documents hold keyed hashes, ids, states, dates and counts only; they are built from `LedgerRow`s, which
cannot carry a raw identifier. Each is signed over its canonical JSON (sorted keys, no whitespace, UTF-8)
with the `signature` field left out of the signed bytes; `signature_algorithm`, `signature_key_id` and
(Ed25519) `signature_public_key` are signed along with the content.

- Ed25519 (`genesys_erasure.signing`): the key id is the first 16 hex of SHA-256 of the raw public key.
  Anyone with the published public key can check a document; nobody without the private key can make one.
- HMAC-SHA256 (documents written before Ed25519, and callers that still hand in bytes): the key id is the
  first 8 hex of SHA-256 of the key, never the key. Checking one needs the secret HMAC key.

A verifier trusts the public key it is GIVEN, never the one a document carries (anyone can embed theirs).

CLI (exit 0 valid, 1 invalid, 2 usage):
    python -m genesys_erasure.evidence verify REPORT.json --public-key var/reports/signing-public-key.pem
    python -m genesys_erasure.evidence verify REPORT.json --public-key var/reports/   # any published key
    python -m genesys_erasure.evidence verify OLD-REPORT.json --key-env GENESYS_ERASURE_HMAC_KEY
    python -m genesys_erasure.evidence render REPORT.json [-o REPORT.html]
The HMAC key variable holds the key as `base64:<…>`, `hex:<…>` or plain text (its UTF-8 bytes).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from genesys_erasure import signing
from genesys_erasure.ledger import FINAL_STATES, LedgerRow, SkippedSubject, SubjectState
from genesys_erasure.residual_data import RESIDUAL_DATA_DISCLOSURE
from genesys_erasure.signing import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_ALGORITHM = "HMAC-SHA256"  # the legacy algorithm; new documents are signed Ed25519
RUN_REPORT = "genesys_erasure_run_report"
CERTIFICATE = "genesys_erasure_certificate"
SCHEMA_VERSION = 1
_SECRET_KEY = re.compile(r"pass|secret|token|key|credential|auth|private|cookie|dsn", re.IGNORECASE)
_SIGNATURE_FIELDS = ("signature", "signature_algorithm", "signature_key_id", "signature_public_key")
# What signs: the Ed25519 private key, or (legacy) the HMAC key's bytes. What verifies: the public key
# (or a set of them by key id), or the HMAC key's bytes.
SigningKey = Ed25519PrivateKey | bytes
VerifyingKey = Ed25519PublicKey | Ed25519PrivateKey | Mapping[str, Ed25519PublicKey] | bytes


# ---- signing ----------------------------------------------------------------------------------------


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def canonical_json(document: Mapping[str, Any]) -> bytes:
    """The signed bytes: the document without `signature`, sorted keys, no whitespace, UTF-8."""
    unsigned = {k: v for k, v in document.items() if k != "signature"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_document(document: Mapping[str, Any], key: SigningKey) -> dict[str, Any]:
    """A copy of `document` with the signature fields set: Ed25519 for a private key, HMAC-SHA256 for
    bytes (kept for callers and tests of the legacy format)."""
    signed = {k: v for k, v in document.items() if k not in _SIGNATURE_FIELDS}
    if isinstance(key, Ed25519PrivateKey):
        public = key.public_key()
        signed["signature_algorithm"] = signing.ALGORITHM
        signed["signature_key_id"] = signing.public_key_id(public)
        # informative only (a verifier uses the key it trusts): lets a reader see which key to fetch
        signed["signature_public_key"] = signing.public_key_pem(public)
        signed["signature"] = signing.sign(key, canonical_json(signed))
        return signed
    if len(key) < 16:
        raise ValueError("key: the signing key must be at least 16 bytes long")
    signed["signature_algorithm"] = SIGNATURE_ALGORITHM
    signed["signature_key_id"] = key_id(key)
    signed["signature"] = hmac.new(key, canonical_json(signed), hashlib.sha256).hexdigest()
    return signed


def verify_report(path_or_dict: str | os.PathLike | Mapping[str, Any], key: VerifyingKey) -> bool:
    """True only if the document carries a valid signature by `key`: an Ed25519 public key (or a mapping
    of them by key id, the published archive), or the HMAC key's bytes for a legacy document."""
    try:
        document = path_or_dict if isinstance(path_or_dict, Mapping) else load_document(path_or_dict)
    except (OSError, ValueError):
        return False
    signature = document.get("signature")
    if not isinstance(signature, str):
        return False
    if isinstance(key, bytes):
        if document.get("signature_algorithm") != SIGNATURE_ALGORITHM:
            return False
        if document.get("signature_key_id") != key_id(key):
            return False
        expected = hmac.new(key, canonical_json(document), hashlib.sha256).hexdigest()
        return hmac.compare_digest(signature, expected)
    if document.get("signature_algorithm") != signing.ALGORITHM:
        return False
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    public = key.get(str(document.get("signature_key_id"))) if isinstance(key, Mapping) else key
    if public is None or document.get("signature_key_id") != signing.public_key_id(public):
        return False
    return signing.verify(public, signature, canonical_json(document))


verify_document = verify_report


def key_from_text(text: str) -> bytes:
    """Decode a key given as text (environment variable, connection field): `base64:…`, `hex:…`, or the
    text's own UTF-8 bytes."""
    text = text.strip()
    try:
        if text.startswith("base64:"):
            return base64.b64decode(text[7:], validate=True)
        if text.startswith("hex:"):
            return bytes.fromhex(text[4:])
    except (binascii.Error, ValueError) as exc:
        raise ValueError("key: not valid base64/hex") from exc
    return text.encode("utf-8")


# ---- documents --------------------------------------------------------------------------------------


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def redact_parameters(parameters: Any) -> Any:
    """Configuration for the report: values under secret-looking keys become "<redacted>"."""
    if isinstance(parameters, Mapping):
        return {
            str(k): "<redacted>" if _SECRET_KEY.search(str(k)) else redact_parameters(v)
            for k, v in parameters.items()
        }
    if isinstance(parameters, list | tuple | set | frozenset):
        return [redact_parameters(v) for v in parameters]
    if parameters is None or isinstance(parameters, bool | int | str):
        return parameters
    if isinstance(parameters, float):
        return str(parameters)  # floats make canonical JSON ambiguous across languages
    if isinstance(parameters, date | datetime):
        return parameters.isoformat()
    return str(parameters)


def subject_entry(row: LedgerRow) -> dict[str, Any]:
    return {
        "subject_hash": row.subject_hash,
        "state": row.state.value,
        "source": row.source.value,
        "request_type": row.request_type,
        "request_ids": list(row.request_ids),
        "last_genesys_status": row.last_genesys_status,
        "attempts": row.attempts,
        "first_seen_run_id": row.first_seen_run_id,
        "run_id": row.run_id,
        "ticket": row.ticket,
        "received_on": _iso(row.received_on),
        "due_date": _iso(row.due_date),
        "timestamps": {
            "created_at": _iso(row.created_at),
            "submitted_at": _iso(row.submitted_at),
            "completed_at": _iso(row.completed_at),
            "final_at": _iso(row.final_at),
        },
        "reason": row.reason,
        "identifier_hashes": [
            {"kind": h.kind.value, "hash": h.identifier_hash} for h in row.identifier_hashes
        ],
        "conversation_count": len(row.conversation_ids),
        "verification": dict(row.verification) if row.verification else None,
        "exemptions": [dict(e) for e in row.exemptions],
        "warehouse_pending": row.warehouse_pending,
        "warehouse_rows": dict(row.warehouse_rows) if row.warehouse_rows else None,
    }


def build_run_report(
    *,
    run_id: str,
    rows: Iterable[LedgerRow],
    parameters: Mapping[str, Any],
    generated_at: datetime,
    skipped_already_erased: Iterable[SkippedSubject] = (),
    dry_run: bool = False,
    awaiting_review: Iterable[LedgerRow] = (),
) -> dict[str, Any]:
    """The (unsigned) run report: sign it with `sign_document`. `awaiting_review`: every `needs_review`
    subject in the ledger (from any run), listed until a person has dealt with it."""
    rows = sorted(rows, key=lambda r: r.subject_hash)
    review = {r.subject_hash: r for r in [*awaiting_review, *rows] if r.state is SubjectState.NEEDS_REVIEW}
    counts = {state.value: 0 for state in SubjectState}
    for row in rows:
        counts[row.state.value] += 1
    holds = [{"subject_hash": row.subject_hash, **dict(e)} for row in rows for e in row.exemptions]
    return {
        "document_type": RUN_REPORT,
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "dry_run": dry_run,
        "generated_at": generated_at.isoformat(),
        "parameters": redact_parameters(parameters),
        "counts": counts,
        "final_states": sorted(s.value for s in FINAL_STATES),
        "total_subjects": len(rows),
        "subjects": [subject_entry(row) for row in rows],
        "skipped_already_erased": [
            {
                "subject_hash": s.subject_hash,
                "erased_by_run_id": s.erased_by_run_id,
                "completed_at": _iso(s.completed_at),
                "verified_at": _iso(s.verified_at),
            }
            for s in sorted(skipped_already_erased, key=lambda s: s.subject_hash)
        ],
        "legal_hold_exemptions": holds,
        # a delete Genesys accepted but that has not shown yet: re-checked by later runs
        "erasure_pending": [
            {
                "subject_hash": row.subject_hash,
                "reason": row.reason,
                "completed_at": _iso(row.completed_at),
                "pending": list((row.verification or {}).get("pending", [])),
            }
            for row in rows
            if row.state is SubjectState.ERASURE_PENDING
        ],
        # participant attributes: conversations read, and those NOT verified per reason (counts only)
        "participant_attributes": _attribute_summary(rows),
        # this run's subjects left for a person, counted by reason (codes only; the subjects are listed
        # under `needs_review`)
        "needs_review_reasons": dict(
            sorted(
                Counter(row.reason or "" for row in rows if row.state is SubjectState.NEEDS_REVIEW).items()
            )
        ),
        # erasure attempts used up, or data left that only a person may decide about (a header shared
        # with a person not erased, attributes no re-submission reaches): never submitted again until a
        # person decides
        "needs_review": [
            {
                "subject_hash": row.subject_hash,
                "reason": row.reason,
                "attempts": row.attempts,
                "run_id": row.run_id,
                "final_at": _iso(row.final_at),
            }
            for _, row in sorted(review.items())
        ],
        "warehouse": {
            "status": "not_run",
            "note": (
                "Filled in by the warehouse step: rows affected per table, and the date after which the "
                "deleted rows are unrecoverable (end of time travel and fail-safe)."
            ),
            "tables": [],
        },
        "residual_data_disclosure": [dict(item) for item in RESIDUAL_DATA_DISCLOSURE],
    }


def _attribute_summary(rows: Iterable[LedgerRow]) -> dict[str, Any]:
    """Over the run's subjects: conversations whose participant attributes were read, those not read because
    the scan saw none in them before the erasure, and per reason the
    conversations and subjects whose attributes were not (from each subject's verification)."""
    checked = absent = 0
    conversations: Counter[str] = Counter()
    subjects: Counter[str] = Counter()
    for row in rows:
        attributes = (row.verification or {}).get("participant_attributes") or {}
        checked += int(attributes.get("conversations_checked", 0))
        absent += int(attributes.get("absent_when_planned", 0))
        for reason, count in (attributes.get("not_verified") or {}).items():
            conversations[reason] += int(count)
            subjects[reason] += 1
    return {
        "conversations_checked": checked,
        # not read: the scan saw no participant attributes in them before the erasure (a delete adds none)
        "absent_when_planned": absent,
        "not_verified": [
            {"reason": reason, "conversations": conversations[reason], "subjects": subjects[reason]}
            for reason in sorted(conversations)
        ],
    }


def attach_warehouse_results(
    report: Mapping[str, Any], tables: Sequence[Mapping[str, Any]], key: SigningKey, *, status: str = "done"
) -> dict[str, Any]:
    """Fill the warehouse section (one entry per table: `system`, `table`, `rows_affected`,
    `unrecoverable_after`) and sign again. The old signature must verify first."""
    if not verify_report(report, key):
        raise ValueError("report: signature does not verify; refusing to extend it")
    entries = []
    for index, table in enumerate(tables):
        missing = {"system", "table", "rows_affected", "unrecoverable_after"} - set(table)
        if missing:
            raise ValueError(f"tables[{index}]: missing {', '.join(sorted(missing))}")
        entries.append(redact_parameters(dict(table)))
    updated = dict(report)
    updated["warehouse"] = {**report["warehouse"], "status": status, "tables": entries}
    return sign_document(updated, key)


def build_certificate(
    row: LedgerRow,
    *,
    systems_covered: Sequence[str],
    issued_at: datetime,
    issuer: str | None = None,
) -> dict[str, Any]:
    """The (unsigned) erasure certificate of one verified subject, for a data-subject request."""
    if row.state != SubjectState.VERIFIED:
        raise ValueError(f"row: subject {row.subject_hash[:16]}… is {row.state.value}, not verified")
    if not systems_covered:
        raise ValueError("systems_covered: name at least one system")
    completed_on_time = (
        row.final_at.date() <= row.due_date if row.due_date is not None and row.final_at is not None else None
    )
    return {
        "document_type": CERTIFICATE,
        "schema_version": SCHEMA_VERSION,
        "issued_at": issued_at.isoformat(),
        "issuer": issuer,
        "subject_hash": row.subject_hash,
        "ticket": row.ticket,
        "received_on": _iso(row.received_on),
        "due_date": _iso(row.due_date),
        "completed_within_deadline": completed_on_time,
        "systems_covered": list(systems_covered),
        "request_type": row.request_type,
        "request_ids": list(row.request_ids),
        "dates": {
            "first_planned_at": _iso(row.created_at),
            "submitted_at": _iso(row.submitted_at),
            "completed_at": _iso(row.completed_at),
            "verified_at": _iso(row.final_at),
        },
        "verification": dict(row.verification) if row.verification else None,
        "exemptions": [dict(e) for e in row.exemptions],
        "warehouse_rows": dict(row.warehouse_rows) if row.warehouse_rows else None,
        "residual_data_disclosure": [dict(item) for item in RESIDUAL_DATA_DISCLOSURE],
    }


def summary_table(report: Mapping[str, Any]) -> str:
    """Fixed-width counts per state, for the task log (no hashes, no ids)."""
    counts: Mapping[str, int] = report["counts"]
    width = max(len("state"), *(len(s) for s in counts))
    lines = [f"{'state':<{width}}  {'subjects':>8}", f"{'-' * width}  {'-' * 8}"]
    lines += [f"{state:<{width}}  {count:>8}" for state, count in counts.items()]
    lines += [f"{'-' * width}  {'-' * 8}", f"{'total':<{width}}  {sum(counts.values()):>8}"]
    return "\n".join(lines)


# ---- files ------------------------------------------------------------------------------------------


def load_document(path: str | os.PathLike) -> dict[str, Any]:
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError("document: expected a JSON object")
    return document


def write_document(document: Mapping[str, Any], json_path: str | os.PathLike, *, html: bool = True) -> Path:
    """Write the JSON (and, by default, the HTML rendering beside it, same name `.html`)."""
    from genesys_erasure.report_html import render_html

    path = Path(json_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(document, sort_keys=True, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    if html:
        path.with_suffix(".html").write_text(render_html(document), encoding="utf-8")
    return path


def publish_verifying_key(directory: str | os.PathLike, key: SigningKey) -> Path | None:
    """Put the public key of an Ed25519 signing key next to the documents it signs (see
    `signing.publish_public_key`); an HMAC key has no public half and is never written."""
    if isinstance(key, Ed25519PrivateKey):
        return signing.publish_public_key(directory, key)
    return None


# ---- CLI --------------------------------------------------------------------------------------------


def _trusted_key(args: argparse.Namespace) -> VerifyingKey:
    if args.public_key is not None:
        keys = signing.load_public_keys(args.public_key)
        if not keys:
            raise ValueError(f"--public-key: no *.pem public key in {args.public_key}")
        return keys
    key_text = os.environ.get(args.key_env)
    if not key_text:
        raise ValueError(f"environment variable {args.key_env} is not set")
    return key_from_text(key_text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m genesys_erasure.evidence", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="check a report's or certificate's signature")
    verify.add_argument("document", type=Path)
    trusted = verify.add_mutually_exclusive_group(required=True)
    trusted.add_argument(
        "--public-key",
        type=Path,
        help="the published Ed25519 public key (PEM), or a directory of them (a report directory)",
    )
    trusted.add_argument(
        "--key-env", help="documents signed HMAC-SHA256 (before Ed25519): the variable holding the HMAC key"
    )
    render = commands.add_parser("render", help="render a report or certificate JSON as HTML")
    render.add_argument("document", type=Path)
    render.add_argument("-o", "--output", type=Path, help="default: the JSON path with .html")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not args.document.is_file():
        print(f"error: {args.document} is not a file", file=sys.stderr)
        return 2
    if args.command == "verify":
        try:
            key = _trusted_key(args)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        valid = verify_report(args.document, key)
        print(f"{args.document}: signature {'VALID' if valid else 'INVALID'}")
        return 0 if valid else 1
    from genesys_erasure.report_html import render_html

    try:
        document = load_document(args.document)
    except ValueError as exc:
        print(f"error: {args.document} is not a JSON document ({type(exc).__name__})", file=sys.stderr)
        return 2
    try:
        page = render_html(document)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    output = args.output or args.document.with_suffix(".html")
    output.write_text(page, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
