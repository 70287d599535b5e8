"""Pick the executor for a mapped connection: the one entry point the Airflow layer needs per connection."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.warehouse.catalog import ResolvedTable
from genesys_erasure.warehouse.mapping import ConnectionMapping, WarehouseKind
from genesys_erasure.warehouse.planning import ErasureSubjects
from genesys_erasure.warehouse.results import TableErasureResult


def _utc_now() -> datetime:
    return datetime.now(UTC)


def check_connection(handle: Any, conn: ConnectionMapping) -> tuple[ResolvedTable, ...]:
    """Check `conn`'s tables and columns against the warehouse; raises `MappingError`. Changes nothing."""
    if conn.kind is WarehouseKind.SNOWFLAKE:
        from genesys_erasure.warehouse.snowflake import check_snowflake_mapping

        return check_snowflake_mapping(handle, conn)
    from genesys_erasure.warehouse.bigquery import check_bigquery_mapping

    return check_bigquery_mapping(handle, conn)


def erase_connection(
    handle: Any,
    conn: ConnectionMapping,
    subjects: ErasureSubjects,
    hasher: KeyedHasher,
    *,
    clock: Callable[[], datetime] = _utc_now,
) -> tuple[TableErasureResult, ...]:
    """Erase `subjects` from every table of `conn`. `handle`: a Snowflake DB-API connection or a
    `bigquery.Client`, matching `conn.kind`."""
    if conn.kind is WarehouseKind.SNOWFLAKE:
        from genesys_erasure.warehouse.snowflake import erase_snowflake

        return erase_snowflake(handle, conn, subjects, hasher, clock=clock)
    from genesys_erasure.warehouse.bigquery import erase_bigquery

    return erase_bigquery(handle, conn, subjects, hasher, clock=clock)
