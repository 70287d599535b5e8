"""Instants kept in the ledger's key/value table. Watermarks over Genesys' GDPR request list: how far back
the request listener must read next time (`createdDate`), so it reads what is new instead of the whole,
ever-growing request history. And when a person first approved a run that submits. An instant is never
personal data."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, select, update

from genesys_erasure.ledger.schema import ledger_meta
from genesys_erasure.ledger.sql import insert_ignore

LISTENER_WATERMARK = "listener_watermark"
# The instant a person first approved a run that submits (first contact with an org is over); a run id and
# an instant, never personal data. See steps/plan.py, "first contact".
FIRST_APPROVAL = "first_approved_run_at"


def read_watermark(conn: Connection, key: str) -> datetime | None:
    text = conn.execute(select(ledger_meta.c.value).where(ledger_meta.c.key == key)).scalar()
    if not text:
        return None
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def write_watermark(conn: Connection, key: str, value: datetime) -> None:
    text = value.astimezone(UTC).isoformat()
    if not insert_ignore(conn, ledger_meta, {"key": key, "value": text}):
        conn.execute(update(ledger_meta).where(ledger_meta.c.key == key).values(value=text))
