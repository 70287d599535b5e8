"""Erase subjects from the Snowflake tables of one mapped connection, through a DB-API connection.

The Airflow layer supplies the connection (`SnowflakeHook.get_conn()`); fakesnow's server mode serves the
same connector locally. Per run: check the mapping against INFORMATION_SCHEMA, read each table's retention
(SHOW TABLES), load all keys into one TEMPORARY table (session-scoped, no fail-safe copy; bound JSON
statements, or for large sets a staged Parquet COPY, key_loading.py), then per table
ONE transaction: ONE DELETE/UPDATE, count, COMMIT. A dropped connection rolls the open table back, so each
table is all-or-nothing for the run and a re-run finishes the job. The DML is sent once (no connector
re-send): a lost answer leaves its outcome inside the open transaction, which is rolled back; the COMMIT
and the reads keep the connector's re-send (a second COMMIT or count changes nothing).

The table is read twice, the fewest that still proves the result: the DML reads it once, and the rows it
changed (the connector's rowcount) are the rows that matched before, counted by the statement that removed
them; a separate count before it would read the table a third time for the same number. The count after
the DML reads it again: Snowflake runs a transaction READ COMMITTED, so rows of an erased subject that
another session commits meanwhile are counted and the table does not verify.

Placeholders follow the connection's paramstyle: `%s` for pyformat (the connector's default: values are
escaped into the statement text on the client, so they reach Snowflake's query history) or `?` for qmark
(bound on the server; `ProtocolSnowflakeHook` opens connections that way). Names are plain identifiers, so
no other `%` appears in SQL text.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import UTC, datetime
from typing import Any

from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.warehouse.catalog import ResolvedTable, TableCatalog, resolve_against_catalog
from genesys_erasure.warehouse.key_loading import (
    SNOWFLAKE_BULK_MIN_KEYS,
    SNOWFLAKE_STATEMENT_LIMIT,
    STATEMENT_HEADROOM,
    KeyLoadError,  # noqa: F401 - re-exported: callers catch it from the executor's module
    choose_bulk,
    json_chunks,
    key_load_error,
    snowflake_bulk_load,
)
from genesys_erasure.warehouse.mapping import ConnectionMapping, WarehouseKind
from genesys_erasure.warehouse.planning import (
    ErasureSubjects,
    build_key_set,
    key_groups_for,
    new_keys_table_name,
    plan_snowflake_table,
    quote_snowflake,
)
from genesys_erasure.warehouse.results import TableErasureResult
from genesys_erasure.warehouse.retention import RetentionWindow, snowflake_window


def _utc_now() -> datetime:
    return datetime.now(UTC)


def namespace_of(conn: ConnectionMapping) -> tuple[str, str]:
    """Database and schema as Snowflake resolves unquoted names: upper case."""
    if conn.kind is not WarehouseKind.SNOWFLAKE or conn.database is None or conn.schema is None:
        raise ValueError(f"connection {conn.name!r} is not a Snowflake mapping")
    return conn.database.upper(), conn.schema.upper()


def read_snowflake_catalog(connection: Any, conn: ConnectionMapping) -> TableCatalog:
    """Columns of the mapped tables, from INFORMATION_SCHEMA.COLUMNS (names compared case-insensitively)."""
    database, schema = namespace_of(conn)
    names = sorted({t.name.upper() for t in conn.tables})
    placeholders = ", ".join(["%s"] * len(names))
    columns_view = f"{quote_snowflake(database)}.INFORMATION_SCHEMA.COLUMNS"
    sql = (
        f"SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE FROM {columns_view}"
        f" WHERE TABLE_SCHEMA = %s AND UPPER(TABLE_NAME) IN ({placeholders})"
    )
    tables: dict[str, dict[str, str]] = {}
    for table, column, data_type in _fetchall(
        connection, _render(sql, _placeholder(connection)), (schema, *names)
    ):
        tables.setdefault(table, {})[column] = str(data_type).upper()
    return TableCatalog(tables)


def check_snowflake_mapping(connection: Any, conn: ConnectionMapping) -> tuple[ResolvedTable, ...]:
    """Raise `MappingError` (naming file/connection/table/column) unless every mapped name exists."""
    return resolve_against_catalog(conn, read_snowflake_catalog(connection, conn))


def read_snowflake_retention(connection: Any, conn: ConnectionMapping) -> dict[str, RetentionWindow]:
    """Per actual table name, from SHOW TABLES (`retention_time`, `kind`); tables it omits get defaults."""
    database, schema = namespace_of(conn)
    windows: dict[str, RetentionWindow] = {}
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(f"SHOW TABLES IN SCHEMA {quote_snowflake(database)}.{quote_snowflake(schema)}")
            columns = [d[0].lower() for d in cursor.description]
            for row in cursor.fetchall():
                record = dict(zip(columns, row, strict=False))
                windows[str(record.get("name"))] = snowflake_window(
                    record.get("retention_time"), record.get("kind"), source="show_tables"
                )
        finally:
            cursor.close()
    except Exception:
        return {}
    return windows


def erase_snowflake(
    connection: Any,
    conn: ConnectionMapping,
    subjects: ErasureSubjects,
    hasher: KeyedHasher,
    *,
    clock: Callable[[], datetime] = _utc_now,
    bulk_min_keys: int = SNOWFLAKE_BULK_MIN_KEYS,
) -> tuple[TableErasureResult, ...]:
    """Erase `subjects` from every table of `conn`; one DELETE/UPDATE per table. See the module doc.
    From `bulk_min_keys` keys on, the keys are staged as Parquet and copied in (key_loading.py)."""
    database, schema = namespace_of(conn)
    tables = check_snowflake_mapping(connection, conn)  # before any statement that changes anything
    retention = read_snowflake_retention(connection, conn)
    group_ids = key_groups_for(tables)
    keys = build_key_set(subjects, hasher, group_ids)
    style = _placeholder(connection)
    keys_table = new_keys_table_name()
    results = []
    cursor = connection.cursor()
    try:
        if keys.size:
            bulk = choose_bulk(keys, bulk_min_keys)
            load_keys(cursor, database, schema, keys_table, keys, style, bulk=bulk)
        for table in tables:
            window = retention.get(table.name) or snowflake_window(None, None, source="default")
            plan = plan_snowflake_table(table, database, schema, keys_table, group_ids, clock().date())
            if not keys.size:
                results.append(_result(conn, plan.qualified_name, table, 0, 0, 0, window, clock(), 0))
                continue
            results.append(_erase_table(cursor, conn, plan, window, style, clock))
    finally:
        if keys.size:
            with suppress(Exception):
                cursor.execute(f"DROP TABLE IF EXISTS {_keys_name(keys_table)}")
        with suppress(Exception):
            cursor.close()
    return tuple(results)


def _erase_table(cursor, conn, plan, window, style, clock) -> TableErasureResult:
    count_sql, dml_sql = _render(plan.count_sql, style), _render(plan.dml_sql, style)
    try:
        cursor.execute("BEGIN")
        # Sent once: the connector re-sends a query whose answer was lost, and a server that does not
        # recognise the re-sent request (fakesnow) runs the DML again inside the same transaction, where
        # it changes 0 rows and that 0 becomes the evidence's count. Without the answer, the open
        # transaction is rolled back below and the task's retry erases the table again, counting.
        cursor.execute(dml_sql, plan.params, _no_retry=True)
        affected = _rows_changed(cursor)  # = the rows that matched before: see the module doc
        cursor.execute(count_sql, plan.params)
        remaining = int(cursor.fetchone()[0])
        cursor.execute("COMMIT")
    except BaseException:
        # A dead connection cannot roll back; the warehouse aborts the open transaction on its own.
        with suppress(Exception):
            cursor.execute("ROLLBACK")
        raise
    return _result(conn, plan.qualified_name, plan.table, affected, affected, remaining, window, clock(), 1)


class RowCountUnknownError(RuntimeError):
    """The driver did not say how many rows the DML changed; the table's transaction is rolled back."""


