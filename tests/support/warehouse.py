"""Test support for the warehouse tests: shared rows and subjects, the two engines behind one small
interface, and thin wrappers around the REAL connector/client (count statements, drop the connection).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from google.api_core.exceptions import BadRequest

from genesys_devtools.local_engines import (
    CONVERSATION_EVENTS,
    SeedTable,
    conversation_event_row,
    seed_bigquery_table,
    seed_snowflake_table,
)
from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.warehouse.bigquery import erase_bigquery
from genesys_erasure.warehouse.mapping import ConnectionMapping, WarehouseMapping
from genesys_erasure.warehouse.planning import ErasureSubjects
from genesys_erasure.warehouse.snowflake import erase_snowflake

HASH_KEY = b"warehouse-test-key-0123456789"
FIXED_NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

ALICE_EMAIL, ALICE_PHONE, ALICE_CONTACT = "alice@example.com", "+447700900123", "contact-alice"
BOB_EMAIL, BOB_PHONE, BOB_CONTACT = "bob@example.com", "+447700900456", "contact-bob"
TRICKY_EMAIL, TRICKY_CONTACT = "o'brien@example.com", "x'); DROP TABLE t; --"

CONVERSATION_COLUMNS = [
    {"name": "CONVERSATION_ID", "identifier": "conversation_id", "form": "raw"},
    {"name": "CUSTOMER_EMAIL", "identifier": "email", "form": "raw"},
    {"name": "CUSTOMER_PHONE", "identifier": "phone", "form": "raw"},
    {"name": "EXTERNAL_CONTACT_ID", "identifier": "external_contact_id", "form": "raw"},
    {"name": "EMAIL_SHA256", "identifier": "email", "form": "sha256"},
    {"name": "PHONE_HMAC", "identifier": "phone", "form": "keyed_hmac"},
]


def event_rows(hasher: KeyedHasher) -> list[dict]:
    """Alice's rows are erased (by raw value, by hash only, by conversation only); Bob's stay."""
    day = date(2026, 11, 1)

    def row(event_id, conversation_id, email, phone, contact, keep_raw=True):
        r = conversation_event_row(
            event_id,
            conversation_id,
            day,
            email=email,
            phone=phone,
            external_contact_id=contact,
            hasher=hasher,
        )
        if not keep_raw:
            r.update(CUSTOMER_EMAIL=None, CUSTOMER_PHONE=None, EXTERNAL_CONTACT_ID=None)
        return r

    return [
        row("ev-1", "conv-alice-1", ALICE_EMAIL, ALICE_PHONE, ALICE_CONTACT),
        row("ev-2", "conv-bob-1", BOB_EMAIL, BOB_PHONE, BOB_CONTACT),
        row("ev-3", "conv-other-3", ALICE_EMAIL, None, None, keep_raw=False),  # only EMAIL_SHA256
        row("ev-4", "conv-other-4", None, ALICE_PHONE, None, keep_raw=False),  # only PHONE_HMAC
        row("ev-5", "conv-alice-2", None, None, None),  # only the conversation id
        row("ev-6", "conv-bob-2", BOB_EMAIL, BOB_PHONE, None, keep_raw=False),  # Bob's hashes only
        row("ev-7", "conv-tricky-1", TRICKY_EMAIL, None, TRICKY_CONTACT),
    ]


ALICE = ErasureSubjects(
    identifiers=(
        Identifier(IdentifierKind.EMAIL, ALICE_EMAIL),
        Identifier(IdentifierKind.PHONE, ALICE_PHONE),
        Identifier(IdentifierKind.EXTERNAL_CONTACT, ALICE_CONTACT),
    ),
    conversation_ids=("conv-alice-1", "conv-alice-2"),
)
ALICE_EVENT_IDS = {"ev-1", "ev-3", "ev-4", "ev-5"}

ALICE = ErasureSubjects(
    identifiers=(
        Identifier(IdentifierKind.EMAIL, ALICE_EMAIL),
        Identifier(IdentifierKind.PHONE, ALICE_PHONE),
        Identifier(IdentifierKind.EXTERNAL_CONTACT, ALICE_CONTACT),
    ),
    conversation_ids=("conv-alice-1", "conv-alice-2"),
)
ALICE_EVENT_IDS = {"ev-1", "ev-3", "ev-4", "ev-5"}
ALL_EVENT_IDS = {f"ev-{i}" for i in range(1, 8)}


def events_table(name: str = "CONVERSATION_EVENTS") -> SeedTable:
    return SeedTable(name, CONVERSATION_EVENTS.columns)


def delete_table_mapping(name: str = "CONVERSATION_EVENTS", columns: list[dict] | None = None) -> dict:
    return {"name": name, "action": "delete", "columns": columns or CONVERSATION_COLUMNS}


class SnowflakeUnderTest:
    kind = "snowflake"
    database = "ERASURE_TEST"

    def __init__(self, server, hasher: KeyedHasher, schema: str) -> None:
        self.server, self.hasher, self.schema = server, hasher, schema
        self._admin = server.connect()
        cursor = self._admin.cursor()
        cursor.execute(f'CREATE DATABASE IF NOT EXISTS "{self.database}"')
        cursor.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.database}"."{schema}"')
        cursor.close()

    def close(self) -> None:
        self._admin.close()

    def open(self, paramstyle: str | None = None):
        """A fresh real connection (what `SnowflakeHook.get_conn()` hands the executor)."""
        return self.server.connect(self.database, self.schema, paramstyle)

    def mapping(self, tables: list[dict], source: str = "test-mapping.yaml") -> ConnectionMapping:
        conn = {"name": "sf", "type": "snowflake", "airflow_conn_id": "sf_test", "database": self.database,
                "schema": self.schema, "tables": tables}  # fmt: skip
        return WarehouseMapping.from_dict({"connections": [conn]}, source=source).connections[0]

    def seed(self, table: SeedTable, rows: list[dict]) -> None:
        seed_snowflake_table(self._admin, self.database, self.schema, table, rows)

    def erase(self, conn: ConnectionMapping, subjects: ErasureSubjects, connection=None, clock=None):
        own = connection is None
        connection = connection or self.open()
        try:
            return erase_snowflake(
                connection, conn, subjects, self.hasher, clock=clock or (lambda: FIXED_NOW)
            )
        finally:
            if own:
                connection.close()

    def rows(self, table: str) -> list[dict]:
        cursor = self._admin.cursor()
        try:
            cursor.execute(f'SELECT * FROM "{self.database}"."{self.schema}"."{table}" ORDER BY "EVENT_ID"')
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def table_exists(self, table: str) -> bool:
        cursor = self._admin.cursor()
        try:
            cursor.execute(
                f'SELECT COUNT(*) FROM "{self.database}".INFORMATION_SCHEMA.TABLES'
                " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                (self.schema, table),
            )
            return cursor.fetchone()[0] == 1
        finally:
            cursor.close()


class BigQueryUnderTest:
    kind = "bigquery"

    def __init__(self, emulator, hasher: KeyedHasher, dataset: str) -> None:
        self.emulator, self.hasher, self.dataset = emulator, hasher, dataset
        self.client = emulator.client()
        self.client.create_dataset(dataset, exists_ok=True)

    def close(self) -> None:
        self.client.close()

    def open(self):
        return self.emulator.client()

    def mapping(self, tables: list[dict], source: str = "test-mapping.yaml") -> ConnectionMapping:
        conn = {"name": "bq", "type": "bigquery", "airflow_conn_id": "bq_test", "dataset": self.dataset,
                "tables": tables}  # fmt: skip
        return WarehouseMapping.from_dict({"connections": [conn]}, source=source).connections[0]

    def seed(self, table: SeedTable, rows: list[dict]) -> None:
        seed_bigquery_table(self.client, self.dataset, table, rows)

    def erase(self, conn: ConnectionMapping, subjects: ErasureSubjects, connection=None, clock=None):
        client = connection or self.client
        return erase_bigquery(client, conn, subjects, self.hasher, clock=clock or (lambda: FIXED_NOW))

    def rows(self, table: str) -> list[dict]:
        sql = f"SELECT * FROM `{self.client.project}.{self.dataset}.{table}` ORDER BY EVENT_ID"
        return [dict(row.items()) for row in self.client.query(sql).result()]

    def table_exists(self, table: str) -> bool:
        names = {t.table_id for t in self.client.list_tables(self.dataset)}
        return table in names


def event_ids(rows: list[dict]) -> set[str]:
    return {row["EVENT_ID"] for row in rows}


# -- thin wrappers around the real connector / client ------------------------------------------------------


class RecordingSnowflakeConnection:
    """Delegates to a real connection; records every SQL text its cursors execute."""

    def __init__(self, real, on_execute=None) -> None:
        self._real = real
        self.statements: list[str] = []
        self._on_execute = on_execute

    def cursor(self, *args, **kwargs):
        return _RecordingCursor(self._real.cursor(*args, **kwargs), self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class _RecordingCursor:
    def __init__(self, real, owner: RecordingSnowflakeConnection) -> None:
        self._real, self._owner = real, owner

    def execute(self, sql, params=None, **kwargs):
        self._owner.statements.append(sql)
        result = self._real.execute(sql, params, **kwargs)
        if self._owner._on_execute is not None:
            self._owner._on_execute(sql, self._owner._real)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def dml_statements(statements: list[str], table: str) -> list[str]:
    return [
        s for s in statements if s.startswith(("DELETE", "UPDATE")) and f'"{table}"' in s.split(" WHERE ")[0]
    ]


class RecordingBigQueryClient:
    """Delegates to a real client; records every query text, optionally fails a chosen query."""

    def __init__(self, real, fail=None, rewrite=None) -> None:
        self._real = real
        self.queries: list[str] = []
        self._fail = fail
        self._rewrite = rewrite

    def query(self, sql, *args, **kwargs):
        if self._fail is not None:
            error = self._fail(sql)
            if error is not None:
                raise error
        self.queries.append(sql)
        if self._rewrite is not None:
            sql = self._rewrite(sql)
        return self._real.query(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def bigquery_dml_statements(queries: list[str], table_path: str) -> list[str]:
    """DML statements against `table_path`, counted statement by statement inside scripts."""
    statements = [s.strip() for q in queries for s in q.split(";\n")]
    return [s for s in statements if s.startswith((f"DELETE FROM `{table_path}`", f"UPDATE `{table_path}`"))]


def streaming_buffer_error(table_path: str) -> BadRequest:
    """The error the real service returns for DML over rows in the streaming buffer (400 invalidQuery)."""
    message = (
        f"UPDATE or DELETE statement over table {table_path} would affect rows in the streaming buffer, "
        "which is not supported"
    )
    return BadRequest(message, errors=[{"reason": "invalidQuery", "location": "query", "message": message}])
