"""The last-contact index: per customer identifier (keyed hash), the UTC day of its latest contact, kept in
the ledger's database so a nightly scan reads only what became available since the last night, not the
whole retention window again.

A day, not an instant: a contact on the cutoff's own day counts as recent even when it was earlier that
day, which holds a customer at most one day longer (the safe direction). Entries are written by folds
(`rebuild` replaces everything, `fold` merges: the later day wins, `active` is what the latest fold saw),
leave when their day falls before the retention window and no conversation of theirs is active (`prune`),
and when the ledger records their identifier as erased and no fold wrote them since (`forget_erased`).

Beside the rows, three values in `erasure_ledger_meta`: the watermark (the analytics data availability the
index has folded up to), the fingerprint of what the stored hashes depend on (the hashing key, the phone
region, own identifiers, exclusions, the derivation's format) and the first day it holds completely.
No raw value is passed to this module: the caller hashes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Engine, and_, case, delete, func, insert, select, update

from genesys_erasure.ledger.schema import identifier_hashes, last_contacts, ledger_meta, metadata
from genesys_erasure.ledger.sql import insert_ignore

_IN_CHUNK = 500  # bound parameters per IN (SQLite allows 999 in older builds)
_WRITE_CHUNK = 1000  # rows per executemany
WATERMARK_KEY = "last_contact_watermark"
FINGERPRINT_KEY = "last_contact_fingerprint"
COMPLETE_FROM_KEY = "last_contact_complete_from"


@dataclass(frozen=True)
class ContactEntry:
    """One identifier's row: what a fold writes and a look-up returns."""

    identifier_hash: str
    last_contact_day: date
    active: bool = False
    direct: bool = True
    own_number: bool = False


@dataclass(frozen=True)
class IndexState:
    """The index's metadata: None everywhere for an index never built."""

    watermark: datetime | None
    fingerprint: Mapping[str, str] | None
    complete_from: date | None


