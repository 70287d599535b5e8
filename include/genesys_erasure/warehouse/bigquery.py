"""Erase subjects from the BigQuery tables of one mapped dataset, through a `bigquery.Client`.

The Airflow layer supplies the client (see genesys_erasure/tasks/warehouse_connections.py). Per run: check the
mapping against INFORMATION_SCHEMA.COLUMNS, read the dataset's time-travel window, open a session and load
all keys into one session TEMP table (bound array parameters; for large sets a load job, key_loading.py),
then per table ONE script job: a transaction with count before, ONE DELETE/UPDATE, count after. BigQuery
allows 2 running and 20 queued DML statements per table; this executor runs one job at a time and waits
for it, so it never queues more than one (the Airflow pool keeps separate runs apart). The script job is
inserted once under its own job id; when the answer to the insert is lost, the job is looked up by that id
rather than inserted again (`_Session.run_once`).

Rows still in the streaming buffer (written by `tabledata.insertAll` in the last ~30 minutes) cannot be
changed by DML: BigQuery fails the statement, the transaction rolls back, and the table is reported as
`pending_streaming_buffer` with its matching rows counted, so the next run retries it.

rows_affected is `before - after` inside the transaction (exact: the DML removes every matching row, and
the transaction sees no other writer). The count before costs a third read of the table (Snowflake's
executor reads twice, taking the DML's own rowcount): the script's way to the DML's count is `@@row_count`,
which bqemulator cannot parse, and a DML job of its own (`numDmlAffectedRows`) would leave the transaction,
so a failure after it would lose the count of rows it removed (bench/RESULTS.md §4).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime

import requests
from google.api_core.exceptions import GoogleAPICallError, NotFound, ServerError
from google.cloud import bigquery

from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.warehouse.catalog import ResolvedTable, TableCatalog, resolve_against_catalog
from genesys_erasure.warehouse.key_loading import (
    BIGQUERY_BULK_MIN_KEYS,
    BIGQUERY_REQUEST_LIMIT,
    STATEMENT_HEADROOM,
    SessionDatasetNotFound,
    bigquery_bulk_load,
    choose_bulk,
    key_load_error,
    value_chunks,
)
from genesys_erasure.warehouse.mapping import ConnectionMapping, WarehouseKind
from genesys_erasure.warehouse.planning import (
    BigQueryTablePlan,
    ErasureSubjects,
    KeySet,
    build_key_set,
    key_groups_for,
    new_keys_table_name,
    plan_bigquery_table,
    quote_bigquery,
)
from genesys_erasure.warehouse.results import TableErasureResult
from genesys_erasure.warehouse.retention import RetentionWindow, bigquery_window

STREAMING_BUFFER_MARKER = "streaming buffer"
# The request may or may not have reached the service: no answer (connection dropped, timed out) or a 5xx.
ANSWER_LOST = (requests.exceptions.RequestException, ConnectionError, ServerError)
log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def is_streaming_buffer_error(exc: BaseException) -> bool:
    """True for BigQuery's refusal to run DML over streaming-buffer rows. The service answers 400
    invalidQuery: "UPDATE or DELETE statement over table P.D.T would affect rows in the streaming buffer,
    which is not supported"."""
    if not isinstance(exc, GoogleAPICallError):
        return False
    messages = [str(getattr(exc, "message", "") or "")]
    messages += [
        str(e.get("message", "")) for e in (getattr(exc, "errors", None) or []) if isinstance(e, dict)
    ]
    return any(STREAMING_BUFFER_MARKER in m.lower() for m in messages)


def project_of(client: bigquery.Client, conn: ConnectionMapping) -> str:
    if conn.kind is not WarehouseKind.BIGQUERY or conn.dataset is None:
        raise ValueError(f"connection {conn.name!r} is not a BigQuery mapping")
    project = conn.project or client.project
    if not project:
        raise ValueError(f"connection {conn.name!r}: no project in the mapping or the client")
    return project


