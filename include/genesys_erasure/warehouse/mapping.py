"""The warehouse mapping: which tables and columns of which warehouse hold copies of Genesys personal data.

The mapping is read once at start and validated twice before anything is deleted: statically here
(`WarehouseMapping.from_dict`: shapes, enums, identifier syntax) and against the warehouse's information
schema (`resolve_against_catalog`: tables and columns exist, column types fit). Every problem names the
file, connection, table and column, and all problems of a file are reported together.

Table and column names must be plain SQL identifiers: they are quoted when SQL is built, but a name like
`email; DROP TABLE x` is refused here rather than trusted to the quoting.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml

PLAIN_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
# Google Cloud project ids: lowercase letters, digits and hyphens (the emulator accepts the same).
PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{0,61}[a-z0-9]$")
STRING_TYPES = frozenset({"STRING", "TEXT", "VARCHAR", "CHAR", "CHARACTER"})
DATE_TYPES = frozenset({"DATE", "TIMESTAMP", "DATETIME", "TIMESTAMP_NTZ", "TIMESTAMP_LTZ", "TIMESTAMP_TZ"})


class WarehouseKind(StrEnum):
    SNOWFLAKE = "snowflake"
    BIGQUERY = "bigquery"


class IdentifierType(StrEnum):
    """What a mapped column identifies. The first four are the issue's; user_id matches `IdentifierKind`."""

    EMAIL = "email"
    PHONE = "phone"
    EXTERNAL_CONTACT = "external_contact_id"
    CONVERSATION = "conversation_id"
    USER = "user_id"


class ValueForm(StrEnum):
    """How a column stores the identifier: the normalised value, its plain SHA-256 (hex of the value), or
    our keyed hash (`KeyedHasher.hash_identifier`: hex HMAC-SHA256 of "kind:value")."""

    RAW = "raw"
    SHA256 = "sha256"
    KEYED_HMAC = "keyed_hmac"


class TableAction(StrEnum):
    DELETE = "delete"
    REDACT = "redact"  # set `redact_columns` to NULL on matching rows, keep the rows


