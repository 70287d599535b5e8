"""Runs that go wrong: a connection dropped between statements, a refused DML, streaming-buffer rows."""

from __future__ import annotations

import pytest
from google.api_core.exceptions import BadRequest
from snowflake.connector.errors import OperationalError

from genesys_erasure.warehouse.bigquery import is_streaming_buffer_error
from genesys_erasure.warehouse.results import WarehouseVerificationError, require_verified
from genesys_erasure.warehouse.snowflake import KeyLoadError, RowCountUnknownError
from tests.support.warehouse import (
    ALICE,
    ALICE_EVENT_IDS,
    ALL_EVENT_IDS,
    RecordingBigQueryClient,
    RecordingSnowflakeConnection,
    delete_table_mapping,
    event_ids,
    event_rows,
    events_table,
    streaming_buffer_error,
)

# They run on the local warehouse emulators (fakesnow, bqemulator): the slow tier.
pytestmark = pytest.mark.slow


def _drop_connection_after_dml_on(table: str):
    def on_execute(sql: str, real_connection) -> None:
        if sql.startswith("DELETE") and f'"{table}"' in sql:
            real_connection.close()  # the session is gone before COMMIT
            raise OperationalError(msg="connection dropped by the test")

    return on_execute


def test_snowflake_connection_drop_mid_table_leaves_it_whole_and_a_rerun_finishes(snowflake_wh, hasher):
    for name in ("EVENTS_A", "EVENTS_B"):
        snowflake_wh.seed(events_table(name), event_rows(hasher))
    conn = snowflake_wh.mapping([delete_table_mapping("EVENTS_A"), delete_table_mapping("EVENTS_B")])
    dropping = RecordingSnowflakeConnection(
        snowflake_wh.open(), on_execute=_drop_connection_after_dml_on("EVENTS_B")
    )

    with pytest.raises(OperationalError):
        snowflake_wh.erase(conn, ALICE, connection=dropping)

    assert event_ids(snowflake_wh.rows("EVENTS_A")) == ALL_EVENT_IDS - ALICE_EVENT_IDS  # committed before
    assert event_ids(snowflake_wh.rows("EVENTS_B")) == ALL_EVENT_IDS  # all or nothing: nothing
    first, second = snowflake_wh.erase(conn, ALICE)
    assert (first.rows_affected, second.rows_affected) == (0, 4)
    assert event_ids(snowflake_wh.rows("EVENTS_B")) == ALL_EVENT_IDS - ALICE_EVENT_IDS


def test_bigquery_failure_between_tables_leaves_the_next_table_whole_and_a_rerun_finishes(
    bigquery_wh, hasher
):
    for name in ("EVENTS_A", "EVENTS_B"):
        bigquery_wh.seed(events_table(name), event_rows(hasher))
    conn = bigquery_wh.mapping([delete_table_mapping("EVENTS_A"), delete_table_mapping("EVENTS_B")])
    path_b = f"{bigquery_wh.client.project}.{bigquery_wh.dataset}.EVENTS_B"
    failing = RecordingBigQueryClient(
        bigquery_wh.open(), fail=lambda sql: ConnectionError("network gone") if path_b in sql else None
    )

    with pytest.raises(ConnectionError):
        bigquery_wh.erase(conn, ALICE, connection=failing)

    assert event_ids(bigquery_wh.rows("EVENTS_A")) == ALL_EVENT_IDS - ALICE_EVENT_IDS
    assert event_ids(bigquery_wh.rows("EVENTS_B")) == ALL_EVENT_IDS
    first, second = bigquery_wh.erase(conn, ALICE)
    assert (first.rows_affected, second.rows_affected) == (0, 4)


