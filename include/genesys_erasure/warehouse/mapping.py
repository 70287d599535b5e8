"""The warehouse mapping: which tables and columns of which warehouse hold copies of Genesys personal data.

The mapping is read once at start and validated twice before anything is deleted: statically here
(`WarehouseMapping.from_dict`: shapes, enums, identifier syntax, declared by the frozen pydantic dataclasses
below) and against the warehouse's information schema (`resolve_against_catalog`: tables and columns
exist, column types fit). Every problem names the file, connection, table and column, and all problems of
a file are reported together.

Table and column names must be plain SQL identifiers: they are quoted when SQL is built, but a name like
`email; DROP TABLE x` is refused here rather than trusted to the quoting.
"""

from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml
from pydantic import (
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

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


# -- the mapping's shape ------------------------------------------------------------------------------------

# Pydantic dataclasses rather than BaseModels: a connection's `schema` would shadow `BaseModel.schema`, and
# callers treat these as plain frozen dataclasses.
MODEL_CONFIG = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)
PlainName = Annotated[str, StringConstraints(strict=True, pattern=PLAIN_IDENTIFIER.pattern)]
ProjectId = Annotated[str, StringConstraints(strict=True, pattern=PROJECT_ID.pattern)]
NonBlank = Annotated[str, StringConstraints(strict=True, pattern=r"\S")]
# The error type of a rule across fields (checked in `_with_rules`); its message is the reason as shown.
_RULE = "mapping_rule"


@pydantic.dataclasses.dataclass(config=MODEL_CONFIG, kw_only=True)
class ColumnMapping:
    name: PlainName = Field(description="The column's name in the table.")
    identifier: IdentifierType = Field(description="What the column identifies.")
    form: ValueForm = Field(ValueForm.RAW, description="How the column stores the identifier.")


@pydantic.dataclasses.dataclass(config=MODEL_CONFIG, kw_only=True)
class PartitionFilter:
    """Restrict statements to `column >= today - lookback_days` (partition pruning, or tables that require
    a partition filter). Rows older than that are NOT erased: only use it when older partitions expire."""

    column: PlainName
    lookback_days: StrictInt = Field(gt=0)


@pydantic.dataclasses.dataclass(config=MODEL_CONFIG, kw_only=True)
class TableMapping:
    name: PlainName = Field(
        description="The table's name in the connection's database and schema or dataset."
    )
    action: TableAction = Field(TableAction.DELETE, description="Delete matching rows, or redact columns.")
    columns: tuple[ColumnMapping, ...] = Field(min_length=1, description="The columns matched against.")
    redact_columns: tuple[PlainName, ...] = Field((), description="action redact: the columns set to NULL.")
    partition_filter: PartitionFilter | None = None

    @model_validator(mode="wrap")
    @classmethod
    def _rules(cls, data: Any, handler: Callable[[Any], TableMapping]) -> TableMapping:
        problems = []
        if isinstance(data, Mapping):
            raw_redact = data.get("redact_columns")
            if data.get("action", "delete") == TableAction.REDACT:
                if not isinstance(raw_redact, list) or not raw_redact:
                    problems.append(
                        _rule(
                            ("redact_columns",),
                            "action 'redact' needs a non-empty 'redact_columns' list "
                            "(the columns set to NULL)",
                        )
                    )
            elif raw_redact is not None:
                problems.append(
                    _rule(("redact_columns",), "'redact_columns' only applies to action 'redact'")
                )
            problems += _twice(data.get("columns"), ("columns",), "column mapped twice")
        return _with_rules(data, handler, problems)


@pydantic.dataclasses.dataclass(config=MODEL_CONFIG, kw_only=True)
class ConnectionMapping:
    """One warehouse connection. Snowflake: `database` + `schema`; BigQuery: `dataset` (+ optional
    `project`, else the client's project)."""

    name: NonBlank = Field(description="The connection's name in the mapping (unique).")
    kind: WarehouseKind = Field(alias="type", description="The warehouse: snowflake or bigquery.")
    airflow_conn_id: NonBlank = Field(description="The Airflow connection to the warehouse.")
    tables: tuple[TableMapping, ...] = Field(min_length=1, description="The mapped tables.")
    database: PlainName | None = None
    schema: PlainName | None = None
    project: ProjectId | None = None
    dataset: PlainName | None = None
    source: str = dataclasses.field(default="<mapping>", init=False, compare=False)

    @model_validator(mode="wrap")
    @classmethod
    def _rules(
        cls, data: Any, handler: Callable[[Any], ConnectionMapping], info: ValidationInfo
    ) -> ConnectionMapping:
        problems = []
        if isinstance(data, Mapping):
            required = {"snowflake": ("database", "schema"), "bigquery": ("dataset",)}
            for key in required.get(str(data.get("type")), ()):
                if data.get(key) is None:
                    problems.append(_rule((key,), f"'{key}' is required"))
            problems += _twice(data.get("tables"), ("tables",), "table mapped twice")
        connection = _with_rules(data, handler, problems)
        object.__setattr__(connection, "source", (info.context or {}).get("source", "<mapping>"))
        return connection


