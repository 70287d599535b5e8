"""Set-based erasure plans: the key sets to load, and one parameterised statement per table per dialect.

Keys are grouped by (identifier type, value form): a group holds, for every erased subject, the value
the way a column of that group stores it (the normalised value, its SHA-256, or our keyed HMAC). The run
loads every group it needs into ONE session-temporary table `(key_group, key_value)`; each mapped table is
then matched with `column IN (SELECT key_value ... WHERE key_group = n)`, ORed over its mapped columns.

Identifier values never appear in SQL text: they reach the warehouse as bound parameters when the key
table is loaded. SQL text holds only quoted, validated catalog names, integer group ids and dates.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta

from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.identifiers import Identifier, IdentifierKind
from genesys_erasure.warehouse.catalog import ResolvedPartitionFilter, ResolvedTable
from genesys_erasure.warehouse.mapping import PLAIN_IDENTIFIER, IdentifierType, TableAction, ValueForm


@dataclass(frozen=True)
class ErasureSubjects:
    """Everything known about the subjects of one run: their identifiers and their conversations."""

    identifiers: tuple[Identifier, ...] = ()
    conversation_ids: tuple[str, ...] = field(default=(), repr=False)

    def __repr__(self) -> str:
        counts = f"identifiers={len(self.identifiers)}, conversation_ids={len(self.conversation_ids)}"
        return f"ErasureSubjects({counts})"


@dataclass(frozen=True, order=True)
class KeyGroup:
    identifier: IdentifierType
    form: ValueForm


@dataclass(frozen=True)
class KeySet:
    """The values to load: group id -> sorted distinct values. `group_ids` maps each group to its id."""

    group_ids: Mapping[KeyGroup, int]
    values: Mapping[int, tuple[str, ...]] = field(repr=False)

    @property
    def size(self) -> int:
        return sum(len(v) for v in self.values.values())

    def rows(self) -> list[tuple[int, str]]:
        return [(group, value) for group, values in sorted(self.values.items()) for value in values]


def key_groups_for(tables: Iterable[ResolvedTable]) -> dict[KeyGroup, int]:
    """Stable small integer ids for the groups the tables need."""
    groups = sorted({KeyGroup(c.identifier, c.form) for t in tables for c in t.columns})
    return {group: index for index, group in enumerate(groups, start=1)}


def build_key_set(
    subjects: ErasureSubjects, hasher: KeyedHasher, group_ids: Mapping[KeyGroup, int]
) -> KeySet:
    raw_by_type: dict[IdentifierType, set[str]] = {t: set() for t in IdentifierType}
    for identifier in subjects.identifiers:
        raw_by_type[IdentifierType(identifier.kind.value)].add(identifier.value)
    raw_by_type[IdentifierType.CONVERSATION].update(subjects.conversation_ids)
    values = {}
    for group, group_id in group_ids.items():
        raw = raw_by_type[group.identifier]
        values[group_id] = tuple(sorted({_stored_form(group, value, hasher) for value in raw}))
    return KeySet(dict(group_ids), values)


def _stored_form(group: KeyGroup, value: str, hasher: KeyedHasher) -> str:
    if group.form is ValueForm.RAW:
        return value
    if group.form is ValueForm.SHA256:
        return hashlib.sha256(value.encode("utf-8")).hexdigest()
    if group.identifier is IdentifierType.CONVERSATION:
        # Not an IdentifierKind, but hashed the same way: HMAC of "conversation_id:<id>".
        return hasher.hash_text(f"{group.identifier.value}:{value}")
    return hasher.hash_identifier(Identifier(IdentifierKind(group.identifier.value), value))


def new_keys_table_name() -> str:
    """A fresh name per run: temp tables can outlive a dropped connection for a while."""
    return f"erasure_keys_{uuid.uuid4().hex[:16]}"


def partition_floor(pf: ResolvedPartitionFilter, today: date) -> date:
    return today - timedelta(days=pf.lookback_days)


# -- Snowflake --------------------------------------------------------------------------------------------


def quote_snowflake(name: str) -> str:
    _require_plain(name)
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class SnowflakeTablePlan:
    table: ResolvedTable
    qualified_name: str
    count_sql: str  # the matching rows still there: run after the DML, in its transaction
    dml_sql: str
    params: tuple = ()


def plan_snowflake_table(
    table: ResolvedTable,
    database: str,
    schema: str,
    keys_table: str,
    group_ids: Mapping[KeyGroup, int],
    today: date,
) -> SnowflakeTablePlan:
    target = ".".join(quote_snowflake(p) for p in (database, schema, table.name))
    keys = quote_snowflake(keys_table)  # session-temporary, in the session's current schema
    matches, params = [], []
    for col in table.columns:
        matches.append(
            f"{quote_snowflake(col.name)} IN (SELECT k.KEY_VALUE FROM {keys} AS k WHERE k.KEY_GROUP = %s)"
        )
        params.append(group_ids[KeyGroup(col.identifier, col.form)])
    where = "(" + " OR ".join(matches) + ")"
    if table.partition_filter is not None:
        where += f" AND {quote_snowflake(table.partition_filter.column)} >= %s"
        params.append(partition_floor(table.partition_filter, today))
    if table.action is TableAction.REDACT:
        redact = [quote_snowflake(c) for c in table.redact_columns]
        where += " AND (" + " OR ".join(f"{c} IS NOT NULL" for c in redact) + ")"
        dml = f"UPDATE {target} SET " + ", ".join(f"{c} = NULL" for c in redact) + f" WHERE {where}"
    else:
        dml = f"DELETE FROM {target} WHERE {where}"
    return SnowflakeTablePlan(
        table, target, f"SELECT COUNT(*) FROM {target} WHERE {where}", dml, tuple(params)
    )


# -- BigQuery ---------------------------------------------------------------------------------------------


def quote_bigquery(name: str) -> str:
    if "`" in name or "\\" in name or not name:
        raise ValueError("refusing to quote a BigQuery name containing a backtick or backslash")
    return f"`{name}`"


@dataclass(frozen=True)
class BigQueryTablePlan:
    table: ResolvedTable
    qualified_name: str
    script: str  # one job: transaction with count before, the ONE DML statement, count after
    count_sql: str  # standalone read-only count (used when the DML could not run)


def plan_bigquery_table(
    table: ResolvedTable,
    project: str,
    dataset: str,
    keys_table: str,
    group_ids: Mapping[KeyGroup, int],
    today: date,
) -> BigQueryTablePlan:
    for part in (dataset, table.name, keys_table):
        _require_plain(part)
    # One quoted path (`p.d.t`): valid BigQuery, and the only form bqemulator resolves.
    target = quote_bigquery(f"{project}.{dataset}.{table.name}")
    keys = quote_bigquery(keys_table)
    matches = []
    for col in table.columns:
        group_id = int(group_ids[KeyGroup(col.identifier, col.form)])
        subquery = f"SELECT k.key_value FROM {keys} AS k WHERE k.key_group = {group_id}"
        matches.append(f"{quote_bigquery(col.name)} IN ({subquery})")
    where = "(" + " OR ".join(matches) + ")"
    if table.partition_filter is not None:
        pf = table.partition_filter
        where += (
            f" AND {quote_bigquery(pf.column)} >= {_bigquery_date_literal(pf, partition_floor(pf, today))}"
        )
    if table.action is TableAction.REDACT:
        redact = [quote_bigquery(c) for c in table.redact_columns]
        where += " AND (" + " OR ".join(f"{c} IS NOT NULL" for c in redact) + ")"
        dml = f"UPDATE {target} SET " + ", ".join(f"{c} = NULL" for c in redact) + f" WHERE {where}"
    else:
        dml = f"DELETE FROM {target} WHERE {where}"
    count = f"SELECT COUNT(*) FROM {target} WHERE {where}"
    script = "\n".join(
        [
            "DECLARE erasure_rows_before INT64;",
            "DECLARE erasure_rows_after INT64;",
            "BEGIN TRANSACTION;",
            f"SET erasure_rows_before = ({count});",
            f"{dml};",
            f"SET erasure_rows_after = ({count});",
            "COMMIT TRANSACTION;",
            "SELECT erasure_rows_before AS rows_before, erasure_rows_after AS rows_after;",
        ]
    )
    return BigQueryTablePlan(table, target, script, f"SELECT COUNT(*) AS n FROM {target} WHERE {where}")


def _bigquery_date_literal(pf: ResolvedPartitionFilter, floor: date) -> str:
    day = floor.isoformat()  # a date object's isoformat is digits and dashes only
    if pf.data_type == "DATE":
        return f"DATE '{day}'"
    if pf.data_type == "DATETIME":
        return f"DATETIME '{day} 00:00:00'"
    return f"TIMESTAMP '{day} 00:00:00+00'"


def _require_plain(name: str) -> None:
    if not PLAIN_IDENTIFIER.match(name):
        raise ValueError("refusing to build SQL with a name that is not a plain SQL identifier")
