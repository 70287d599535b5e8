"""Step 8b: erase the verified subjects' copies in the mapped warehouses (Snowflake, BigQuery).

    mapping ─► open every connection ─► check ALL of them (names vs information schema)
            ─► one set-based erase per connection (one DML per table) ─► record in the ledger

Subjects: every verified ledger row still `warehouse_pending`, of this run and of earlier ones (a table
whose rows sat in BigQuery's streaming buffer, a run that failed here). Their sealed identifiers are
opened only in memory and wiped by `record_warehouse_result` once every table verified.

Nothing fails the task for a finding: a bad mapping or rows left behind end up in the result's `status`,
the evidence is written with it, and `reporting.check_compliance` fails the run. Errors that a retry can
fix (a dropped connection) raise; each table's statement is all-or-nothing, and connections finished by
an earlier attempt of the same run, for the same subjects, are not erased again (their numbers are kept
in the run workspace, so the evidence still shows the rows they removed).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from genesys_erasure.ledger import LedgerRow
from genesys_erasure.steps.runtime import ErasureRuntime, project_home
from genesys_erasure.warehouse import (
    ConnectionMapping,
    ErasureSubjects,
    MappingError,
    TableErasureResult,
    WarehouseMapping,
    check_connection,
    erase_connection,
    load_mapping,
)
from genesys_erasure.workspace import WorkspaceError

log = logging.getLogger(__name__)

DONE = "done"  # every mapped table verified: zero rows of erased subjects remain
NO_SUBJECTS = "no_subjects"  # mapping checked, nobody to erase
DRY_RUN = "dry_run"  # mapping checked, nothing deleted
MAPPING_INVALID = "mapping_invalid"  # rejected before any statement
UNVERIFIED = "unverified"  # rows of erased subjects remain (or wait in a streaming buffer)
FAILING_STATUSES = frozenset({MAPPING_INVALID, UNVERIFIED})


def mapping_path(runtime: ErasureRuntime) -> Path:
    path = Path(runtime.config.warehouse_mapping_path or "")
    return path if path.is_absolute() else project_home() / path


def clean_warehouses_for_run(
    runtime: ErasureRuntime,
    run_id: str,
    *,
    open_handle: Callable[[ConnectionMapping], Any] | None = None,
    clock: Callable[[], datetime] | None = None,
) -> dict[str, Any]:
    """Erase every pending verified subject from every mapped table. JSON-able result (counts, names and
    dates only): `status`, `verified`, `tables` (per table `TableErasureResult.to_dict()` + `system`),
    `subjects`. `open_handle` (a context-manager factory) defaults to `open_warehouse`."""
    try:
        mapping = load_mapping(mapping_path(runtime))
    except MappingError as problem:
        return _mapping_invalid(problem)
    if open_handle is None:
        from genesys_erasure.tasks.warehouse_connections import open_warehouse as open_handle
    ledger = runtime.ledger
    rows = ledger.warehouse_pending_verified()
    subjects = _subjects_of(runtime, ledger, rows)
    with ExitStack() as stack:
        handles = {c.name: stack.enter_context(open_handle(c)) for c in mapping.connections}
        try:
            for conn in mapping.connections:
                tables = check_connection(handles[conn.name], conn)
                log.info("Mapping checked: %s (%s), %d table(s)", conn.name, conn.kind.value, len(tables))
        except MappingError as problem:
            return _mapping_invalid(problem)
        if runtime.config.dry_run or not rows:
            status = DRY_RUN if runtime.config.dry_run else NO_SUBJECTS
            log.info("Warehouse step: %s (%d pending subject(s)); nothing deleted", status, len(rows))
            return {"status": status, "verified": True, "subjects": len(rows), "tables": []}
        log.info(
            "Erasing %d subject(s) (%d identifiers, %d conversation ids) from %d connection(s)",
            len(rows),
            len(subjects.identifiers),
            len(subjects.conversation_ids),
            len(mapping.connections),
        )
        tables = _erase_all(runtime, run_id, mapping, handles, subjects, rows, clock)
    verified = all(t["verified"] for t in tables)
    log.info("Warehouse summary\n%s", summary_table(tables))
    if verified:
        _record(runtime, rows, run_id, tables)
        log.info("Warehouse step done: %d subject(s) recorded, sealed identifiers wiped", len(rows))
    else:
        # Which subject the remaining rows belong to is unknown (the statements are set-based): every
        # subject stays pending, keeps its sealed identifiers, and the next run erases the set again.
        log.error("Rows of erased subjects remain; %d subject(s) stay pending for the next run", len(rows))
    return {"status": DONE if verified else UNVERIFIED, "verified": verified, "subjects": len(rows),
            "tables": tables}  # fmt: skip


def _subjects_of(runtime: ErasureRuntime, ledger, rows: Sequence[LedgerRow]) -> ErasureSubjects:
    identifiers, conversation_ids = set(), {}
    for row in rows:
        token = ledger.sealed_identifiers(row.subject_hash)
        if token is None:
            log.warning("Subject %s… has no sealed identifiers; only its conversations are matched",
                        row.subject_hash[:16])  # fmt: skip
        else:
            identifiers.update(runtime.sealer.unseal(token))
        conversation_ids.update(dict.fromkeys(row.conversation_ids))
    return ErasureSubjects(tuple(sorted(identifiers)), tuple(conversation_ids))


def _erase_all(runtime, run_id, mapping: WarehouseMapping, handles, subjects, rows, clock) -> list[dict]:
    fingerprint = hashlib.sha256("\n".join(r.subject_hash for r in rows).encode()).hexdigest()
    workspace = runtime.workspace()
    tables: list[dict[str, Any]] = []
    for conn in mapping.connections:
        key = f"warehouse-results:{conn.name}"
        try:
            earlier = workspace.get(run_id, key)
        except WorkspaceError:
            earlier = None
        if earlier and earlier["subjects"] == fingerprint:
            log.info("%s: already erased by an earlier attempt of this run; its results are kept", conn.name)
            tables.extend(earlier["tables"])
            continue
        kwargs = {"clock": clock} if clock is not None else {}
        results = erase_connection(handles[conn.name], conn, subjects, runtime.hasher, **kwargs)
        done = [_table_entry(conn, r) for r in results]
        workspace.put(run_id, key, {"subjects": fingerprint, "tables": done})
        log.info("%s: %d table(s) erased, %d row(s) affected", conn.name, len(done),
                 sum(r.rows_affected for r in results))  # fmt: skip
        tables.extend(done)
    return tables


def _table_entry(conn: ConnectionMapping, result: TableErasureResult) -> dict[str, Any]:
    return {"system": conn.kind.value, **result.to_dict()}


def _record(runtime: ErasureRuntime, rows: Sequence[LedgerRow], run_id: str, tables: list[dict]) -> None:
    """Per subject: the run's per-table numbers (the statements are set-based, so `rows_affected_in_run`
    counts every subject of the run together)."""
    result = {
        "run_id": run_id,
        "erased_at": datetime.now(UTC).isoformat(),
        "tables": [
            {
                "system": t["system"],
                "connection": t["connection"],
                "table": t["table"],
                "action": t["action"],
                "rows_affected_in_run": t["rows_affected"],
                "unrecoverable_after": t["unrecoverable_after"],
            }
            for t in tables
        ],
    }
    ledger = runtime.ledger
    for row in rows:
        ledger.record_warehouse_result(row.subject_hash, result)


def _mapping_invalid(problem: MappingError) -> dict[str, Any]:
    # The message names file, connection, table and column only: safe for logs and the evidence.
    log.error("Warehouse mapping rejected before any statement: %s", problem)
    return {"status": MAPPING_INVALID, "verified": False, "error": str(problem), "tables": []}


def summary_table(tables: Sequence[dict[str, Any]]) -> str:
    """Fixed-width per-table counts for the task log (names, counts and dates only)."""
    header = ("system", "table", "action", "before", "affected", "remaining", "unrecoverable after", "ok")
    lines = [header]
    for t in tables:
        remaining = str(t["rows_remaining"]) + (
            " (streaming buffer)" if t["pending_streaming_buffer"] else ""
        )
        lines.append(
            (
                t["system"],
                t["table"],
                t["action"],
                str(t["rows_matched_before"]),
                str(t["rows_affected"]),
                remaining,
                t["unrecoverable_after"][:10],
                "yes" if t["verified"] else "NO",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines)
