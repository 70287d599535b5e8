"""Set-based execution and what a run reports: one DML statement per table, counts, retention dates."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.warehouse import (
    ALICE,
    FIXED_NOW,
    RecordingBigQueryClient,
    RecordingSnowflakeConnection,
    bigquery_dml_statements,
    delete_table_mapping,
    dml_statements,
    event_rows,
    events_table,
)

# They run on the local warehouse emulators (fakesnow, bqemulator): the slow tier.
pytestmark = pytest.mark.slow


def test_snowflake_issues_exactly_one_dml_statement_per_table_per_run(snowflake_wh, hasher):
    for name in ("EVENTS_A", "EVENTS_B"):
        snowflake_wh.seed(events_table(name), event_rows(hasher))
    conn = snowflake_wh.mapping([delete_table_mapping("EVENTS_A"), delete_table_mapping("EVENTS_B")])
    recorder = RecordingSnowflakeConnection(snowflake_wh.open())

    results = snowflake_wh.erase(conn, ALICE, connection=recorder)

    assert [len(dml_statements(recorder.statements, n)) for n in ("EVENTS_A", "EVENTS_B")] == [1, 1]
    assert [r.statements_issued for r in results] == [1, 1]
    assert all(r.rows_affected == 4 for r in results)


def test_snowflake_reads_each_table_twice_the_dml_and_one_count_after_it(snowflake_wh, hasher):
    # Each statement that names the table reads its mapped columns in full: the cost per table is the
    # number of these (bench/bench_warehouse.py). The rows matched before are the DML's own rowcount.
    snowflake_wh.seed(events_table(), event_rows(hasher))
    recorder = RecordingSnowflakeConnection(snowflake_wh.open())

    (result,) = snowflake_wh.erase(snowflake_wh.mapping([delete_table_mapping()]), ALICE, connection=recorder)

    reads = [s.split(" ", 1)[0] for s in recorder.statements if '"CONVERSATION_EVENTS"' in s]
    assert reads == ["DELETE", "SELECT"]
    assert (result.rows_matched_before, result.rows_affected, result.rows_remaining) == (4, 4, 0)


def test_bigquery_issues_exactly_one_dml_statement_per_table_per_run(bigquery_wh, hasher):
    for name in ("EVENTS_A", "EVENTS_B"):
        bigquery_wh.seed(events_table(name), event_rows(hasher))
    conn = bigquery_wh.mapping([delete_table_mapping("EVENTS_A"), delete_table_mapping("EVENTS_B")])
    recorder = RecordingBigQueryClient(bigquery_wh.open())

    results = bigquery_wh.erase(conn, ALICE, connection=recorder)

    paths = [f"{bigquery_wh.client.project}.{bigquery_wh.dataset}.{n}" for n in ("EVENTS_A", "EVENTS_B")]
    assert [len(bigquery_dml_statements(recorder.queries, p)) for p in paths] == [1, 1]
    assert [r.statements_issued for r in results] == [1, 1]
    assert all(r.rows_affected == 4 for r in results)


def test_result_holds_rows_affected_and_the_date_the_rows_become_unrecoverable(warehouse, hasher):
    warehouse.seed(events_table(), event_rows(hasher))

    (result,) = warehouse.erase(warehouse.mapping([delete_table_mapping()]), ALICE)

    assert (result.rows_matched_before, result.rows_affected, result.rows_remaining) == (4, 4, 0)
    assert result.verified
    assert result.action == "delete"
    assert result.table.endswith("CONVERSATION_EVENTS")
    if warehouse.kind == "snowflake":
        # fakesnow reports DATA_RETENTION_TIME_IN_DAYS = 1 in SHOW TABLES; permanent tables add 7 days.
        assert result.retention_source == "show_tables"
        assert result.unrecoverable_after == FIXED_NOW + timedelta(days=1 + 7)
    else:
        # bqemulator reports the dataset's maxTimeTravelHours (168); fail-safe adds 7 days.
        assert result.retention_source == "dataset_metadata"
        assert result.unrecoverable_after == FIXED_NOW + timedelta(hours=168) + timedelta(days=7)


def test_result_serialises_to_plain_json_values_without_identifier_values(warehouse, hasher):
    warehouse.seed(events_table(), event_rows(hasher))

    (result,) = warehouse.erase(warehouse.mapping([delete_table_mapping()]), ALICE)

    as_text = repr(result.to_dict()) + repr(result)
    assert "alice" not in as_text.lower() and "+4477" not in as_text
    assert result.to_dict()["unrecoverable_after"].startswith("2026-12-")


def test_partition_filter_limits_the_statement_to_recent_rows(warehouse, hasher):
    rows = event_rows(hasher)
    rows[0]["EVENT_DATE"] = "2020-01-01"  # ev-1: Alice, but older than the look-back window
    warehouse.seed(events_table(), rows)
    table = delete_table_mapping() | {"partition_filter": {"column": "EVENT_DATE", "lookback_days": 365}}

    (result,) = warehouse.erase(warehouse.mapping([table]), ALICE)

    assert result.rows_affected == 3
    assert "ev-1" in {r["EVENT_ID"] for r in warehouse.rows("CONVERSATION_EVENTS")}
