"""The run workspace: encrypted, run-scoped hand-offs between the tasks of one run, in the ledger database.

Tasks of a run pass raw identifiers to each other (the scan finds e-mails and phone numbers, identity
resolution reads them). Those must not travel through XCom, logs or files in the clear, and a distributed
deployment runs the tasks on different machines. So each hand-off is one Fernet token in a table beside
the ledger, and the run's rows are dropped when its evidence has been written.

Markers are small, non-personal values that outlive runs (the scan watermark).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, Text, delete, insert, select

_metadata = MetaData()

run_workspace = Table(
    "run_workspace",
    _metadata,
    Column("run_id", String(250), primary_key=True),
    Column("name", String(100), primary_key=True),
    Column("sealed_payload", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

workspace_markers = Table(
    "workspace_markers",
    _metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


class WorkspaceError(Exception):
    """A hand-off is missing or cannot be opened; never carries payload content."""


class RunWorkspace:
    def __init__(self, engine: Engine, fernet: Fernet | MultiFernet) -> None:
        self._engine = engine
        self._fernet = fernet
        _metadata.create_all(engine, checkfirst=True)

    def __repr__(self) -> str:
        return "RunWorkspace(<sealed>)"

    def put(self, run_id: str, name: str, payload: Any) -> None:
        """Store (or replace) a JSON-serialisable payload for the run, encrypted."""
        token = self._fernet.encrypt(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        with self._engine.begin() as conn:
            conn.execute(delete(run_workspace).where(_key(run_id, name)))
            conn.execute(
                insert(run_workspace).values(
                    run_id=run_id, name=name, sealed_payload=token.decode("ascii"), created_at=_now()
                )
            )

    def get(self, run_id: str, name: str) -> Any:
        with self._engine.connect() as conn:
            token = conn.execute(select(run_workspace.c.sealed_payload).where(_key(run_id, name))).scalar()
        if token is None:
            raise WorkspaceError(f"run {run_id}: no '{name}' hand-off (did the upstream task run?)")
        try:
            return json.loads(self._fernet.decrypt(token.encode("ascii")))
        except InvalidToken as exc:
            raise WorkspaceError(f"run {run_id}: '{name}' hand-off cannot be opened (wrong key?)") from exc

    def drop_run(self, run_id: str) -> int:
        """Delete every hand-off of the run; returns how many there were."""
        with self._engine.begin() as conn:
            return conn.execute(delete(run_workspace).where(run_workspace.c.run_id == run_id)).rowcount

    def get_marker(self, name: str) -> str | None:
        with self._engine.connect() as conn:
            query = select(workspace_markers.c.value).where(workspace_markers.c.name == name)
            return conn.execute(query).scalar()

    def set_marker(self, name: str, value: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(delete(workspace_markers).where(workspace_markers.c.name == name))
            conn.execute(insert(workspace_markers).values(name=name, value=value, updated_at=_now()))


def _key(run_id: str, name: str):
    return (run_workspace.c.run_id == run_id) & (run_workspace.c.name == name)


def _now() -> datetime:
    return datetime.now(UTC)
