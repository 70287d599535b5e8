"""Reading ledger rows into `LedgerRow` values (subject row + its identifier hashes + its request history)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import Connection, select

from genesys_erasure.identifiers import IdentifierKind
from genesys_erasure.ledger.records import IdentifierHash, LedgerRow
from genesys_erasure.ledger.schema import identifier_hashes, requests, subjects
from genesys_erasure.ledger.states import SubjectSource, SubjectState

_CHUNK = 500


def load_rows(conn: Connection, *where, order_by: Sequence | None = None) -> list[LedgerRow]:
    query = select(subjects).where(*where).order_by(*(order_by or (subjects.c.subject_hash,)))
    rows = conn.execute(query).mappings().all()
    keys = [r["subject_hash"] for r in rows]
    hashes: dict[str, list[IdentifierHash]] = defaultdict(list)
    request_ids: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        for subject_hash, kind, identifier_hash in conn.execute(
            select(
                identifier_hashes.c.subject_hash,
                identifier_hashes.c.kind,
                identifier_hashes.c.identifier_hash,
            )
            .where(identifier_hashes.c.subject_hash.in_(chunk))
            .order_by(identifier_hashes.c.kind, identifier_hashes.c.identifier_hash)
        ):
            hashes[subject_hash].append(IdentifierHash(IdentifierKind(kind), identifier_hash))
        for subject_hash, request_id in conn.execute(
            select(requests.c.subject_hash, requests.c.request_id)
            .where(requests.c.subject_hash.in_(chunk))
            .order_by(requests.c.attempt, requests.c.recorded_at)
        ):
            request_ids[subject_hash].append(request_id)
    return [_to_row(r, tuple(hashes[r["subject_hash"]]), tuple(request_ids[r["subject_hash"]])) for r in rows]


def _to_row(r, hashes: tuple[IdentifierHash, ...], request_ids: tuple[str, ...]) -> LedgerRow:
    return LedgerRow(
        subject_hash=r["subject_hash"],
        state=SubjectState(r["state"]),
        previous_state=SubjectState(r["previous_state"]) if r["previous_state"] else None,
        source=SubjectSource(r["source"]),
        request_type=r["request_type"],
        request_ids=request_ids,
        last_request_id=r["last_request_id"],
        last_genesys_status=r["last_genesys_status"],
        attempts=r["attempts"],
        run_id=r["run_id"],
        first_seen_run_id=r["first_seen_run_id"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        submitting_at=r["submitting_at"],
        submitted_at=r["submitted_at"],
        completed_at=r["completed_at"],
        final_at=r["final_at"],
        reason=r["reason"],
        has_sealed_identifiers=r["sealed_identifiers"] is not None,
        identifier_set=tuple(r["identifier_set"] or ()),
        identifier_hashes=hashes,
        conversation_ids=tuple(r["conversation_ids"] or ()),
        verification=r["verification"],
        exemptions=tuple(r["exemptions"] or ()),
        ticket=r["ticket"],
        received_on=r["received_on"],
        due_date=r["due_date"],
        warehouse_rows=r["warehouse_rows"],
        warehouse_pending=bool(r["warehouse_pending"]),
    )