def test_bigquery_failure_after_the_delete_inside_a_table_job_leaves_it_whole_and_a_rerun_finishes(
    bigquery_wh, hasher
):
    # The wrapper makes the real script fail between its DELETE and its COMMIT.
    bigquery_wh.seed(events_table(), event_rows(hasher))
    conn = bigquery_wh.mapping([delete_table_mapping()])
    failing = RecordingBigQueryClient(
        bigquery_wh.open(),
        rewrite=lambda sql: sql.replace(
            "COMMIT TRANSACTION;", "SELECT ERROR('connection dropped');\nCOMMIT TRANSACTION;"
        ),
    )

    with pytest.raises(BadRequest, match="connection dropped"):
        bigquery_wh.erase(conn, ALICE, connection=failing)

    assert any("DELETE FROM" in q for q in failing.queries)
    assert event_ids(bigquery_wh.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS
    (result,) = bigquery_wh.erase(conn, ALICE)
    assert (result.rows_affected, result.rows_remaining) == (4, 0)


def test_bigquery_rows_in_the_streaming_buffer_are_reported_pending_not_skipped(bigquery_wh, hasher):
    # bqemulator has no streaming buffer: the client wrapper answers the DML script with the exact error
    # the real service returns for it; everything else (counts, keys, session) runs on the emulator.
    bigquery_wh.seed(events_table(), event_rows(hasher))
    path = f"{bigquery_wh.client.project}.{bigquery_wh.dataset}.CONVERSATION_EVENTS"
    buffered = RecordingBigQueryClient(
        bigquery_wh.open(), fail=lambda sql: streaming_buffer_error(path) if "DELETE FROM" in sql else None
    )

    (result,) = bigquery_wh.erase(bigquery_wh.mapping([delete_table_mapping()]), ALICE, connection=buffered)

    assert result.pending_streaming_buffer
    assert (result.rows_affected, result.rows_remaining) == (0, 4)
    assert not result.verified
    with pytest.raises(WarehouseVerificationError, match="streaming buffer"):
        require_verified([result])
    assert event_ids(bigquery_wh.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS


def test_streaming_buffer_refusal_is_told_apart_from_other_bad_requests():
    other = BadRequest(
        "Syntax error: Unexpected keyword", errors=[{"reason": "invalidQuery", "message": "x"}]
    )

    assert is_streaming_buffer_error(streaming_buffer_error("p.d.t"))
    assert not is_streaming_buffer_error(other)
    assert not is_streaming_buffer_error(ValueError("streaming buffer"))


def test_snowflake_key_load_failure_is_reported_without_identifier_values(snowflake_wh, hasher):
    snowflake_wh.seed(events_table(), event_rows(hasher))

    def fail_key_load(sql: str, _real) -> None:
        if sql.startswith("INSERT INTO"):
            raise OperationalError(msg="Statement failed: INSERT ... 'alice@example.com' ...", errno=1234)

    recorder = RecordingSnowflakeConnection(snowflake_wh.open(), on_execute=fail_key_load)

    with pytest.raises(KeyLoadError) as error:
        snowflake_wh.erase(snowflake_wh.mapping([delete_table_mapping()]), ALICE, connection=recorder)

    assert "alice" not in str(error.value) and error.value.__cause__ is None
    assert "code 1234" in str(error.value)
    assert event_ids(snowflake_wh.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS


class _CursorWithoutRowCount:
    """A real cursor whose driver does not report the rows a statement changed (DB-API allows -1)."""

    rowcount = -1

    def __init__(self, real) -> None:
        self._real = real

    def __getattr__(self, name: str):
        return getattr(self._real, name)


class _ConnectionWithoutRowCount:
    def __init__(self, real) -> None:
        self._real = real

    def cursor(self, *args, **kwargs):
        return _CursorWithoutRowCount(self._real.cursor(*args, **kwargs))

    def __getattr__(self, name: str):
        return getattr(self._real, name)


def test_snowflake_dml_without_a_reported_rowcount_fails_and_leaves_the_table_whole(snowflake_wh, hasher):
    # The rowcount is the evidence's rows-matched-before: unknown must not be recorded as "none matched".
    snowflake_wh.seed(events_table(), event_rows(hasher))
    connection = _ConnectionWithoutRowCount(snowflake_wh.open())

    try:
        with pytest.raises(RowCountUnknownError):
            snowflake_wh.erase(snowflake_wh.mapping([delete_table_mapping()]), ALICE, connection=connection)
    finally:
        connection.close()

    assert event_ids(snowflake_wh.rows("CONVERSATION_EVENTS")) == ALL_EVENT_IDS
