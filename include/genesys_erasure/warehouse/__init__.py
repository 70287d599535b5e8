"""Downstream erasure: delete or redact erased subjects in Snowflake and BigQuery copies, and prove it.

Free of Airflow: executors take a DB-API connection (Snowflake) or a `bigquery.Client` (BigQuery).
`bigquery` is imported lazily by its executor module so the Snowflake path does not pay for it.
"""

from genesys_erasure.warehouse.catalog import ResolvedTable, TableCatalog, resolve_against_catalog
from genesys_erasure.warehouse.mapping import (
    ColumnMapping,
    ConnectionMapping,
    IdentifierType,
    MappingError,
    MappingProblem,
    PartitionFilter,
    TableAction,
    TableMapping,
    ValueForm,
    WarehouseKind,
    WarehouseMapping,
    load_mapping,
)
from genesys_erasure.warehouse.planning import ErasureSubjects
from genesys_erasure.warehouse.results import (
    TableErasureResult,
    WarehouseVerificationError,
    require_verified,
    unverified,
)

__all__ = [
    "ColumnMapping",
    "ConnectionMapping",
    "ErasureSubjects",
    "IdentifierType",
    "MappingError",
    "MappingProblem",
    "PartitionFilter",
    "ResolvedTable",
    "TableAction",
    "TableCatalog",
    "TableErasureResult",
    "TableMapping",
    "ValueForm",
    "WarehouseKind",
    "WarehouseMapping",
    "WarehouseVerificationError",
    "load_mapping",
    "require_verified",
    "resolve_against_catalog",
    "unverified",
]