def read_bigquery_catalog(client: bigquery.Client, conn: ConnectionMapping) -> TableCatalog:
    project = project_of(client, conn)
    schema_view = quote_bigquery(f"{project}.{conn.dataset}.INFORMATION_SCHEMA.COLUMNS")
    sql = (
        f"SELECT table_name, column_name, data_type FROM {schema_view}"
        " WHERE LOWER(table_name) IN UNNEST(@names)"
    )
    names = sorted({t.name.lower() for t in conn.tables})
    config = bigquery.QueryJobConfig(
        query_parameters=[bigquery.ArrayQueryParameter("names", "STRING", names)]
    )
    tables: dict[str, dict[str, str]] = {}
    for row in client.query(sql, job_config=config).result():
        tables.setdefault(row[0], {})[row[1]] = str(row[2]).upper()
    return TableCatalog(tables)


def check_bigquery_mapping(client: bigquery.Client, conn: ConnectionMapping) -> tuple[ResolvedTable, ...]:
    """Raise `MappingError` (naming file/connection/table/column) unless every mapped name exists."""
    return resolve_against_catalog(conn, read_bigquery_catalog(client, conn))


def read_bigquery_retention(client: bigquery.Client, conn: ConnectionMapping) -> RetentionWindow:
    """The dataset's `max_time_travel_hours` (+ 7 days fail-safe); the documented default if unset."""
    return _read_dataset(client, conn)[0]


def _read_dataset(client: bigquery.Client, conn: ConnectionMapping) -> tuple[RetentionWindow, str | None]:
    try:
        dataset = client.get_dataset(bigquery.DatasetReference(project_of(client, conn), conn.dataset))
    except GoogleAPICallError:
        return bigquery_window(None, source="dataset_metadata"), None
    return bigquery_window(dataset.max_time_travel_hours, source="dataset_metadata"), dataset.location


def erase_bigquery(
    client: bigquery.Client,
    conn: ConnectionMapping,
    subjects: ErasureSubjects,
    hasher: KeyedHasher,
    *,
    clock: Callable[[], datetime] = _utc_now,
    bulk_min_keys: int = BIGQUERY_BULK_MIN_KEYS,
) -> tuple[TableErasureResult, ...]:
    """Erase `subjects` from every table of `conn`; one DML job per table, one table at a time. From
    `bulk_min_keys` keys on, the keys reach the session's table by a load job (key_loading.py)."""
    project = project_of(client, conn)
    tables = check_bigquery_mapping(client, conn)  # before any statement that changes anything
    window, location = _read_dataset(client, conn)
    group_ids = key_groups_for(tables)
    keys = build_key_set(subjects, hasher, group_ids)
    keys_table = new_keys_table_name()
    bulk = choose_bulk(keys, bulk_min_keys)
    session = _Session.open_with_keys(client, location, keys_table, keys, bulk=bulk) if keys.size else None
    results = []
    try:
        for table in tables:
            plan = plan_bigquery_table(table, project, conn.dataset, keys_table, group_ids, clock().date())
            if session is None:
                results.append(_result(conn, plan, 0, 0, window, clock(), pending=False, statements=0))
            else:
                results.append(_erase_table(session, conn, plan, window, clock))
    finally:
        if session is not None:
            session.close(keys_table)
    return tuple(results)


def _erase_table(session: _Session, conn, plan: BigQueryTablePlan, window, clock) -> TableErasureResult:
    try:
        rows = session.run_once(plan.script)  # waits: never more than one DML job per table in flight
    except GoogleAPICallError as exc:
        if not is_streaming_buffer_error(exc):
            raise
        # The transaction rolled back; count what waits for the buffer to flush (reads are allowed).
        remaining = int(session.run(plan.count_sql)[0][0])
        return _result(conn, plan, remaining, remaining, window, clock(), pending=True, statements=1)
    before, after = int(rows[0]["rows_before"]), int(rows[0]["rows_after"])
    return _result(conn, plan, before, after, window, clock(), pending=False, statements=1)


