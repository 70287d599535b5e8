"""The Genesys client's shared state (token, pacing windows) in the ledger's database.

Every worker process of a deployment reaches the ledger database (a SQLite file on one machine,
PostgreSQL across machines), so it is where mapped submit tasks in separate processes meet to share one
OAuth token and one rate window per resource family (`genesys_cloud.shared_state` has the rules; this is
only the store). One row per key, a small JSON document; each `update` is one short transaction that
locks its rows first: `BEGIN IMMEDIATE` on SQLite (the ledger engine's transactions all start so; one
writer at a time), `SELECT … FOR UPDATE` in key order on PostgreSQL (no deadlock between two updates).

The table is this module's own, created on first use: the ledger's schema and its version are untouched.
The token is stored encrypted by `genesys_cloud` (key derived from the client secret); nothing here is
personal data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Column, Engine, MetaData, String, Table, Text, inspect, select, update
from sqlalchemy.exc import DBAPIError

from genesys_erasure.ledger.sql import insert_ignore, prepare_engine

T = TypeVar("T")

TABLE_NAME = "genesys_client_state"
_metadata = MetaData()
client_state = Table(
    TABLE_NAME,
    _metadata,
    Column("key", String(512), primary_key=True),
    Column("document", Text, nullable=False),
)


class LedgerClientState:
    """A `genesys_cloud.shared_state.SharedStateStore` on the ledger's engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = prepare_engine(engine)
        self._ready = False

    def update(self, keys: Sequence[str], change: Callable[[list[dict[str, Any]]], T]) -> T:
        self._create_table()
        ordered = sorted(set(keys))
        with self._engine.begin() as conn:
            stored = self._locked(conn, ordered)
            if len(stored) < len(ordered):
                for key in ordered:
                    if key not in stored:
                        insert_ignore(conn, client_state, {"key": key, "document": "{}"})
                stored = self._locked(conn, ordered)
            docs = {key: json.loads(text) for key, text in stored.items()}
            result = change([docs[key] for key in keys])
            for key in ordered:
                text = json.dumps(docs[key], sort_keys=True)
                if text != stored[key]:
                    conn.execute(update(client_state).where(client_state.c.key == key).values(document=text))
        return result

    @staticmethod
    def _locked(conn, keys: list[str]) -> dict[str, str]:
        query = (
            select(client_state.c.key, client_state.c.document)
            .where(client_state.c.key.in_(keys))
            .order_by(client_state.c.key)
            .with_for_update()
        )
        return {key: text for key, text in conn.execute(query)}

    def _create_table(self) -> None:
        if self._ready:
            return
        try:
            client_state.create(self._engine, checkfirst=True)
        except DBAPIError:
            # another process created it between the check and the CREATE
            if not inspect(self._engine).has_table(TABLE_NAME):
                raise
        self._ready = True