@pydantic.dataclasses.dataclass(config=MODEL_CONFIG, kw_only=True)
class WarehouseMapping:
    version: Literal[1] = Field(1, description="The mapping format's version.")
    connections: tuple[ConnectionMapping, ...] = Field(min_length=1, description="The warehouse connections.")
    source: str = dataclasses.field(default="<mapping>", init=False)

    @model_validator(mode="wrap")
    @classmethod
    def _rules(
        cls, data: Any, handler: Callable[[Any], WarehouseMapping], info: ValidationInfo
    ) -> WarehouseMapping:
        problems = []
        if isinstance(data, Mapping):
            problems += _twice(
                data.get("connections"), ("connections",), "duplicate connection name", fold=False
            )
        mapping = _with_rules(data, handler, problems)
        object.__setattr__(mapping, "source", (info.context or {}).get("source", "<mapping>"))
        return mapping

    @classmethod
    def from_dict(cls, data: Any, source: str = "<mapping>") -> WarehouseMapping:
        try:
            return _ADAPTER.validate_python(data, context={"source": source})
        except ValidationError as error:
            raise MappingError(_problems(error, data, source)) from None

    def connection(self, name: str) -> ConnectionMapping:
        for conn in self.connections:
            if conn.name == name:
                return conn
        raise KeyError(f"no warehouse connection named {name!r} in {self.source}")


_ADAPTER = TypeAdapter(WarehouseMapping)


