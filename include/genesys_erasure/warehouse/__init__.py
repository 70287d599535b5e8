"""Downstream erasure: delete or redact erased subjects in Snowflake and BigQuery copies, and prove it.

Free of Airflow: executors take a DB-API connection (Snowflake) or a `bigquery.Client` (BigQuery);
`erase_connection` / `check_connection` pick the executor from the mapping's warehouse type. The executor
modules are imported on use, so importing this package does not load google-cloud-bigquery.
"""

from genesys_erasure.warehouse.catalog import ResolvedTable, TableCatalog, resolve_against_catalog
from genesys_erasure.warehouse.executors import check_connection, erase_connection
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
    "check_connection",
    "erase_connection",
    "load_mapping",
    "require_verified",
    "resolve_against_catalog",
    "unverified",
]
