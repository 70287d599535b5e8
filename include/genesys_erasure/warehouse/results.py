"""What one run did to one warehouse table: the numbers the ledger and the evidence record.

No identifier values here, only names and counts, so a result can go to XCom, logs and reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class TableErasureResult:
    connection: str
    table: str  # qualified, as the warehouse spells it
    action: str  # "delete" or "redact"
    # Rows of erased subjects (still holding personal data) before the statement. Snowflake: the rows the
    # statement changed (its rowcount: it matched exactly these); BigQuery: a count in the same transaction.
    rows_matched_before: int
    rows_affected: int
    rows_remaining: int  # matching rows counted after the statement, in the same transaction
    unrecoverable_after: datetime  # UTC: after this, neither time travel nor fail-safe can bring rows back
    retention_source: str  # where the time-travel setting came from; "default" = documented default
    pending_streaming_buffer: bool  # BigQuery: matching rows sit in the streaming buffer; retry next run
    statements_issued: int  # DELETE/UPDATE statements run against this table in this run

    @property
    def verified(self) -> bool:
        """Zero rows of erased subjects remain and nothing is waiting for a retry."""
        return self.rows_remaining == 0 and not self.pending_streaming_buffer

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form for XCom, the ledger and the evidence."""
        return {
            "connection": self.connection,
            "table": self.table,
            "action": self.action,
            "rows_matched_before": self.rows_matched_before,
            "rows_affected": self.rows_affected,
            "rows_remaining": self.rows_remaining,
            "unrecoverable_after": self.unrecoverable_after.isoformat(),
            "retention_source": self.retention_source,
            "pending_streaming_buffer": self.pending_streaming_buffer,
            "statements_issued": self.statements_issued,
            "verified": self.verified,
        }


class WarehouseVerificationError(RuntimeError):
    """Rows of erased subjects remain in a mapped table after the run."""

    def __init__(self, failures: tuple[TableErasureResult, ...]) -> None:
        self.failures = failures
        detail = "; ".join(
            f"{r.connection}/{r.table}: {r.rows_remaining} row(s) remain"
            + (" (streaming buffer, retry later)" if r.pending_streaming_buffer else "")
            for r in failures
        )
        super().__init__(f"warehouse erasure not verified: {detail}")


def unverified(results: Iterable[TableErasureResult]) -> tuple[TableErasureResult, ...]:
    return tuple(r for r in results if not r.verified)


def require_verified(results: Iterable[TableErasureResult]) -> None:
    """Raise `WarehouseVerificationError` unless every table verified (the Airflow layer fails loudly)."""
    failures = unverified(results)
    if failures:
        raise WarehouseVerificationError(failures)
