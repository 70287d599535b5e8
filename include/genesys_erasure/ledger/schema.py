"""Tables of the erasure ledger (SQLAlchemy Core 2), portable between SQLite and PostgreSQL.

Only keyed hashes, ids, states, dates and one Fernet token per subject are stored: the token
(`sealed_identifiers`) is the single place raw identifiers exist, encrypted, until the subject is final.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Connection,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.types import TypeDecorator

from genesys_erasure.ledger.states import SubjectSource, SubjectState

# 2: states erasure_pending and needs_review (the state CHECK of a version-1 ledger is widened on open)
SCHEMA_VERSION = 2


class UtcDateTime(TypeDecorator):
    """Timezone-aware UTC on the Python side everywhere; SQLite has no zone, so it stores naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("ledger timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


metadata = MetaData()

subjects = Table(
    "erasure_subjects",
    metadata,
    Column("subject_hash", String(64), primary_key=True),
    Column("state", String(16), nullable=False, index=True),
    Column("previous_state", String(16)),
    Column("source", String(16), nullable=False),
    Column("request_type", String(32), nullable=False),
    Column("last_request_id", String(64), index=True),
    Column("last_genesys_status", String(16)),
    Column("attempts", Integer, nullable=False),
    Column("run_id", String(250), nullable=False, index=True),
    Column("first_seen_run_id", String(250), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("submitting_at", UtcDateTime),
    Column("submitted_at", UtcDateTime),
    Column("completed_at", UtcDateTime),
    Column("final_at", UtcDateTime),
    Column("reason", Text),
    # Fernet token of the raw identifiers; NULL for dry runs and once the subject is final (a failed
    # subject with attempts left keeps it for the nightly run that tries it again)
    Column("sealed_identifiers", Text),
    # sorted keyed hashes of the identifiers sealed at the last planning: what the last POST carried
    Column("identifier_set", JSON, nullable=False),
    Column("conversation_ids", JSON, nullable=False),
    Column("verification", JSON),
    Column("exemptions", JSON, nullable=False),
    Column("ticket", String(200)),
    Column("received_on", Date),
    Column("due_date", Date, index=True),
    Column("warehouse_rows", JSON),
    Column("warehouse_pending", Boolean, nullable=False),
    CheckConstraint(_in("state", SubjectState), name="ck_erasure_subjects_state"),
    CheckConstraint(_in("source", SubjectSource), name="ck_erasure_subjects_source"),
)

# One row per (identifier, subject): every identifier ever planned for a subject, hashed, with its kind,
# so "has this phone number been erased?" is one indexed look-up.
identifier_hashes = Table(
    "erasure_identifier_hashes",
    metadata,
    Column("identifier_hash", String(64), primary_key=True),
    Column(
        "subject_hash",
        String(64),
        ForeignKey("erasure_subjects.subject_hash", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("kind", String(32), nullable=False),
    Column("first_seen_at", UtcDateTime, nullable=False),
)

# Every GDPR request ever recorded for a subject (the history of all attempts). Its own table, so that
# "is this Genesys request already ours?" is an indexed look-up during reconciliation.
requests = Table(
    "erasure_requests",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column(
        "subject_hash",
        String(64),
        ForeignKey("erasure_subjects.subject_hash", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("attempt", Integer, nullable=False),
    Column("run_id", String(250), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    # "posted": recorded from the POST's answer; "reconciled": found at Genesys after a crash
    Column("recorded_by", String(16), nullable=False),
)

ledger_meta = Table(
    "erasure_ledger_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(200), nullable=False),
)

# One row per DAG run: the instant the run is "as of" and the retention cutoff derived from it, fixed the
# first time a task of the run asks, so a retried or later task reads them back and never recomputes.
run_clocks = Table(
    "erasure_run_clocks",
    metadata,
    Column("run_id", String(250), primary_key=True),
    Column("as_of", UtcDateTime, nullable=False),
    Column("cutoff", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)


# The last-contact index (`ledger.last_contact`): per customer identifier, as a keyed hash, the UTC day of its
# latest contact folded so far, whether a conversation of it was still active at the latest fold, whether it
# was seen in an address field (not only in participant attributes) and whether it is one of the org's own
# numbers. No raw value. Its watermark and fingerprint live in `erasure_ledger_meta`.
last_contacts = Table(
    "erasure_last_contacts",
    metadata,
    Column("identifier_hash", String(64), primary_key=True),
    Column("last_contact_day", Date, nullable=False, index=True),
    Column("active", Boolean, nullable=False),
    Column("direct", Boolean, nullable=False),
    Column("own_number", Boolean, nullable=False),
    # when a fold last wrote the entry: an entry not written since its identifier was erased holds only
    # contacts from before the erasure, and goes
    Column("updated_at", UtcDateTime, nullable=False),
)


def upgrade_schema(conn: Connection) -> None:
    """Bring a ledger created by an older version up to `SCHEMA_VERSION`, in the caller's transaction.
    Version 1 -> 2 only widens the state CHECK (new states, no row changes)."""
    stored = conn.execute(select(ledger_meta.c.value).where(ledger_meta.c.key == "schema_version")).scalar()
    if stored is None or int(stored) >= SCHEMA_VERSION:
        return
    _widen_state_check(conn)
    conn.execute(
        update(ledger_meta).where(ledger_meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION))
    )


_STATE_CHECK = "ck_erasure_subjects_state"


def _widen_state_check(conn: Connection) -> None:
    check = _in("state", SubjectState)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ALTER TABLE erasure_subjects DROP CONSTRAINT IF EXISTS {_STATE_CHECK}")
        conn.exec_driver_sql(f"ALTER TABLE erasure_subjects ADD CONSTRAINT {_STATE_CHECK} CHECK ({check})")
    elif conn.dialect.name == "sqlite":
        # SQLite cannot alter a CHECK; its documented way for a change that leaves every stored row valid
        # (here: more allowed values) is to rewrite the table's SQL and bump schema_version.
        sql = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'erasure_subjects'"
        ).scalar()
        widened = re.sub(
            rf"CONSTRAINT {_STATE_CHECK} CHECK \(state IN \([^)]*\)\)",
            lambda _: f"CONSTRAINT {_STATE_CHECK} CHECK ({check})",
            sql or "",
        )
        if not sql or widened == sql:
            return
        version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
        conn.exec_driver_sql("PRAGMA writable_schema=ON")
        conn.exec_driver_sql(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'erasure_subjects'",
            (widened,),
        )
        conn.exec_driver_sql(f"PRAGMA schema_version={int(version) + 1}")
        conn.exec_driver_sql("PRAGMA writable_schema=OFF")


def utc_now() -> datetime:
    return datetime.now(UTC)
