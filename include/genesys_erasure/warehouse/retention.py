"""When deleted warehouse rows become unrecoverable: time travel plus fail-safe, per warehouse.

A DELETE in Snowflake or BigQuery is not the end of the data: it stays readable through time travel, then
sits in a fail-safe copy that the vendor can restore. The evidence states the date after which neither
applies. Where the warehouse does not tell us its setting, the documented default is used and the result
says so (`source == "default"`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# Snowflake: DATA_RETENTION_TIME_IN_DAYS defaults to 1; permanent tables add 7 days of fail-safe,
# transient and temporary tables have none.
SNOWFLAKE_DEFAULT_RETENTION_DAYS = 1
SNOWFLAKE_FAIL_SAFE = timedelta(days=7)
# BigQuery: the dataset's max_time_travel_hours defaults to 168 (7 days); fail-safe is always 7 days.
BIGQUERY_DEFAULT_TIME_TRAVEL_HOURS = 168
BIGQUERY_FAIL_SAFE = timedelta(days=7)

SOURCE_DEFAULT = "default"


@dataclass(frozen=True)
class RetentionWindow:
    time_travel: timedelta
    fail_safe: timedelta
    source: str  # where time_travel came from, e.g. "show_tables", "dataset_metadata", or "default"

    def unrecoverable_after(self, deleted_at: datetime) -> datetime:
        return deleted_at + self.time_travel + self.fail_safe


def snowflake_window(retention_days: object, table_kind: object, source: str) -> RetentionWindow:
    """`retention_days`/`table_kind` as SHOW TABLES reports them (retention_time, kind); None if absent."""
    kind = str(table_kind or "TABLE").upper()
    fail_safe = timedelta(0) if kind in ("TRANSIENT", "TEMPORARY") else SNOWFLAKE_FAIL_SAFE
    days = _non_negative_int(retention_days)
    if days is None:
        return RetentionWindow(timedelta(days=SNOWFLAKE_DEFAULT_RETENTION_DAYS), fail_safe, SOURCE_DEFAULT)
    return RetentionWindow(timedelta(days=days), fail_safe, source)


def bigquery_window(max_time_travel_hours: object, source: str) -> RetentionWindow:
    hours = _non_negative_int(max_time_travel_hours)
    if hours is None:
        return RetentionWindow(
            timedelta(hours=BIGQUERY_DEFAULT_TIME_TRAVEL_HOURS), BIGQUERY_FAIL_SAFE, SOURCE_DEFAULT
        )
    return RetentionWindow(timedelta(hours=hours), BIGQUERY_FAIL_SAFE, source)


def _non_negative_int(value: object) -> int | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number >= 0 else None
