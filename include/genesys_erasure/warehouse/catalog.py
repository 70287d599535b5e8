"""Check a connection's mapping against what the warehouse's information schema says exists.

Unknown tables or columns, and identifier columns that are not strings, are reported together before any
statement runs. Names resolve exactly first, then case-insensitively (Snowflake folds unquoted names to
upper case, BigQuery column names are case-insensitive); the resolved catalog spelling is what gets quoted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from genesys_erasure.warehouse.mapping import (
    DATE_TYPES,
    STRING_TYPES,
    ConnectionMapping,
    IdentifierType,
    MappingError,
    MappingProblem,
    TableAction,
    ValueForm,
)


@dataclass(frozen=True)
class TableCatalog:
    """Actual table name -> {actual column name: upper-case data type}, for the mapped tables that exist."""

    tables: Mapping[str, Mapping[str, str]]


@dataclass(frozen=True)
class ResolvedColumn:
    name: str
    identifier: IdentifierType
    form: ValueForm


@dataclass(frozen=True)
class ResolvedPartitionFilter:
    column: str
    lookback_days: int
    data_type: str


@dataclass(frozen=True)
class ResolvedTable:
    mapped_name: str
    name: str
    action: TableAction
    columns: tuple[ResolvedColumn, ...]
    redact_columns: tuple[str, ...]
    partition_filter: ResolvedPartitionFilter | None


def resolve_against_catalog(conn: ConnectionMapping, catalog: TableCatalog) -> tuple[ResolvedTable, ...]:
    """Resolve every mapped table and column to its catalog spelling, or raise `MappingError`."""
    problems: list[MappingProblem] = []
    resolved = []
    for table in conn.tables:

        def problem(reason: str, column: str | None = None, table_name: str = table.name) -> None:
            problems.append(MappingProblem(conn.source, conn.name, table_name, column, reason))

        actual_table = _resolve_name(table.name, catalog.tables.keys())
        if actual_table is None:
            problem(f"table not found in {_namespace(conn)} (information schema)")
            continue
        columns = catalog.tables[actual_table]
        resolved_columns = []
        for col in table.columns:
            actual = _resolve_name(col.name, columns.keys())
            if actual is None:
                problem("column not found in the table", column=col.name)
                continue
            if _base_type(columns[actual]) not in STRING_TYPES:
                problem(f"identifier columns must be strings, found {columns[actual]}", column=col.name)
                continue
            resolved_columns.append(ResolvedColumn(actual, col.identifier, col.form))
        redact = []
        for col in table.redact_columns:
            actual = _resolve_name(col, columns.keys())
            if actual is None:
                problem("redact column not found in the table", column=col)
            else:
                redact.append(actual)
        partition = None
        if table.partition_filter is not None:
            pf = table.partition_filter
            actual = _resolve_name(pf.column, columns.keys())
            if actual is None:
                problem("partition filter column not found in the table", column=pf.column)
            elif _base_type(columns[actual]) not in DATE_TYPES:
                problem(
                    f"partition filter column must be a date/timestamp, found {columns[actual]}", pf.column
                )
            else:
                partition = ResolvedPartitionFilter(actual, pf.lookback_days, _base_type(columns[actual]))
        if table.action is TableAction.REDACT:
            _check_redaction_removes_raw_values(table.name, resolved_columns, redact, problem)
        resolved.append(
            ResolvedTable(
                table.name, actual_table, table.action, tuple(resolved_columns), tuple(redact), partition
            )
        )
    if problems:
        raise MappingError(problems)
    return tuple(resolved)


def _check_redaction_removes_raw_values(table, columns, redact, problem) -> None:
    # A redacted row must not keep a raw e-mail/phone/contact id: otherwise "redacted" is a lie.
    for col in columns:
        personal = col.identifier is not IdentifierType.CONVERSATION and col.form is ValueForm.RAW
        if personal and col.name not in redact:
            problem("raw personal identifier column must be listed in redact_columns", column=col.name)


def _resolve_name(wanted: str, available) -> str | None:
    available = list(available)
    if wanted in available:
        return wanted
    folded = [name for name in available if name.upper() == wanted.upper()]
    return folded[0] if len(folded) == 1 else None


def _base_type(data_type: str) -> str:
    # "VARCHAR(16777216)" -> "VARCHAR", "TIMESTAMP_NTZ(9)" -> "TIMESTAMP_NTZ"
    return data_type.split("(", 1)[0].strip().upper()


def _namespace(conn: ConnectionMapping) -> str:
    if conn.dataset is not None:
        return f"dataset {conn.dataset}"
    return f"schema {conn.database}.{conn.schema}"