class LastContactIndex:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        metadata.create_all(engine, checkfirst=True)  # the ledger's tables: erasures are read from them

    def __repr__(self) -> str:
        return "LastContactIndex(<hashes only>)"

    # ---- metadata -------------------------------------------------------------------------------

    def state(self) -> IndexState:
        with self._engine.connect() as conn:
            rows = dict(
                conn.execute(
                    select(ledger_meta.c.key, ledger_meta.c.value).where(
                        ledger_meta.c.key.in_([WATERMARK_KEY, FINGERPRINT_KEY, COMPLETE_FROM_KEY])
                    )
                ).all()
            )
        watermark = rows.get(WATERMARK_KEY)
        complete_from = rows.get(COMPLETE_FROM_KEY)
        fingerprint = rows.get(FINGERPRINT_KEY)
        return IndexState(
            datetime.fromisoformat(watermark) if watermark else None,
            json.loads(fingerprint) if fingerprint else None,
            date.fromisoformat(complete_from) if complete_from else None,
        )

    # ---- writing --------------------------------------------------------------------------------

    def rebuild(
        self,
        entries: Iterable[ContactEntry],
        *,
        fingerprint: Mapping[str, str],
        watermark: datetime,
        complete_from: date,
        now: datetime,
    ) -> int:
        """Replace the whole index (a backfill), in one transaction: a crash leaves the old one."""
        rows = [_row(entry, now) for entry in entries]
        with self._engine.begin() as conn:
            conn.execute(delete(last_contacts))
            for start in range(0, len(rows), _WRITE_CHUNK):
                conn.execute(insert(last_contacts), rows[start : start + _WRITE_CHUNK])
            _set_meta(conn, FINGERPRINT_KEY, json.dumps(dict(fingerprint), sort_keys=True))
            _set_meta(conn, WATERMARK_KEY, _utc(watermark).isoformat())
            _set_meta(conn, COMPLETE_FROM_KEY, complete_from.isoformat())
        return len(rows)

    def fold(self, entries: Iterable[ContactEntry], *, watermark: datetime, now: datetime) -> int:
        """Merge what a night read: the later day wins, `direct` and `own_number` only ever turn on, and
        `active` becomes what this fold saw (an analytics job returns every conversation whose lifetime
        overlaps its interval, so a fold sees every conversation still active; one it no longer sees as
        active has ended). The watermark only moves forward. Returns how many entries were written."""
        rows = [_row(entry, now) for entry in entries]
        with self._engine.begin() as conn:
            conn.execute(update(last_contacts).where(last_contacts.c.active).values(active=False))
            for start in range(0, len(rows), _WRITE_CHUNK):
                conn.execute(_upsert(conn.dialect.name), rows[start : start + _WRITE_CHUNK])
            stored = conn.execute(
                select(ledger_meta.c.value).where(ledger_meta.c.key == WATERMARK_KEY)
            ).scalar()
            if stored is None or datetime.fromisoformat(stored) < watermark:
                _set_meta(conn, WATERMARK_KEY, _utc(watermark).isoformat())
        return len(rows)

    def prune(self, cutoff_day: date) -> int:
        """Drop the entries whose last contact day is before `cutoff_day` and that have no active
        conversation: they left the retention window. The index then holds days from `cutoff_day` on."""
        with self._engine.begin() as conn:
            gone = conn.execute(
                delete(last_contacts).where(
                    last_contacts.c.last_contact_day < cutoff_day, last_contacts.c.active.is_(False)
                )
            ).rowcount
            stored = conn.execute(
                select(ledger_meta.c.value).where(ledger_meta.c.key == COMPLETE_FROM_KEY)
            ).scalar()
            if stored is None or date.fromisoformat(stored) < cutoff_day:
                _set_meta(conn, COMPLETE_FROM_KEY, cutoff_day.isoformat())
        return gone

    def forget_erased(self, erased_at: Callable[[Iterable[str]], Mapping[str, datetime]]) -> int:
        """Drop the entries of identifiers the ledger records as erased (`erased_at`: identifier hash ->
        when its erasure was posted, as `Ledger.erased_identifier_hashes` answers) that no fold has written
        since the erasure: everything they hold predates it. Returns how many went."""
        with self._engine.connect() as conn:
            known = conn.scalars(
                select(last_contacts.c.identifier_hash).where(
                    last_contacts.c.identifier_hash.in_(select(identifier_hashes.c.identifier_hash))
                )
            ).all()
        erased = erased_at(known) if known else {}
        if not erased:
            return 0
        gone = 0
        with self._engine.begin() as conn:
            for identifier_hash, at in erased.items():
                gone += conn.execute(
                    delete(last_contacts).where(
                        last_contacts.c.identifier_hash == identifier_hash, last_contacts.c.updated_at <= at
                    )
                ).rowcount
        return gone

    # ---- reading --------------------------------------------------------------------------------

    def lookup(self, hashes: Iterable[str]) -> dict[str, ContactEntry]:
        """The entries of those `hashes` the index holds."""
        wanted = sorted(set(hashes))
        found: dict[str, ContactEntry] = {}
        with self._engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                rows = conn.execute(
                    select(last_contacts).where(
                        last_contacts.c.identifier_hash.in_(wanted[start : start + _IN_CHUNK])
                    )
                ).all()
                for row in rows:
                    found[row.identifier_hash] = ContactEntry(
                        row.identifier_hash, row.last_contact_day, row.active, row.direct, row.own_number
                    )
        return found

    def recent_among(self, hashes: Iterable[str], cutoff_day: date) -> frozenset[str]:
        """Of `hashes`, the customers (not own numbers) with a contact on or after `cutoff_day`."""
        return frozenset(
            h
            for h, entry in self.lookup(hashes).items()
            if entry.last_contact_day >= cutoff_day and not entry.own_number
        )

    def count(self, cutoff_day: date | None = None, *, direct_only: bool = False) -> int:
        """Customer entries (own numbers left out), those from `cutoff_day` on when given."""
        where = [last_contacts.c.own_number.is_(False)]
        if cutoff_day is not None:
            where.append(last_contacts.c.last_contact_day >= cutoff_day)
        if direct_only:
            where.append(last_contacts.c.direct.is_(True))
        with self._engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(last_contacts).where(and_(*where))).scalar()


def _row(entry: ContactEntry, now: datetime) -> dict[str, object]:
    return {
        "identifier_hash": entry.identifier_hash,
        "last_contact_day": entry.last_contact_day,
        "active": entry.active,
        "direct": entry.direct,
        "own_number": entry.own_number,
        "updated_at": now,
    }


def _upsert(dialect: str):
    """INSERT … ON CONFLICT DO UPDATE for SQLite and PostgreSQL (the same syntax, each dialect's builder)."""
    if dialect not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"the last-contact index supports SQLite and PostgreSQL, not {dialect}")
    module = __import__(f"sqlalchemy.dialects.{dialect}", fromlist=["insert"])
    statement = module.insert(last_contacts)
    new, old = statement.excluded, last_contacts.c
    later = new.last_contact_day > old.last_contact_day
    return statement.on_conflict_do_update(
        index_elements=[old.identifier_hash],
        set_={
            "last_contact_day": case((later, new.last_contact_day), else_=old.last_contact_day),
            "active": new.active,
            "direct": old.direct | new.direct,
            "own_number": old.own_number | new.own_number,
            "updated_at": new.updated_at,
        },
    )


def _set_meta(conn, key: str, value: str) -> None:
    if not insert_ignore(conn, ledger_meta, {"key": key, "value": value}):
        conn.execute(update(ledger_meta).where(ledger_meta.c.key == key).values(value=value))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("index times must be timezone-aware")
    return moment.astimezone(UTC)