def load_mapping(path: str | Path) -> WarehouseMapping:
    """Read and statically validate a mapping YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError([MappingProblem(str(path), None, None, None, f"cannot read YAML: {exc}")]) from exc
    return WarehouseMapping.from_dict(data, source=str(path))


# -- rules across fields ---------------------------------------------------------------------------------
# Checked on the raw input next to the fields' own validation, so that they are reported together with
# every other problem of the file (an after-validator would only run once all fields are valid).


def _rule(loc: tuple[str | int, ...], reason: str) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError(_RULE, reason), loc=loc, input=None)


def _twice(items: Any, loc: tuple[str, ...], reason: str, *, fold: bool = True) -> list[InitErrorDetails]:
    """A problem at each list entry whose name (case-insensitively, unless `fold` is off) came before."""
    if not isinstance(items, list):
        return []
    seen: set[str] = set()
    problems = []
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or (fold and not PLAIN_IDENTIFIER.match(name)):
            continue
        key = name.upper() if fold else name
        if key in seen:
            problems.append(_rule((*loc, index), reason))
        seen.add(key)
    return problems


def _with_rules(data: Any, handler: Callable[[Any], Any], problems: list[InitErrorDetails]) -> Any:
    try:
        result = handler(data)
    except ValidationError as error:
        raise _combined(error.title, [*_as_details(error), *problems]) from None
    if problems:
        raise _combined("mapping", problems)
    return result


def _as_details(error: ValidationError) -> list[InitErrorDetails]:
    # Re-raised together with the rules' problems, keeping type, location and context; a rule's message
    # is its reason, any other message is rebuilt from type and context when the problems are described.
    return [
        InitErrorDetails(
            type=PydanticCustomError(e["type"], e["msg"] if e["type"] == _RULE else e["type"], e.get("ctx")),
            loc=e["loc"],
            input=None,
        )
        for e in error.errors(include_url=False, include_input=False)
    ]


def _combined(title: str, details: list[InitErrorDetails]) -> ValidationError:
    return ValidationError.from_exception_data(title, details, hide_input=True)


# -- pydantic errors as MappingProblems --------------------------------------------------------------------

_ENUMS: dict[str, type[StrEnum]] = {
    "type": WarehouseKind,
    "action": TableAction,
    "identifier": IdentifierType,
    "form": ValueForm,
}
_REASONS: dict[tuple[str, str | None], str] = {
    ("document", None): "the document must be a mapping",
    ("document", "version"): "unsupported version (want 1)",
    ("document", "connections"): "'connections' must be a non-empty list",
    ("connection", None): "a connection must be a mapping",
    ("connection", "name"): "'name' must be a non-empty string",
    ("connection", "airflow_conn_id"): "'airflow_conn_id' must be a non-empty string",
    ("connection", "database"): "'database' is not a plain SQL identifier",
    ("connection", "schema"): "'schema' is not a plain SQL identifier",
    ("connection", "dataset"): "'dataset' is not a plain SQL identifier",
    ("connection", "project"): "'project' is not a valid Google Cloud project id",
    ("connection", "tables"): "'tables' must be a non-empty list",
    ("table", None): "a table must be a mapping",
    ("table", "name"): "the table name must be a plain SQL identifier (letters, digits, underscore)",
    ("table", "columns"): "'columns' must be a non-empty list of {name, identifier, form}",
    ("table", "redact_columns"): "'redact_columns' must be a list of column names",
    ("table", "partition_filter"): "'partition_filter' must be a mapping {column, lookback_days}",
    ("redact_column", None): "not a plain SQL identifier",
    ("partition_filter", "column"): "partition filter column is not a plain SQL identifier",
    ("partition_filter", "lookback_days"): "partition_filter.lookback_days must be a positive integer",
    ("column", None): "a column must be a mapping {name, identifier, form}",
    ("column", "name"): "not a plain SQL identifier (letters, digits, underscore)",
}
_UNKNOWN_KEY = frozenset({"extra_forbidden", "unexpected_keyword_argument"})


def _problems(error: ValidationError, data: Any, source: str) -> list[MappingProblem]:
    """Each pydantic error as a problem at its connection, table and column (by name, or `#index` when the
    entry has no usable name), with a reason naming the key; never the value given."""
    problems: list[MappingProblem] = []
    unknown: dict[tuple[str | None, str | None, str | None], list[str]] = defaultdict(list)
    errors = error.errors(include_url=False, include_input=False)
    for e in errors:
        if e["type"] == "too_short" and any(
            len(o["loc"]) > len(e["loc"]) and o["loc"][: len(e["loc"])] == e["loc"] for o in errors
        ):
            continue  # a list of only invalid entries counts as empty too; its entries' problems say why
        level, (connection, table, column), rest = _locate(e["loc"], data)
        if e["type"] in _UNKNOWN_KEY and rest:
            unknown[(connection, table, column)].append(str(rest[-1]))
            continue
        problems.append(MappingProblem(source, connection, table, column, _reason(level, rest, e)))
    for (connection, table, column), keys in unknown.items():
        problems.append(MappingProblem(source, connection, table, column, f"unknown keys {sorted(keys)}"))
    return problems


def _locate(
    loc: tuple[Any, ...], data: Any
) -> tuple[str, tuple[str | None, str | None, str | None], tuple[Any, ...]]:
    connection = table = column = None
    level, rest = "document", loc
    if rest[:1] == ("connections",) and len(rest) >= 2 and isinstance(rest[1], int):
        raw_connection = _entry(data, "connections", rest[1])
        level, connection, rest = "connection", _label(raw_connection, rest[1]), rest[2:]
        if rest[:1] == ("tables",) and len(rest) >= 2 and isinstance(rest[1], int):
            raw_table = _entry(raw_connection, "tables", rest[1])
            level, table, rest = "table", _label(raw_table, rest[1], blank_ok=True), rest[2:]
            if rest[:1] == ("columns",) and len(rest) >= 2 and isinstance(rest[1], int):
                index, raw_column = rest[1], _entry(raw_table, "columns", rest[1])
                level, rest = "column", rest[2:]
                if isinstance(raw_column, Mapping):
                    column = _shown(raw_column.get("name"), f"#{index}")
            elif rest[:1] == ("redact_columns",) and len(rest) >= 2 and isinstance(rest[1], int):
                level, column, rest = (
                    "redact_column",
                    _shown(_entry(raw_table, "redact_columns", rest[1]), f"#{rest[1]}"),
                    rest[2:],
                )
            elif rest[:1] == ("partition_filter",) and len(rest) >= 2:
                level, rest = "partition_filter", rest[1:]
                raw_filter = raw_table.get("partition_filter") if isinstance(raw_table, Mapping) else None
                if rest[0] == "column" and isinstance(raw_filter, Mapping):
                    column = str(raw_filter.get("column"))
    return level, (connection, table, column), rest


def _entry(raw: Any, key: str, index: int) -> Any:
    items = raw.get(key) if isinstance(raw, Mapping) else None
    return items[index] if isinstance(items, list) and 0 <= index < len(items) else None


def _label(raw: Any, index: int, *, blank_ok: bool = False) -> str:
    name = raw.get("name") if isinstance(raw, Mapping) else None
    if isinstance(name, str) and not name.strip() and blank_ok:
        return name
    return _shown(name, f"#{index}")


def _shown(name: Any, fallback: str) -> str:
    """A name as the error shows it: only a plain identifier, else `fallback` (its position). A name that
    is not plain may be an injection attempt or data pasted in the wrong place: the error never repeats it."""
    return name if isinstance(name, str) and PLAIN_IDENTIFIER.match(name) else fallback


def _reason(level: str, rest: tuple[Any, ...], error: Mapping[str, Any]) -> str:
    if error["type"] == _RULE:
        return error["msg"]
    key = str(rest[0]) if rest else None
    if key in _ENUMS and len(rest) == 1:
        if error["type"] == "missing":
            return f"'{key}' is required"
        return f"'{key}' is not one of: {', '.join(member.value for member in _ENUMS[key])}"
    if (level, key) in _REASONS:
        return _REASONS[(level, key)]
    if error["type"] == "missing" and key is not None:
        return f"'{key}' is required"
    return f"'{key}' is invalid" if key else "invalid"
