"""Unrecoverable-after arithmetic and the shape of the generated SQL (pure, no warehouse)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from genesys_erasure.hashing import KeyedHasher
from genesys_erasure.warehouse.catalog import TableCatalog, resolve_against_catalog
from genesys_erasure.warehouse.mapping import WarehouseMapping
from genesys_erasure.warehouse.planning import (
    build_key_set,
    key_groups_for,
    plan_bigquery_table,
    plan_snowflake_table,
    quote_bigquery,
)
from genesys_erasure.warehouse.retention import bigquery_window, snowflake_window
from tests.support.warehouse import (
    ALICE,
    ALICE_EMAIL,
    ALICE_PHONE,
    CONVERSATION_COLUMNS,
    HASH_KEY,
    TRICKY_CONTACT,
    delete_table_mapping,
)

DELETED_AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_snowflake_permanent_table_is_unrecoverable_after_retention_plus_seven_days_fail_safe():
    window = snowflake_window(3, "TABLE", source="show_tables")

    assert window.unrecoverable_after(DELETED_AT) == DELETED_AT + timedelta(days=10)
    assert window.source == "show_tables"


@pytest.mark.parametrize("kind", ["TRANSIENT", "TEMPORARY"])
def test_snowflake_transient_and_temporary_tables_have_no_fail_safe(kind):
    assert snowflake_window(0, kind, source="show_tables").unrecoverable_after(DELETED_AT) == DELETED_AT


def test_snowflake_missing_retention_falls_back_to_the_documented_default_and_says_so():
    window = snowflake_window(None, None, source="show_tables")

    assert window.source == "default"
    assert window.unrecoverable_after(DELETED_AT) == DELETED_AT + timedelta(days=1 + 7)


def test_bigquery_missing_time_travel_falls_back_to_168_hours_and_says_so():
    window = bigquery_window(None, source="dataset_metadata")

    assert window.source == "default"
    assert window.unrecoverable_after(DELETED_AT) == DELETED_AT + timedelta(days=14)


def test_bigquery_dataset_time_travel_window_is_used_when_present():
    window = bigquery_window("48", source="dataset_metadata")

    assert window.unrecoverable_after(DELETED_AT) == DELETED_AT + timedelta(days=2 + 7)


def _resolved_events_table():
    catalog = TableCatalog({"CONVERSATION_EVENTS": {c["name"]: "VARCHAR" for c in CONVERSATION_COLUMNS}})
    conn = {"name": "sf", "type": "snowflake", "airflow_conn_id": "sf", "database": "DB", "schema": "S"}
    conn = WarehouseMapping.from_dict(
        {"connections": [conn | {"tables": [delete_table_mapping()]}]}
    ).connections[0]
    return resolve_against_catalog(conn, catalog)


def test_generated_sql_holds_no_identifier_values_only_bound_keys():
    tables = _resolved_events_table()
    groups = key_groups_for(tables)
    keys = build_key_set(ALICE, KeyedHasher(HASH_KEY), groups)
    snowflake = plan_snowflake_table(tables[0], "DB", "S", "erasure_keys_x", groups, date(2026, 11, 26))
    bigquery = plan_bigquery_table(tables[0], "proj", "ds", "erasure_keys_x", groups, date(2026, 11, 26))

    sql = snowflake.count_sql + snowflake.dml_sql + bigquery.script
    assert not any(value in sql for _, value in keys.rows())
    assert ALICE_EMAIL in {value for _, value in keys.rows()}
    assert ALICE_PHONE not in sql and "conv-alice" not in sql


def test_key_set_holds_raw_sha256_and_keyed_hmac_forms_once_per_group():
    tables = _resolved_events_table()
    keys = build_key_set(ALICE, KeyedHasher(HASH_KEY), key_groups_for(tables))

    assert keys.size == 2 + 1 + 1 + 1 + 1 + 1  # conversations, email raw+sha, phone raw+hmac, contact


def test_a_name_with_a_backtick_is_never_quoted_for_bigquery():
    with pytest.raises(ValueError):
        quote_bigquery("t` WHERE TRUE; --")
    assert TRICKY_CONTACT  # values are never quoted at all: they are parameters