@dataclass(frozen=True)
class MappingProblem:
    source: str
    connection: str | None
    table: str | None
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = [self.source]
        if self.connection is not None:
            where.append(f"connection {self.connection!r}")
        if self.table is not None:
            where.append(f"table {self.table!r}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return f"{', '.join(where)}: {self.reason}"


class MappingError(ValueError):
    """The mapping is unusable; raised before any statement touches a mapped table."""

    def __init__(self, problems: list[MappingProblem] | tuple[MappingProblem, ...]) -> None:
        self.problems = tuple(problems)
        lines = "\n  ".join(str(p) for p in self.problems)
        super().__init__(f"invalid warehouse mapping ({len(self.problems)} problem(s)):\n  {lines}")


@dataclass(frozen=True)
class ColumnMapping:
    name: str
    identifier: IdentifierType
    form: ValueForm


@dataclass(frozen=True)
class PartitionFilter:
    """Restrict statements to `column >= today - lookback_days` (partition pruning, or tables that require
    a partition filter). Rows older than that are NOT erased: only use it when older partitions expire."""

    column: str
    lookback_days: int


@dataclass(frozen=True)
class TableMapping:
    name: str
    action: TableAction
    columns: tuple[ColumnMapping, ...]
    redact_columns: tuple[str, ...] = ()
    partition_filter: PartitionFilter | None = None


@dataclass(frozen=True)
class ConnectionMapping:
    """One warehouse connection. Snowflake: `database` + `schema`; BigQuery: `dataset` (+ optional
    `project`, else the client's project)."""

    name: str
    kind: WarehouseKind
    airflow_conn_id: str
    tables: tuple[TableMapping, ...]
    database: str | None = None
    schema: str | None = None
    project: str | None = None
    dataset: str | None = None
    source: str = field(default="<mapping>", compare=False)


@dataclass(frozen=True)
class WarehouseMapping:
    connections: tuple[ConnectionMapping, ...]
    source: str = "<mapping>"

    @classmethod
    def from_dict(cls, data: Any, source: str = "<mapping>") -> WarehouseMapping:
        problems: list[MappingProblem] = []
        connections = _parse_document(data, source, problems)
        if problems:
            raise MappingError(problems)
        return cls(connections=tuple(connections), source=source)

    def connection(self, name: str) -> ConnectionMapping:
        for conn in self.connections:
            if conn.name == name:
                return conn
        raise KeyError(f"no warehouse connection named {name!r} in {self.source}")


def load_mapping(path: str | Path) -> WarehouseMapping:
    """Read and statically validate a mapping YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError([MappingProblem(str(path), None, None, None, f"cannot read YAML: {exc}")]) from exc
    return WarehouseMapping.from_dict(data, source=str(path))


# -- static validation ----------------------------------------------------------------------------------


def _parse_document(data: Any, source: str, problems: list[MappingProblem]) -> list[ConnectionMapping]:
    if not isinstance(data, Mapping):
        problems.append(MappingProblem(source, None, None, None, "the document must be a mapping"))
        return []
    version = data.get("version", 1)
    if version != 1:
        problems.append(MappingProblem(source, None, None, None, f"unsupported version {version!r} (want 1)"))
    raw_connections = data.get("connections")
    if not isinstance(raw_connections, list) or not raw_connections:
        problems.append(MappingProblem(source, None, None, None, "'connections' must be a non-empty list"))
        return []
    connections = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_connections):
        conn = _parse_connection(raw, index, source, problems)
        if conn is None:
            continue
        if conn.name in seen:
            problems.append(MappingProblem(source, conn.name, None, None, "duplicate connection name"))
        seen.add(conn.name)
        connections.append(conn)
    return connections


def _parse_connection(
    raw: Any, index: int, source: str, problems: list[MappingProblem]
) -> ConnectionMapping | None:
    if not isinstance(raw, Mapping):
        problems.append(MappingProblem(source, f"#{index}", None, None, "a connection must be a mapping"))
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(MappingProblem(source, f"#{index}", None, None, "'name' must be a non-empty string"))
        return None

    def problem(reason: str) -> None:
        problems.append(MappingProblem(source, name, None, None, reason))

    kind = _enum(WarehouseKind, raw.get("type"), "type", problem)
    conn_id = raw.get("airflow_conn_id")
    if not isinstance(conn_id, str) or not conn_id.strip():
        problem("'airflow_conn_id' must be a non-empty string")
    namespace: dict[str, str | None] = {"database": None, "schema": None, "project": None, "dataset": None}
    if kind is WarehouseKind.SNOWFLAKE:
        for key in ("database", "schema"):
            namespace[key] = _identifier_field(raw, key, problem, required=True)
    elif kind is WarehouseKind.BIGQUERY:
        namespace["dataset"] = _identifier_field(raw, "dataset", problem, required=True)
        project = raw.get("project")
        if project is not None and (not isinstance(project, str) or not PROJECT_ID.match(project)):
            problem(f"'project' {project!r} is not a valid Google Cloud project id")
        namespace["project"] = project if isinstance(project, str) else None
    raw_tables = raw.get("tables")
    tables: list[TableMapping] = []
    if not isinstance(raw_tables, list) or not raw_tables:
        problem("'tables' must be a non-empty list")
    else:
        seen: set[str] = set()
        for t_index, raw_table in enumerate(raw_tables):
            table = _parse_table(raw_table, t_index, name, source, problems)
            if table is None:
                continue
            if table.name.upper() in seen:
                problems.append(MappingProblem(source, name, table.name, None, "table mapped twice"))
            seen.add(table.name.upper())
            tables.append(table)
    if kind is None or not isinstance(conn_id, str):
        return None
    return ConnectionMapping(
        name=name, kind=kind, airflow_conn_id=conn_id, tables=tuple(tables), source=source, **namespace
    )


def _parse_table(
    raw: Any, index: int, connection: str, source: str, problems: list[MappingProblem]
) -> TableMapping | None:
    if not isinstance(raw, Mapping):
        problems.append(MappingProblem(source, connection, f"#{index}", None, "a table must be a mapping"))
        return None
    name = raw.get("name")
    label = name if isinstance(name, str) else f"#{index}"

    def problem(reason: str, column: str | None = None) -> None:
        problems.append(MappingProblem(source, connection, label, column, reason))

    if not isinstance(name, str) or not PLAIN_IDENTIFIER.match(name):
        problem("the table name must be a plain SQL identifier (letters, digits, underscore)")
    action = _enum(TableAction, raw.get("action", "delete"), "action", problem)
    columns = _parse_columns(raw.get("columns"), problem)
    redact_columns: tuple[str, ...] = ()
    raw_redact = raw.get("redact_columns")
    if action is TableAction.REDACT:
        if not isinstance(raw_redact, list) or not raw_redact:
            problem("action 'redact' needs a non-empty 'redact_columns' list (the columns set to NULL)")
        else:
            for col in raw_redact:
                if not isinstance(col, str) or not PLAIN_IDENTIFIER.match(col):
                    problem("not a plain SQL identifier", column=str(col))
            redact_columns = tuple(c for c in raw_redact if isinstance(c, str))
    elif raw_redact is not None:
        problem("'redact_columns' only applies to action 'redact'")
    partition_filter = _parse_partition_filter(raw.get("partition_filter"), problem)
    unknown = set(raw) - {"name", "action", "columns", "redact_columns", "partition_filter"}
    if unknown:
        problem(f"unknown keys {sorted(unknown)}")
    if not isinstance(name, str) or action is None or columns is None:
        return None
    return TableMapping(name, action, columns, redact_columns, partition_filter)


def _parse_columns(raw: Any, problem) -> tuple[ColumnMapping, ...] | None:
    if not isinstance(raw, list) or not raw:
        problem("'columns' must be a non-empty list of {name, identifier, form}")
        return None
    columns = []
    seen: set[str] = set()
    for item in raw:
        if not isinstance(item, Mapping):
            problem("a column must be a mapping {name, identifier, form}")
            continue
        col = item.get("name")
        if not isinstance(col, str) or not PLAIN_IDENTIFIER.match(col):
            problem("not a plain SQL identifier (letters, digits, underscore)", column=str(col))
            continue
        if col.upper() in seen:
            problem("column mapped twice", column=col)
        seen.add(col.upper())
        identifier = _enum(
            IdentifierType, item.get("identifier"), "identifier", lambda r, c=col: problem(r, c)
        )
        form = _enum(ValueForm, item.get("form", "raw"), "form", lambda r, c=col: problem(r, c))
        if identifier is not None and form is not None:
            columns.append(ColumnMapping(col, identifier, form))
    return tuple(columns)


def _parse_partition_filter(raw: Any, problem) -> PartitionFilter | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problem("'partition_filter' must be a mapping {column, lookback_days}")
        return None
    col, days = raw.get("column"), raw.get("lookback_days")
    ok = True
    if not isinstance(col, str) or not PLAIN_IDENTIFIER.match(col):
        problem("partition filter column is not a plain SQL identifier", column=str(col))
        ok = False
    if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
        problem("partition_filter.lookback_days must be a positive integer")
        ok = False
    return PartitionFilter(col, days) if ok else None


def _identifier_field(raw: Mapping, key: str, problem, *, required: bool) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            problem(f"'{key}' is required")
        return None
    if not isinstance(value, str) or not PLAIN_IDENTIFIER.match(value):
        problem(f"'{key}' {value!r} is not a plain SQL identifier")
        return None
    return value


def _enum(enum_cls, value: Any, key: str, problem):
    try:
        return enum_cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_cls)
        problem(f"'{key}' is {value!r}; expected one of: {allowed}")
        return None