@dataclass(frozen=True)
class _Session:
    """A BigQuery session pinned to the dataset's location (a session lives in one location, and a job
    that names no table would otherwise run in the US)."""

    client: bigquery.Client
    session_id: str
    location: str | None

    @classmethod
    def open_with_keys(
        cls, client, location, keys_table: str, keys: KeySet, *, bulk: bool = False
    ) -> _Session:
        create = f"CREATE TEMP TABLE {quote_bigquery(keys_table)} (key_group INT64, key_value STRING)"
        job = client.query(create, job_config=bigquery.QueryJobConfig(create_session=True), location=location)
        job.result()
        session = cls(client, job.session_info.session_id, location)
        try:
            if bulk:
                session.load_keys(keys_table, keys)
            else:
                session.insert_keys(keys_table, keys)
        except BaseException:
            session.close(keys_table)
            raise
        return session

    def load_keys(self, keys_table: str, keys: KeySet) -> None:
        """One load job into the session's table (`_SESSION` resolves through the job's session_id
        connection property). A service that cannot resolve it (bqemulator 1.4.0) gets the statements."""
        destination = bigquery.TableReference.from_string(f"{self.client.project}._SESSION.{keys_table}")
        try:
            bigquery_bulk_load(
                self.client, destination, keys, session_id=self.session_id, location=self.location
            )
        except SessionDatasetNotFound:
            log.warning(
                "load jobs cannot reach the session's table here: %d keys go by statements", keys.size
            )
            self.insert_keys(keys_table, keys)

    def insert_keys(self, keys_table: str, keys: KeySet) -> None:
        """One INSERT per group and chunk; each request within BigQuery's 10 MB (parameters included)."""
        insert = (
            f"INSERT INTO {quote_bigquery(keys_table)} (key_group, key_value)"
            " SELECT @key_group, v FROM UNNEST(@key_values) AS v"
        )
        budget = BIGQUERY_REQUEST_LIMIT - len(insert) - STATEMENT_HEADROOM
        for group_id, values in sorted(keys.values.items()):
            for chunk in value_chunks(values, budget):
                parameters = [
                    bigquery.ScalarQueryParameter("key_group", "INT64", group_id),
                    bigquery.ArrayQueryParameter("key_values", "STRING", chunk),
                ]
                try:
                    self.run(insert, parameters)
                except GoogleAPICallError as exc:
                    raise key_load_error(len(chunk), exc) from None

    def run(self, sql: str, parameters: list | None = None) -> list:
        return list(
            self.client.query(sql, job_config=self._config(parameters), location=self.location).result()
        )

    def run_once(self, sql: str) -> list:
        """Run the erase script as ONE job, whatever happens to the request that creates it.

        The client re-sends a jobs.insert whose answer was lost, under the same job id, and counts on the
        service to refuse the duplicate and hand back the first job. A service that does not (bqemulator)
        runs the script again, and the second run's counts (0 before, 0 after) replace the rows the first
        removed. So the insert is sent once under our own job id; when its answer is lost the job is
        looked up by that id: a job that exists is the table's result (it ran to its end, committed or
        rolled back); one that does not never arrived, and the task's retry erases the table again.
        """
        job_id = f"erasure_{uuid.uuid4().hex}"
        try:
            job = self.client.query(sql, job_config=self._config(), location=self.location, job_id=job_id,
                                    retry=None, job_retry=None)  # fmt: skip
        except ANSWER_LOST as lost:
            try:
                job = self.client.get_job(job_id, location=self.location)  # a read: the client retries it
            except NotFound:
                raise lost from None
            log.warning("The erase job's answer was lost; its result is read from the job itself")
        return list(job.result(job_retry=None))

    def _config(self, parameters: list | None = None) -> bigquery.QueryJobConfig:
        return bigquery.QueryJobConfig(
            connection_properties=[bigquery.ConnectionProperty("session_id", self.session_id)],
            query_parameters=parameters or [],
        )

    def close(self, keys_table: str) -> None:
        # Drop the keys explicitly (bqemulator keeps temp tables past the session), then end the session.
        with suppress(Exception):
            self.run(f"DROP TABLE IF EXISTS {quote_bigquery(keys_table)}")
        with suppress(Exception):
            self.run("CALL BQ.ABORT_SESSION()")


def _result(conn, plan, before, remaining, window, deleted_at, *, pending: bool, statements: int):
    return TableErasureResult(
        connection=conn.name,
        table=plan.qualified_name.strip("`"),
        action=plan.table.action.value,
        rows_matched_before=before,
        rows_affected=0 if pending else before - remaining,
        rows_remaining=remaining,
        unrecoverable_after=window.unrecoverable_after(deleted_at),
        retention_source=window.source,
        pending_streaming_buffer=pending,
        statements_issued=statements,
    )