def _rows_changed(cursor) -> int:
    # The evidence's before-count IS this number, so a driver that does not report it must not be read
    # as "nothing matched": roll the table back and fail the run instead.
    rowcount = getattr(cursor, "rowcount", None)
    if isinstance(rowcount, bool) or not isinstance(rowcount, int) or rowcount < 0:
        raise RowCountUnknownError(
            "the Snowflake driver did not report how many rows the DELETE/UPDATE changed"
        )
    return rowcount


def load_keys(cursor, database, schema, keys_table, keys, style, *, bulk: bool) -> None:
    """Create the session's temporary keys table and fill it, by bulk load or by bound statements."""
    name = _keys_name(keys_table)
    cursor.execute(f"USE SCHEMA {quote_snowflake(database)}.{quote_snowflake(schema)}")
    cursor.execute(f"CREATE TEMPORARY TABLE {name} (KEY_GROUP NUMBER, KEY_VALUE VARCHAR)")
    if bulk:
        snowflake_bulk_load(cursor, name, f"{keys_table.upper()}_STAGE", keys)
        return
    # One bound JSON document per statement, each within Snowflake's 1 MB statement limit (bound values
    # count). With qmark it is bound on the server; with pyformat the connector escapes it into the text.
    insert = _render(
        f"INSERT INTO {name} (KEY_GROUP, KEY_VALUE) SELECT value[0]::NUMBER, value[1]::VARCHAR"
        " FROM TABLE(FLATTEN(INPUT => PARSE_JSON(%s)))",
        style,
    )
    budget = SNOWFLAKE_STATEMENT_LIMIT - len(insert) - STATEMENT_HEADROOM
    for count, document in json_chunks(keys.rows(), budget):
        try:
            cursor.execute(insert, (document,))
        except Exception as exc:
            # The connector's error can carry the statement, and with client-side binding the statement
            # carries the identifiers: keep only the error's class and code.
            raise key_load_error(count, exc) from None


def _keys_name(keys_table: str) -> str:
    # Unqualified: a temporary table lives in the session's current schema (set by `load_keys`), and
    # fakesnow refuses qualified temporary names.
    return quote_snowflake(keys_table)


def _result(conn, qualified, table, before, affected, remaining, window, deleted_at, statements):
    return TableErasureResult(
        connection=conn.name,
        table=qualified.replace('"', ""),
        action=table.action.value,
        rows_matched_before=before,
        rows_affected=affected,
        rows_remaining=remaining,
        unrecoverable_after=window.unrecoverable_after(deleted_at),
        retention_source=window.source,
        pending_streaming_buffer=False,
        statements_issued=statements,
    )


def _placeholder(connection: Any) -> str:
    style = getattr(connection, "_paramstyle", None) or "pyformat"
    if style in ("pyformat", "format"):
        return "%s"
    if style == "qmark":
        return "?"
    raise ValueError(f"unsupported Snowflake paramstyle {style!r} (use pyformat or qmark)")


def _render(sql: str, placeholder: str) -> str:
    return sql if placeholder == "%s" else sql.replace("%s", placeholder)


def _fetchall(connection: Any, sql: str, params: tuple) -> list[tuple]:
    cursor = connection.cursor()
    try:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        cursor.close()
