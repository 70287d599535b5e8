"""The SQL building blocks of the erasure ledger, each used inside one transaction of `Ledger`:
input checks, engine set-up, the portable insert-or-ignore, and the conditional state update that is the
ledger's concurrency guard.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, case, create_engine, event, insert, select, true, update
from sqlalchemy.engine import URL, make_url

from genesys_erasure.ledger.records import SubjectPlan
from genesys_erasure.ledger.schema import identifier_hashes, requests, subjects
from genesys_erasure.ledger.states import (
    FINAL_STATES,
    RETRY_STATES,
    ConcurrentUpdate,
    LedgerError,
    SubjectState,
    UnknownSubject,
    check_transition,
)

S = SubjectState
_EMAIL_LIKE = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_PHONE_LIKE = re.compile(r"\+\s*\d[\d\s().-]{6,}")


def check_reason(reason: str) -> str:
    """Reasons land in reports: refuse text that looks like it carries an e-mail or phone number."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("reason: expected a non-empty string")
    if len(reason) > 1000:
        raise ValueError("reason: longer than 1000 characters")
    if _EMAIL_LIKE.search(reason) or _PHONE_LIKE.search(reason):
        raise ValueError("reason: looks like it contains an e-mail address or phone number; use codes")
    return reason


def check_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise ValueError(f"{what}: expected a non-empty id of at most 64 characters")
    return value


def check_run_id(run_id: object) -> str:
    if not isinstance(run_id, str) or not run_id.strip() or len(run_id) > 250:
        raise ValueError("run_id: expected a non-empty id of at most 250 characters")
    return run_id


def json_ready(value: Any, what: str) -> Any:
    try:
        return json.loads(json.dumps(value, sort_keys=True))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: not JSON-serialisable ({type(exc).__name__})") from None


def wipe_unless_warehouse_pending():
    return case((subjects.c.warehouse_pending == true(), subjects.c.sealed_identifiers), else_=None)


def create_ledger_engine(url: str | URL) -> Engine:
    url = make_url(url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return prepare_engine(create_engine(url, connect_args={"timeout": 30}))


def prepare_engine(engine: Engine) -> Engine:
    """SQLite only (idempotent): BEGIN IMMEDIATE for every transaction, `secure_delete` and foreign keys
    on every connection. Applies to connections opened from now on."""
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _sqlite_on_connect):
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # pysqlite must not BEGIN on its own: _sqlite_on_begin does
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_on_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def insert_ignore(conn: Connection, table, values: Mapping[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING (SQLite and PostgreSQL); True when a row was inserted."""
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        module = __import__(f"sqlalchemy.dialects.{dialect}", fromlist=["insert"])
        statement = module.insert(table).values(**values).on_conflict_do_nothing()
        # RETURNING, not rowcount: psycopg 3 reports rowcount -1 for this statement (psycopg2 says 1)
        return conn.execute(statement.returning(*table.primary_key.columns)).first() is not None
    keys = [c for c in table.primary_key.columns]
    if conn.execute(select(*keys).where(*[c == values[c.name] for c in keys])).first():
        return False
    conn.execute(insert(table).values(**values))
    return True


def new_row(plan: SubjectPlan, run_id: str, dry_run: bool, now: datetime) -> dict[str, Any]:
    return {
        "subject_hash": plan.subject_hash,
        "state": (S.DRY_RUN if dry_run else S.PLANNED).value,
        "source": plan.source.value,
        "request_type": plan.request_type,
        "attempts": 0,
        "run_id": run_id,
        "first_seen_run_id": run_id,
        "created_at": now,
        "updated_at": now,
        "sealed_identifiers": None if dry_run else plan.sealed_identifiers,
        "identifier_set": sorted(h.identifier_hash for h in plan.identifier_hashes),
        "conversation_ids": list(plan.conversation_ids),
        "exemptions": [],
        "ticket": plan.ticket,
        "received_on": plan.received_on,
        "due_date": plan.due_date,
        "warehouse_pending": plan.warehouse_pending and not dry_run,
    }


def add_identifier_hashes(conn: Connection, plan: SubjectPlan, now: datetime) -> None:
    for h in plan.identifier_hashes:
        insert_ignore(
            conn,
            identifier_hashes,
            {
                "identifier_hash": h.identifier_hash,
                "subject_hash": plan.subject_hash,
                "kind": h.kind.value,
                "first_seen_at": now,
            },
        )


def select_locked(conn: Connection, subject_hash: str):
    row = (
        conn.execute(select(subjects).where(subjects.c.subject_hash == subject_hash).with_for_update())
        .mappings()
        .first()
    )
    if row is None:
        raise UnknownSubject(subject_hash)
    return row


def conditional_update(conn: Connection, row, values: Mapping[str, Any]) -> None:
    """Conditional on the state we read: a concurrent change makes rowcount 0 and raises."""
    result = conn.execute(
        update(subjects)
        .where(subjects.c.subject_hash == row["subject_hash"], subjects.c.state == row["state"])
        .values(**values)
    )
    if result.rowcount != 1:
        raise ConcurrentUpdate(f"subject {row['subject_hash'][:16]}… changed concurrently; re-read it")


def transition(
    conn: Connection, row, target: SubjectState, values: Mapping[str, Any], now, *, retryable: bool = False
) -> None:
    """Move `row` to `target` (checked against the transition table). Entering a final state wipes the
    sealed identifiers, except a verified subject's still wanted by the warehouse step and a `failed`
    subject the caller says a later run will retry (`retryable`: attempts are left)."""
    check_transition(row["subject_hash"], row["state"], target)
    values = {**values, "state": target.value, "previous_state": row["state"], "updated_at": now}
    if target in FINAL_STATES:
        values["final_at"] = now
        # Only a verified subject's warehouse copies are cleaned later (the warehouse step reads verified
        # rows only), so only it keeps its sealed identifiers for that step: a quarantined or needs-review
        # subject would keep them for nothing, for good in the last case. A retryable failed subject keeps
        # them for the next nightly run, which posts them again (the incremental scan cannot find it).
        if target is S.VERIFIED:
            values["sealed_identifiers"] = wipe_unless_warehouse_pending()
        elif not (retryable and target in RETRY_STATES):
            values["sealed_identifiers"] = None
    conditional_update(conn, row, values)


def submitted_values(request_id: str, status: str | None, now: datetime) -> dict[str, Any]:
    return {
        "last_request_id": request_id,
        "last_genesys_status": status.upper() if status else None,
        "submitted_at": now,
        "completed_at": None,
    }


def record_request(conn: Connection, row, request_id: str, recorded_by: str, now: datetime) -> None:
    owner = conn.scalar(select(requests.c.subject_hash).where(requests.c.request_id == request_id))
    if owner is not None:
        raise LedgerError(f"request id is already recorded for subject {owner[:16]}…")
    conn.execute(
        insert(requests).values(
            request_id=request_id,
            subject_hash=row["subject_hash"],
            attempt=row["attempts"],
            run_id=row["run_id"],
            recorded_at=now,
            recorded_by=recorded_by,
        )
    )


def owned_request_ids(conn: Connection, request_ids: Sequence[str]) -> set[str]:
    owned: set[str] = set()
    for start in range(0, len(request_ids), 500):
        chunk = request_ids[start : start + 500]
        owned.update(conn.scalars(select(requests.c.request_id).where(requests.c.request_id.in_(chunk))))
    return owned
