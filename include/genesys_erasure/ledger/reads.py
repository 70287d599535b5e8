"""The erasure ledger's reads: subjects by hash, run, state and identifier hash, the identifiers erased
or awaiting review, deadlines and counts. `Ledger` (store.py) adds the writes; both share one engine."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, and_, func, or_, select, true

from genesys_erasure.ledger.external import known_request_ids
from genesys_erasure.ledger.records import LedgerRow
from genesys_erasure.ledger.rows import load_rows
from genesys_erasure.ledger.schema import identifier_hashes, subjects
from genesys_erasure.ledger.sql import select_locked
from genesys_erasure.ledger.states import CARRIED_STATES, IN_FLIGHT_STATES, RETRY_STATES, SubjectState
from genesys_erasure.ledger.watermarks import (
    FIRST_APPROVAL,
    LISTENER_WATERMARK,
    read_watermark,
    write_watermark,
)

S = SubjectState
# A GDPR request carried the subject's identifiers and was not refused: verified, or still in flight.
ERASED_STATES: frozenset[SubjectState] = IN_FLIGHT_STATES | {S.VERIFIED}
_IN_CHUNK = 500  # bound parameters per IN (SQLite allows 999 in older builds)


class LedgerReads:
    _engine: Engine

    def _tx(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def get(self, subject_hash: str) -> LedgerRow | None:
        with self._tx() as conn:
            rows = load_rows(conn, subjects.c.subject_hash == subject_hash)
        return rows[0] if rows else None

    def sealed_identifiers(self, subject_hash: str) -> str | None:
        """The Fernet token (open it with `IdentifierSealer`); None for dry runs and final subjects."""
        with self._tx() as conn:
            return select_locked(conn, subject_hash)["sealed_identifiers"]

    def known_request_ids(self, request_ids: Iterable[str]) -> frozenset[str]:
        """Those of `request_ids` the ledger has recorded for some subject (ours, reconciled, external)."""
        with self._tx() as conn:
            return known_request_ids(conn, request_ids)

    def listener_watermark(self) -> datetime | None:
        """The `createdDate` from which the request listener reads Genesys' list next (None: never read)."""
        with self._engine.connect() as conn:
            return read_watermark(conn, LISTENER_WATERMARK)

    def set_listener_watermark(self, value: datetime) -> None:
        with self._tx() as conn:
            write_watermark(conn, LISTENER_WATERMARK, value)

    def first_approval(self) -> datetime | None:
        """When a person first approved a run that submits to this org (None: never, first contact)."""
        with self._engine.connect() as conn:
            return read_watermark(conn, FIRST_APPROVAL)

    def record_approval(self, at: datetime) -> None:
        """Remember that a person approved a run that submits (only the first approval is kept)."""
        with self._tx() as conn:
            if read_watermark(conn, FIRST_APPROVAL) is None:
                write_watermark(conn, FIRST_APPROVAL, at)

    def warehouse_pending_verified(self) -> list[LedgerRow]:
        """Verified subjects whose warehouse copies are still to be erased, from any run."""
        return self._rows(
            subjects.c.warehouse_pending == true(),
            subjects.c.state == S.VERIFIED.value,
            order_by=(subjects.c.subject_hash,),
        )

    def carried_over(self) -> list[LedgerRow]:
        """Deferred and overdue subjects: to be included in the next run (see `carry_over_into`)."""
        return self._rows(subjects.c.state.in_([s.value for s in CARRIED_STATES]))

    def rows_for_run(self, run_id: str) -> list[LedgerRow]:
        """Subjects whose latest run is `run_id`."""
        return self._rows(subjects.c.run_id == run_id)

    def rows_in_states(self, states: Iterable[SubjectState | str]) -> list[LedgerRow]:
        return self._rows(subjects.c.state.in_([S(s).value for s in states]))

    def lookup_identifier_hash(self, identifier_hash: str) -> list[LedgerRow]:
        """Every subject that ever had this identifier (keyed hash): "has this phone been erased?"."""
        owners = select(identifier_hashes.c.subject_hash).where(
            identifier_hashes.c.identifier_hash == identifier_hash
        )
        return self._rows(subjects.c.subject_hash.in_(owners))

    def erased_identifier_hashes(self, hashes: Iterable[str]) -> dict[str, datetime]:
        """Of `hashes` (identifier keyed hashes), those a GDPR request already carried that was not
        refused: the subject is verified, or its request is in flight or done (`ERASED_STATES`). Each
        maps to when its latest such request was posted (or, without one, completed), so a caller can
        tell data from before the erasure (a stale analytics lake) from a contact made after it."""
        wanted = sorted(set(hashes))
        posted = func.coalesce(
            subjects.c.submitted_at, subjects.c.submitting_at, subjects.c.completed_at, subjects.c.updated_at
        )
        erased: dict[str, datetime] = {}
        with self._tx() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                rows = conn.execute(
                    select(identifier_hashes.c.identifier_hash, subjects.c.identifier_set, posted)
                    .join(subjects, subjects.c.subject_hash == identifier_hashes.c.subject_hash)
                    .where(
                        identifier_hashes.c.identifier_hash.in_(chunk),
                        subjects.c.state.in_([s.value for s in ERASED_STATES]),
                    )
                ).all()
                for identifier_hash, identifier_set, at in rows:
                    # planned once for the subject but not in what its last request carried: not erased
                    if identifier_hash not in (identifier_set or ()):
                        continue
                    at = at if at.tzinfo else at.replace(tzinfo=UTC)
                    erased[identifier_hash] = max(at, erased.get(identifier_hash, at))
        return erased

    def failed_awaiting_retry(self) -> list[LedgerRow]:
        """`failed` subjects that kept their sealed identifiers: the next nightly run retries them."""
        return self._rows(
            subjects.c.state.in_([s.value for s in RETRY_STATES]), subjects.c.sealed_identifiers.is_not(None)
        )

    def identifier_hashes_awaiting_review(self, hashes: Iterable[str]) -> frozenset[str]:
        """Of `hashes` (identifier keyed hashes), those of a subject left `needs_review`: a person decides
        what happens to them, so no run plans them again, not even inside a differently composed subject
        (after a delete, resolution reaches fewer of a person's identifiers, so the subject hash moves)."""
        return self.identifier_hashes_in_states(hashes, (S.NEEDS_REVIEW,))

    def identifier_hashes_in_states(
        self, hashes: Iterable[str], states: Iterable[SubjectState]
    ) -> frozenset[str]:
        """Of `hashes` (identifier keyed hashes), those of a subject in one of `states`."""
        wanted_states = [S(s).value for s in states]
        wanted = sorted(set(hashes))
        found: set[str] = set()
        with self._tx() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                found.update(
                    conn.scalars(
                        select(identifier_hashes.c.identifier_hash)
                        .join(subjects, subjects.c.subject_hash == identifier_hashes.c.subject_hash)
                        .where(
                            identifier_hashes.c.identifier_hash.in_(chunk),
                            subjects.c.state.in_(wanted_states),
                        )
                    ).all()
                )
        return frozenset(found)

    def due_soon(self, now: datetime, days: int) -> list[LedgerRow]:
        """Subjects with a due date on or before `now + days` that are not verified yet (past-due ones
        included), earliest first, and every `needs_review` subject (due date or not): the daily
        check lists both."""
        horizon = (now + timedelta(days=days)).date()
        due = and_(
            subjects.c.due_date.is_not(None),
            subjects.c.due_date <= horizon,
            subjects.c.state != S.VERIFIED.value,
        )
        return self._rows(
            or_(due, subjects.c.state == S.NEEDS_REVIEW.value),
            order_by=(subjects.c.due_date, subjects.c.subject_hash),
        )

    def count_by_state(self) -> dict[str, int]:
        with self._tx() as conn:
            rows = conn.execute(select(subjects.c.state, func.count()).group_by(subjects.c.state)).all()
        return {state: count for state, count in rows}

    def _rows(self, *where, order_by: Sequence | None = None) -> list[LedgerRow]:
        with self._tx() as conn:
            return load_rows(conn, *where, order_by=order_by)
